// The WebGPU kernel protocol: the lowering core's planning half (protocol.ts: views, prepacked constants,
// refusals), plus `lower`, which returns the dispatches computing one node. A dispatch names its shader by source
// (what it IS) and its operands by role (what it RUNS WITH); emit.ts turns roles into buffer ranges.

import type { KernelPlanning, PlanContext, ValueRef } from '../../../lowering/protocol.js';

export type Operand =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'output'; readonly index: number }
  | { readonly kind: 'packed'; readonly index: number }
  /** The node's status slot (kernels that check indices). */
  | { readonly kind: 'status' };

/** A shader and the grid it runs on. */
export interface ShaderGrid { readonly shader: string; readonly workgroups: readonly [number, number, number] }

/** A dispatch's shader and grid, and the same computation for devices with subgroups of 8+ lanes (same operands),
 *  where faster there. */
export interface KernelForm extends ShaderGrid {
  readonly subgroups?: ShaderGrid;
}

export interface KernelDispatch extends KernelForm {
  /** One per shader binding, in binding order. */
  readonly operands: readonly Operand[];
  /** Where the form above splits its work for big GPUs (slices of K or input channels, lane groups per row): the
   *  one-invocation-per-tile/row form CPU adapters run faster (same operands; runtime/webgpu/forms.ts). */
  readonly cpu?: KernelForm;
}

export interface LowerContext extends PlanContext {
  /** The constants `prepack` returned, as values. */
  readonly packed: readonly ValueRef[];
  /** Output 0 shares input 0's buffer (an alias kernel whose input is a run-time value): emit nothing. */
  readonly view: boolean;
  /** The buffer each input lives in (views share their root's): inputs with equal roots must share one binding,
   *  since WebGPU refuses two writable bindings over the same bytes in one dispatch. */
  readonly inputRoots: readonly (string | undefined)[];
}

export interface WgKernel extends KernelPlanning<PlanContext> {
  lower(ctx: LowerContext): KernelDispatch[];
}

export const input = (index: number): Operand => ({ kind: 'input', index });
export const output = (index: number): Operand => ({ kind: 'output', index });
export const packed = (index: number): Operand => ({ kind: 'packed', index });
export const STATUS: Operand = { kind: 'status' };

/** For each input, the index of the first input in the same buffer (itself when it is the first). */
export const firstSharing = (ctx: LowerContext, inputs: readonly number[]): number[] =>
  inputs.map((i) => inputs.find((j) => ctx.inputRoots[j] !== undefined && ctx.inputRoots[j] === ctx.inputRoots[i])!);

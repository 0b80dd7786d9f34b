// Small helpers shared by kernels: typed attribute access, input checks and errors that name the node.

import { UnsupportedOpError, UnsupportedTypeError } from '../../../ir/errors.js';
import type { DType } from '../../../ir/dtype.js';
import { toNumbers } from '../../../ir/tensor.js';
import type { KernelContext, KernelGen, TensorRef } from './types.js';

export function unsupported(ctx: Pick<KernelContext, 'site' | 'node'>, what: string): never {
  throw new UnsupportedOpError(`the wasm backend does not support ${ctx.node.op} ${what}`, ctx.site);
}

export function input(ctx: Pick<KernelContext, 'inputs' | 'site' | 'node'>, i: number): TensorRef {
  const t = ctx.inputs[i];
  if (t === undefined) unsupported(ctx, `without input ${i}`);
  return t;
}

export function output(ctx: Pick<KernelContext, 'outputs' | 'site' | 'node'>, i = 0): TensorRef {
  const t = ctx.outputs[i];
  if (t === undefined) unsupported(ctx, `without output ${i}`);
  return t;
}

/** The compile-time value of input i as numbers (shape-like inputs: axes, starts, pads, ...). */
export function constInts(ctx: Pick<KernelContext, 'inputs' | 'site' | 'node'>, i: number): number[] | undefined {
  const t = ctx.inputs[i];
  if (t === undefined) return undefined;
  if (t.constant === undefined) unsupported(ctx, `with a run-time input ${i} ('${t.name}'); it must be a constant`);
  return toNumbers(t.constant);
}

export function requireDType(ctx: Pick<KernelContext, 'site' | 'node'>, t: TensorRef, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new UnsupportedTypeError(`the wasm backend's ${ctx.node.op} kernel handles ${allowed.join('/')}, not ${t.dtype} ('${t.name}')`, ctx.site);
  }
}

/** A kernel table whose kernels all take only `dtypes` for their data operand (declared, so the driver can upcast
 *  16-bit floats or report the node before lowering). */
export function withDTypes<T extends Readonly<Record<string, KernelGen>>>(dtypes: readonly DType[], table: T): T {
  return Object.fromEntries(Object.entries(table).map(([op, k]) => [op, { ...k, dtypes }])) as unknown as T;
}

/** Attribute values are complete after import (the importer fills each OpDef's schema defaults), so a kernel reads
 *  them without restating the default; one that is absent has no default in the schema: an internal error (an
 *  optional attribute without a default is read from `ctx.attrs` directly, saying what its absence means). */
type AttrCtx = Pick<KernelContext, 'attrs'> & { readonly node?: { readonly op: string } };

function missing(ctx: AttrCtx, name: string, kind: string): never {
  throw new Error(`internal: ${ctx.node?.op ?? 'kernel'} attribute '${name}' has no ${kind} value (its OpDef declares no default)`);
}

export const attrNum = (ctx: AttrCtx, name: string): number => {
  const v = ctx.attrs[name];
  return typeof v === 'number' ? v : missing(ctx, name, 'numeric');
};
export const attrInts = (ctx: Pick<KernelContext, 'attrs'>, name: string): readonly number[] | undefined => {
  const v = ctx.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
};
export const attrStr = (ctx: AttrCtx, name: string): string => {
  const v = ctx.attrs[name];
  return typeof v === 'string' ? v : missing(ctx, name, 'string');
};

/** Row-major strides in elements. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]!; }
  return s;
}

export const prod = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
export const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

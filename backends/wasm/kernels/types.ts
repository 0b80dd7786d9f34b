// The kernel interface of the wasm backend: a kernel generator turns one node, with every shape static and
// every tensor at a fixed address, into the body of one WebAssembly function. What it decides before addresses
// exist (view, scratch, prepack, unread inputs, refusals) is the lowering core's planning protocol.

import type binaryen from 'binaryen';
import type { KernelTableOf } from '../../../lowering/backend.js';
import type { KernelPlanning, PlanContext as CorePlanContext, ValueRef } from '../../../lowering/protocol.js';
import type { Expr, Fn, Ptr } from '../fn.js';

/** A tensor as a kernel sees it: static dims and a fixed place in linear memory. */
export interface TensorRef extends ValueRef {
  /** Byte address in linear memory (weights region for constants, arena otherwise; 0 before planning). */
  readonly ptr: Ptr;
}

/** What a kernel sees before memory is planned: shapes and constants, no addresses. */
export type PlanContext = CorePlanContext<TensorRef>;

export interface KernelContext extends PlanContext {
  readonly m: binaryen.Module;
  readonly fn: Fn;
  /** Scratch memory the kernel asked for (see KernelGen.scratch), live only while it runs. */
  readonly scratch: Ptr;
  /** The constants `prepack` derived, laid out in the weights region, in the order it returned them. */
  readonly packed: readonly TensorRef[];
  /** The subgraphs the kernel declared (KernelGen.bodies), each compiled to a function of the module. */
  readonly bodies: readonly BodyRef[];
  /** This kernel's index in the error record (a body's kernels overwrite it; a trap of the kernel's own restores it). */
  readonly kernelIndex: number;
}

/** A compiled subgraph: a call that runs it, and where its inputs and outputs live. */
export interface BodyRef {
  call(): Expr;
  readonly inputs: readonly TensorRef[];
  readonly outputs: readonly TensorRef[];
}

export interface KernelGen extends KernelPlanning<PlanContext> {
  /** The function body. Forms the kernel does not handle are declared up front (`dtypes`, `constInputs`,
   *  `refuse`); an error here is a bug, not a fallback signal. */
  emit(ctx: KernelContext): Expr;
}

export type KernelTable = KernelTableOf<KernelGen>;

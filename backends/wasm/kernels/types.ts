// The kernel interface of the wasm backend: a kernel generator turns one node, with every shape static and
// every tensor at a fixed address, into the body of one WebAssembly function.

import type binaryen from 'binaryen';
import type { DType } from '../../../ir/dtype.js';
import type { ErrorSite } from '../../../ir/errors.js';
import type { Node } from '../../../ir/graph.js';
import type { Tensor } from '../../../ir/tensor.js';
import type { Expr, Fn, Ptr } from '../fn.js';

/** A tensor as a kernel sees it: static dims and a fixed place in linear memory. */
export interface TensorRef {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Element count. */
  readonly size: number;
  /** Byte address in linear memory (weights region for constants, arena otherwise). */
  readonly ptr: Ptr;
  /** The value, when it is known at compile time (weights, folded shape computations). */
  readonly constant?: Tensor;
}

export interface KernelContext {
  readonly m: binaryen.Module;
  readonly fn: Fn;
  readonly node: Node;
  /** Plain attribute values, defaults filled (from the op's schema). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** One per node input; undefined for an omitted optional input. */
  readonly inputs: readonly (TensorRef | undefined)[];
  /** One per node output; undefined for an unused optional output. */
  readonly outputs: readonly (TensorRef | undefined)[];
  /** Scratch memory the kernel asked for (see KernelGen.scratch), live only while it runs. */
  readonly scratch: Ptr;
  readonly site: ErrorSite;
  /** The constants `prepack` derived, laid out in the weights region, in the order it returned them. */
  readonly packed: readonly TensorRef[];
}

export interface KernelGen {
  /** Output 0 is a view of input 0 (same bytes, new dims): no code, the memory plan shares the buffer. */
  readonly alias?: boolean;
  /** Bytes of scratch memory the kernel needs while it runs (e.g. im2col), 0 if omitted. */
  scratch?(ctx: PlanContext): number;
  /** Constants derived at compile time from constant inputs (transposed weights, folded scales): they are laid
   *  out with the weights and handed to `emit` as ctx.packed. */
  prepack?(ctx: PlanContext): Tensor[];
  /** Constant inputs `emit` does not read because `prepack` replaced them (they are then not laid out). */
  unread?(ctx: PlanContext): number[];
  /** The function body. Throw UnsupportedOpError/UnsupportedTypeError (with ctx.site) for cases not handled. */
  emit(ctx: KernelContext): Expr;
}

/** What a kernel sees before memory is planned: shapes and constants, no addresses. */
export type PlanContext = Omit<KernelContext, 'scratch' | 'fn' | 'm' | 'packed'>;

export type KernelTable = Readonly<Record<string, KernelGen>>;

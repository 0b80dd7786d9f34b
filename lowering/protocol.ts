// The planning protocol every backend's kernels speak: what a kernel sees before memory is planned (shapes,
// attributes, constants, no addresses), what it may declare then (view, scratch, prepacked constants, unread
// inputs, a refusal), and the reason codes the lowering core reports unsupported nodes with.

import type { DType } from '../ir/dtype.js';
import type { ErrorSite } from '../ir/errors.js';
import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';

/** A value as the lowering core knows it: static dims, byte size, and the value when known at compile time. */
export interface ValueRef {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Element count. */
  readonly size: number;
  /** The value, when it is known at compile time (weights, folded shape computations). */
  readonly constant?: Tensor;
}

/** What a kernel sees before memory is planned. `R` is the backend's own tensor reference (wasm adds a pointer). */
export interface PlanContext<R extends ValueRef = ValueRef> {
  readonly node: Node;
  /** Plain attribute values, every default filled by the importer (from the op's schema). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** One per node input; undefined for an omitted optional input. */
  readonly inputs: readonly (R | undefined)[];
  /** One per node output; undefined for an unused optional output. */
  readonly outputs: readonly (R | undefined)[];
  readonly site: ErrorSite;
}

/** Why a backend cannot lower a node. `missing-kernel`: no kernel for the op; `dtype`: the kernel does not
 *  compute this element type; `dynamic-shape`: a value's shape is not known at compile time; `data-dependent`:
 *  the kernel needs the value of a run-time input (a shape, pads, K); `form`: an attribute or operand form the
 *  kernel does not handle. */
export type ReasonCode = 'missing-kernel' | 'dtype' | 'dynamic-shape' | 'data-dependent' | 'form';

export const REASON_CODES: readonly ReasonCode[] = ['missing-kernel', 'dtype', 'dynamic-shape', 'data-dependent', 'form'];

export interface Refusal {
  readonly reason: ReasonCode;
  /** One line: what was found and what the kernel needs. */
  readonly detail: string;
  /** For `dtype`: the element type refused (so a pass can upcast 16-bit floats). */
  readonly dtype?: DType;
}

/** One node a backend cannot lower, as the lowering core reports it (every such node at once). */
export interface UnsupportedNode extends Refusal {
  readonly node: string;
  readonly op: string;
}

/** A static tensor type: what a body's input is given and what its output must be. */
export interface StaticType { readonly dtype: DType; readonly dims: readonly number[] }

/** A subgraph a kernel runs (If branch, Loop/Scan body): the types its inputs are given, and the type each output
 *  must have (undefined: any static type). The lowering core prepares and plans it (lowering/subgraph.ts); an
 *  output whose shape differs from the one asked for is refused as `data-dependent`. */
export interface BodySpec {
  readonly graph: Graph;
  readonly inputs: readonly StaticType[];
  readonly outputs: readonly (StaticType | undefined)[];
  /** Inputs whose value is known at compile time (an unrolled loop's iteration number): constants of the body. */
  readonly values?: readonly (Tensor | undefined)[];
}

/** The compile-time half of a kernel: everything decided before addresses exist. */
export interface KernelPlanning<C extends PlanContext<ValueRef> = PlanContext> {
  /** Output 0 is a view of input 0 (same bytes, new dims): no code, the buffer plan shares the buffer. */
  readonly alias?: boolean;
  /** Element types the kernel takes for its data operand (input 0; the type constraints of the op carry it to
   *  the other operands and outputs); omitted: every type the backend stores. */
  readonly dtypes?: readonly DType[];
  /** Inputs whose values the kernel reads at compile time (axes, pads, K): they must be constants. */
  readonly constInputs?: readonly number[];
  /** A refusal for forms the kernel does not handle, decided from shapes, attributes and constants alone:
   *  asked before lowering, so nothing is tried and undone. */
  refuse?(ctx: C): Refusal | undefined;
  /** Bytes of scratch memory the kernel needs while it runs (e.g. im2col), 0 if omitted. */
  scratch?(ctx: C): number;
  /** Constants derived at compile time from constant inputs (transposed weights, folded scales): laid out with
   *  the weights and handed to the backend's emit in this order. */
  prepack?(ctx: C): Tensor[];
  /** Constant inputs the kernel does not read because `prepack` replaced them (they are then not laid out). */
  unread?(ctx: C): number[];
  /** The subgraphs the kernel runs (control flow), with their input types: planned by the core, each body's
   *  values in the arena region after the kernel's scratch, its kernels emitted as functions of their own. */
  bodies?(ctx: C): readonly BodySpec[];
}

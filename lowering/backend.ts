// A backend is a declared value: its name, its kernel table, what it can compute (capabilities), the weight layouts
// its kernels want, and `emit`, which turns a planned graph into its artifact. compileFor (compile-for.ts) drives
// every backend the same way; the pass pipeline reads the capabilities before lowering, so nothing is retried.

import type { DType } from '../ir/dtype.js';
import type { WeightLayoutRule } from '../ops/layout/weight-layout.js';
import type { OpName } from '../ops/op-names.js';
import type { BufferLimits } from './buffer-plan.js';
import type { LoweringPlan } from './plan.js';
import type { KernelPlanning, PlanContext, ValueRef } from './protocol.js';

export interface Capabilities {
  /** Element types the backend stores (a value of another type is refused with reason `dtype`). */
  readonly dtypes: readonly DType[];
  /** Whether kernels may compute on float16/bfloat16 at all; when false every 16-bit node is computed in float32
   *  between Casts (passes/upcast-float16.ts). When true, a kernel that lacks them says so in its `dtypes`. */
  readonly float16: boolean;
  /** Whether 64-bit integers exist at run time (WebGPU: no; they must be folded or narrowed). */
  readonly int64: boolean;
  /** Alignment and size limits of the buffer plan. */
  readonly buffers: BufferLimits;
  /** Alignment of each weight in the weights region. */
  readonly weightAlign: number;
  /** Fusion passes the -O levels leave out because this backend's fused kernel is slower than the unfused ones
   *  (an explicit pass list still runs them); each with the measurement that says so, where it is declared. */
  readonly slowerFusions?: readonly string[];
}

/** The backend's kernel table: op name -> kernel. An op missing here is reported with reason `missing-kernel`. */
export type KernelTableOf<K> = Readonly<Partial<Record<OpName, K>>>;

export interface Backend<R extends ValueRef = ValueRef, K extends KernelPlanning<PlanContext<R>> = KernelPlanning<PlanContext<R>>, Opts = unknown, Artifact = unknown> {
  readonly name: string;
  readonly kernels: KernelTableOf<K>;
  readonly capabilities: Capabilities;
  /** Constant weights the layout pass pre-packs for this backend's kernels (passes/layout/pack-weights.ts). */
  readonly weightLayouts: readonly WeightLayoutRule[];
  /** How a kernel sees a value before memory is planned (wasm adds a placeholder pointer). */
  planRef(v: ValueRef): R;
  /** The artifact for a planned graph. */
  emit(plan: LoweringPlan<R, K>, options: Opts): Artifact;
}

/** Any backend, as the driver and registries hold it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBackend = Backend<any, any, any, any>;

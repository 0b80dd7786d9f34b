// The pass contract: a pass is a declared value (name, summary, requirements, semantics, idempotence) with a
// pure `run(graph, ctx) -> graph`. Passes never mutate; returning the SAME graph object means "no change".
//
// Contract every pass keeps (checked by test/passes/properties.test.ts over generated graphs):
//   - the result passes ir/verify.ts `verifyGraph` and ops/verify-ops.ts `verifyOps`;
//   - graph input and output NAMES are unchanged (a removed node's output that is a graph output is renamed
//     onto its replacement, never dropped), and so are their types;
//   - the result computes the graph outputs within `properties.semantics` of the input;
//   - when `properties.idempotent`, running the pass on its own result returns that result (same object).

import type { DType } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/graph.js';
import type { RuntimeValue } from '../ir/value.js';
import type { CalibrationStats } from './quant/calibration.js';

/** How closely a pass's output must match its input numerically. */
export type Semantics =
  | { readonly kind: 'exact' }
  /** Reassociation, approximations: |got - want| <= atol + rtol * |want| elementwise. */
  | { readonly kind: 'tolerance'; readonly rtol: number; readonly atol: number }
  /** Compression (quantisation, pruning): max |got - want| <= tol * max |want| per output, the measure `onnxc check`
   *  uses; individual elements may be off by more than any elementwise bound. */
  | { readonly kind: 'range'; readonly tol: number };

export const EXACT: Semantics = { kind: 'exact' };

/** What a pass needs of its input graph; the manager checks these before running it. */
export type Requirement =
  /** Every value has a type recorded (always true after import and after a verified pass). */
  | 'typed'
  /** Every value's shape is fully numeric (no symbolic dims). Passes that need it are skipped otherwise. */
  | 'static-shapes';

export interface PassProperties {
  readonly semantics: Semantics;
  /** run(run(g)) === run(g) (the same object). */
  readonly idempotent: boolean;
}

export interface PassContext {
  /** Model name, for error messages. */
  readonly source?: string;
  /** Ops the target backend implements (ai.onnx names, plus `onnxc.X` ones); undefined means every op
   *  onnxc knows. `decompose` rewrites the others into these; other passes must not introduce ops outside it. */
  readonly supportedOps?: ReadonlySet<string>;
  /** Free-form per-pass options (`--pass-option fold-limit=4096`), read by name by the passes that care. */
  readonly options: ReadonlyMap<string, string>;
  /** Statistics of the model's values on a calibration set (compiler/calibrate.ts), for the compression passes;
   *  keyed by the value names of the graph that was calibrated. */
  readonly calibration?: CalibrationStats;
  /** The calibration samples themselves and a way to run any graph on them, for passes that need more than
   *  statistics (pruning's least-squares re-fit against the original model's activations). */
  readonly calibrationData?: CalibrationData;
  /** The backend being compiled for, when there is one: what `decompose` and `upcast-float16` ask, node by node,
   *  before lowering (lowering/compile-for.ts fills it from the backend's declared capabilities). */
  readonly target?: TargetQuery;
}

/** Calibration samples plus a runner (compiler/ fills it: the wasm backend, else the reference interpreter). */
export interface CalibrationData {
  /** One entry per sample: a value per graph input of the model that was calibrated. */
  readonly samples: readonly (readonly RuntimeValue[])[];
  /** Runs `graph` (any graph, e.g. a slice of the model) on one sample's inputs; returns its outputs in order. */
  run(graph: Graph, inputs: readonly RuntimeValue[]): RuntimeValue[];
}

/** Why the target backend would refuse a node, in the lowering core's reason codes (lowering/protocol.ts). */
export interface TargetRefusal {
  readonly reason: 'missing-kernel' | 'dtype' | 'dynamic-shape' | 'data-dependent' | 'form';
  readonly detail: string;
  readonly dtype?: DType;
}

export interface TargetQuery {
  readonly name: string;
  /** The backend's refusal of `node` as typed in `graph` (constants: its initializers), or undefined. */
  refusal(node: Node, graph: Graph): TargetRefusal | undefined;
}

export interface Pass {
  /** kebab-case, unique: the name `--passes` uses. */
  readonly name: string;
  /** One line; the registry's summaries are the CLI help. */
  readonly summary: string;
  readonly requires: readonly Requirement[];
  readonly properties: PassProperties;
  /** Ops the pass creates (fusions): a driver leaves the pass out for a backend that can neither run nor
   *  decompose them. */
  readonly produces?: readonly string[];
  /** Transform the graph; return the same object when nothing changed. Throw an OnnxcError naming the node
   *  when the graph breaks an assumption the pass cannot handle. */
  run(graph: Graph, ctx: PassContext): Graph;
}

/** Declare a pass (a typed identity, so declarations read the same everywhere). */
export function definePass(pass: Pass): Pass {
  return pass;
}

export function defaultContext(over: Partial<PassContext> = {}): PassContext {
  return { options: new Map(), ...over };
}

/** A numeric pass option, with a default when absent or malformed. */
export function numberOption(ctx: PassContext, name: string, dflt: number): number {
  const v = ctx.options.get(name);
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : dflt;
}

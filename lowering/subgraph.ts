// Subgraphs for the lowering core: the names a body reads from its enclosing graphs, and a body prepared for
// lowering like a graph of its own: its inputs given the static types the kernel feeds it, the outer values it
// reads turned into constants (when known at compile time) or extra inputs (run-time values the enclosing plan
// keeps alive while the node runs), then inferred and statically evaluated as prepareForLowering does.

import type { Graph } from '../ir/graph.js';
import { freeVars } from './free-vars.js';
import type { Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { inferGraph } from '../ops/infer-graph.js';
import { staticEval, type PreparedGraph } from './prepare.js';
import type { BodySpec, Refusal, StaticType } from './protocol.js';

/** What a body sees of the graph around it. */
export interface OuterScope {
  readonly constants: ReadonlyMap<string, Tensor>;
  readonly graph: Graph;
}

/** A body prepared for lowering. Its graph's inputs are the body's own inputs followed by the run-time outer
 *  values it reads (`outer`): those live in the enclosing plan, not in the body's arena. */
export interface PreparedBody {
  readonly prepared: PreparedGraph;
  /** The body's declared inputs, in order. */
  readonly inputs: readonly string[];
  /** Values of the enclosing graphs the body reads (run-time ones and constants): placed by the enclosing plan. */
  readonly outer: ReadonlySet<string>;
}

const tensorType = (t: StaticType): ValueType => ({ kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });

export function prepareBody(spec: BodySpec, outer: OuterScope, source: string): PreparedBody {
  const body = spec.graph;
  const initializers = new Map(body.initializers);
  const types = new Map<string, ValueType>();
  body.inputs.forEach((n, i) => { const v = spec.values?.[i]; if (v) initializers.set(n, v); else types.set(n, tensorType(spec.inputs[i]!)); });
  const runtime = body.inputs.filter((_, i) => !spec.values?.[i]);
  const extra: string[] = [];
  const free = freeVars(body);
  for (const v of free) {
    const c = outer.constants.get(v);
    if (c) { initializers.set(v, c); continue; }
    const t = outer.graph.types.get(v);
    if (t) types.set(v, t);
    extra.push(v);
  }
  // declared types of the body's values are dropped, as specialize does, so stale symbolic dims do not pin them
  const g = inferGraph({ ...body, inputs: [...runtime, ...extra], initializers, types }, { source });
  return { prepared: staticEval(g, source, { inputs: g.inputs, fixed: {} }), inputs: body.inputs, outer: free };
}

/** A `data-dependent` refusal when a body's output does not have the static type the node needs (If branches
 *  that disagree, a loop-carried value that changes shape per iteration). */
export function bodyOutputRefusal(spec: BodySpec, body: PreparedBody, what: string): Refusal | undefined {
  const outs = body.prepared.graph.outputs;
  for (let i = 0; i < spec.outputs.length; i++) {
    const want = spec.outputs[i];
    const name = outs[i];
    if (!want || name === undefined) continue;
    const got = body.prepared.staticType(name);
    const show = (t: StaticType | undefined): string => (t ? `${t.dtype}[${t.dims.join(',')}]` : 'a shape known only at run time');
    if (!got || got.dtype !== want.dtype || got.dims.length !== want.dims.length || got.dims.some((d, j) => d !== want.dims[j])) {
      return { reason: 'data-dependent', detail: `${what} output ${i} ('${name}') is ${show(got)} where ${show(want)} is needed: its shape depends on values computed at run time` };
    }
  }
  return undefined;
}

// Op-level verification: every node names a known op, has an arity and attributes its OpDef allows, and the
// types the graph records agree with what the op's `infer` gives for the recorded input types.
// Structural rules (SSA, order, typed values) are ir/verify.ts; run that first.

import { OnnxcError, VerifyError, assertNever } from '../ir/errors.js';
import type { Graph, Model, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { toNumbers } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { formatType } from '../ir/types.js';
import { getOp } from './index.js';
import type { AnyOpDef, AttrSchema, AttrsOf } from './schema.js';

interface Scope {
  readonly types: ReadonlyMap<string, ValueType>;
  readonly constants: Map<string, Tensor>;
  readonly outer: Scope | undefined;
}

function find<T>(scope: Scope | undefined, pick: (s: Scope) => ReadonlyMap<string, T>, name: string): T | undefined {
  for (let s = scope; s; s = s.outer) {
    const v = pick(s).get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function verifyModelOps(model: Model): void {
  try {
    verifyOps(model.graph);
  } catch (e) {
    if (e instanceof VerifyError && model.info.source) e.at({ model: model.info.source });
    throw e;
  }
}

/** Throws VerifyError naming the node and the rule its op's definition says it breaks. */
export function verifyOps(graph: Graph): void {
  verifyIn(graph, undefined);
}

function verifyIn(graph: Graph, outer: Scope | undefined): void {
  const scope: Scope = { types: graph.types, constants: new Map(graph.initializers), outer };
  let fresh = 0;
  for (const node of graph.nodes) {
    const fail = (msg: string): never => { throw new VerifyError(msg, { node: node.name, op: node.op }); };
    const def = getOp(node.op);
    if (!def) fail(`op '${node.op}' is not a known ai.onnx op`);
    checkArity(def!, node, fail);
    checkAttrs(def!, node, fail);
    const inputs = node.inputs.map((name) => (name === '' ? undefined : find(scope, (s) => s.types, name)));
    const constant = (i: number): Tensor | undefined => {
      const name = node.inputs[i];
      return name ? find(scope, (s) => s.constants, name) : undefined;
    };
    let inferred: ValueType[];
    try {
      inferred = def!.infer({
        node, attrs: plainAttrs(def!, node), inputs, constant,
        shapeValue: (i) => {
          const c = constant(i);
          return c !== undefined && c.dims.length <= 1 && c.dtype !== 'string' && c.dtype !== 'bool' ? toNumbers(c) : undefined;
        },
        numOutputs: node.outputs.length,
        // Subgraphs are checked on their own below; here their recorded output types stand for them.
        inferSubgraph: (sub) => sub.outputs.map((o) => {
          const t = sub.types.get(o) ?? find(scope, (s) => s.types, o);
          if (t === undefined) fail(`subgraph '${sub.name}' output '${o}' has no type`);
          return t!;
        }),
        freshDim: (hint) => `${hint ?? 'd'}?verify${++fresh}`,
      });
    } catch (e) {
      if (e instanceof VerifyError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const cause = e instanceof OnnxcError ? msg : `inference crashed: ${msg}`;
      throw new VerifyError(`infer rejects the recorded input types: ${cause}`, { node: node.name, op: node.op });
    }
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      const recorded = graph.types.get(name);
      const got = inferred[i];
      if (got === undefined) fail(`infer gives no type for output ${i} '${name}'`);
      if (recorded !== undefined && !compatible(recorded, got!)) {
        fail(`output ${i} '${name}' is recorded as ${formatType(recorded)} but infer gives ${formatType(got!)}`);
      }
    });
    const value = node.attrs['value'];
    if (node.op === 'Constant' && value?.kind === 'tensor' && node.outputs[0]) scope.constants.set(node.outputs[0], value.value);
    for (const a of Object.values(node.attrs)) {
      if (a.kind === 'graph') verifyIn(a.value, scope);
      else if (a.kind === 'graphs') for (const g of a.value) verifyIn(g, scope);
    }
  }
}

function checkArity(def: AnyOpDef, node: Node, fail: (m: string) => never): void {
  const range = (r: readonly [number, number]): string => (r[1] === Infinity ? `at least ${r[0]}` : r[0] === r[1] ? `${r[0]}` : `${r[0]} to ${r[1]}`);
  const [imin, imax] = def.inputs;
  if (node.inputs.length < imin || node.inputs.length > imax) fail(`has ${node.inputs.length} inputs; ${def.op} takes ${range(def.inputs)}`);
  const [omin, omax] = def.outputs;
  if (node.outputs.length < omin || node.outputs.length > omax) fail(`has ${node.outputs.length} outputs; ${def.op} gives ${range(def.outputs)}`);
}

function checkAttrs(def: AnyOpDef, node: Node, fail: (m: string) => never): void {
  for (const [name, a] of Object.entries(node.attrs)) {
    const spec = def.attrs[name];
    if (spec === undefined) fail(`attribute '${name}' is not one ${def.op} takes`);
    if (spec!.kind !== a.kind) fail(`attribute '${name}' is ${a.kind}; ${def.op} expects ${spec!.kind}`);
  }
  for (const [name, spec] of Object.entries(def.attrs)) {
    // After import every attribute with a default is filled in, and required ones are always there.
    if (node.attrs[name] === undefined && (spec.required || spec.default !== undefined)) {
      fail(`attribute '${name}' is missing (${spec.required ? 'required' : 'the importer fills its default'})`);
    }
  }
}

function plainAttrs(def: AnyOpDef, node: Node): AttrsOf<AttrSchema> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(def.attrs)) out[name] = node.attrs[name]?.value ?? spec.default;
  return out as AttrsOf<AttrSchema>;
}

/** Recorded and inferred types agree where both are known: same kind and dtype, same rank, equal numeric
 *  dims. A symbol on either side matches anything (inference invents fresh names). */
export function compatible(recorded: ValueType, inferred: ValueType): boolean {
  switch (recorded.kind) {
    case 'tensor': {
      if (inferred.kind !== 'tensor' || inferred.dtype !== recorded.dtype) return false;
      const a = recorded.shape;
      const b = inferred.shape;
      if (a === undefined || b === undefined) return true;
      return a.length === b.length && a.every((d, i) => dimsAgree(d, b[i]!));
    }
    case 'sequence': case 'optional':
      return inferred.kind === recorded.kind && compatible(recorded.elem, inferred.elem);
    default: return assertNever(recorded, 'value type');
  }
}

function dimsAgree(a: Dim, b: Dim): boolean {
  return typeof a === 'string' || typeof b === 'string' || a === b;
}

// The IR verifier: structural rules every graph must keep (SSA, defined-before-use, typed values, well-formed
// tensors and types), checked after import and after every pass. Op-level checks live in ops/verify-ops.ts.
//
// Scoping follows the ONNX IR spec and checker: a subgraph sees the names its enclosing graphs defined before
// the node that holds it; a subgraph's inputs and initializers may shadow outer names, its node outputs may not.

import type { DType } from './dtype.js';
import { isDType } from './dtype.js';
import { VerifyError, assertNever } from './errors.js';
import type { Attr, Graph, Model, Node } from './graph.js';
import type { Tensor } from './tensor.js';
import { sizeOf } from './tensor.js';
import type { ValueType } from './types.js';
import { formatType } from './types.js';

/** Names visible from enclosing graphs (undefined at the top level). */
interface Scope {
  readonly names: ReadonlySet<string>;
  readonly outer: Scope | undefined;
}

function visible(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s; s = s.outer) if (s.names.has(name)) return true;
  return false;
}

export function verifyModel(model: Model): void {
  try {
    verifyGraph(model.graph);
  } catch (e) {
    if (e instanceof VerifyError && model.info.source) e.at({ model: model.info.source });
    throw e;
  }
}

/** Throws VerifyError naming the graph, node and rule broken. */
export function verifyGraph(graph: Graph): void {
  verifyIn(graph, undefined, new Map());
}

function verifyIn(graph: Graph, outer: Scope | undefined, nodeNames: Map<string, string>): void {
  const where = `graph '${graph.name}'`;
  const fail = (msg: string, node?: Node): never => {
    throw new VerifyError(`${where}: ${msg}`, node ? { node: node.name, op: node.op } : {});
  };
  const defined = new Set<string>();
  const needType = (name: string, what: string, node?: Node): ValueType => {
    const t = graph.types.get(name);
    if (t === undefined) fail(`${what} '${name}' has no type in the graph's types`, node);
    checkType(t!, (m) => fail(`${what} '${name}': ${m}`, node));
    return t!;
  };

  for (const name of graph.inputs) {
    if (name === '') fail(`a graph input has an empty name`);
    if (defined.has(name)) fail(`graph input '${name}' is listed twice`);
    defined.add(name);
    needType(name, 'graph input');
  }
  for (const [name, tensor] of graph.initializers) {
    if (name === '') fail(`an initializer has an empty name`);
    // ONNX lets an initializer also be a graph input (a default the caller may override).
    const alsoInput = graph.inputs.includes(name);
    const t = needType(name, 'initializer');
    checkTensor(tensor, (m) => fail(`initializer '${name}': ${m}`));
    if (t.kind !== 'tensor' || t.dtype !== tensor.dtype) {
      fail(`initializer '${name}' holds ${tensor.dtype}[${tensor.dims.join(',')}] but its type is ${formatType(t)}`);
    }
    if (t.kind === 'tensor' && t.shape !== undefined) {
      const ok = t.shape.length === tensor.dims.length &&
        t.shape.every((d, i) => d === tensor.dims[i] || (alsoInput && typeof d === 'string'));
      if (!ok) fail(`initializer '${name}' has dims [${tensor.dims.join(',')}] but its type is ${formatType(t)}`);
    }
    defined.add(name);
  }

  // Everything defined later in this graph, to tell "used before defined" (order or cycle) from "never defined".
  const producedLater = new Map<string, Node>();
  for (const node of graph.nodes) for (const o of node.outputs) if (o !== '' && !producedLater.has(o)) producedLater.set(o, node);

  for (const node of graph.nodes) {
    if (node.op === '') fail(`a node has no op type`, node);
    if (node.name !== '') {
      const prev = nodeNames.get(node.name);
      if (prev !== undefined) fail(`node name '${node.name}' is used twice (also in ${prev})`, node);
      nodeNames.set(node.name, where);
    }
    node.inputs.forEach((name, i) => {
      if (name === '' || defined.has(name) || visible(outer, name)) return;
      const later = producedLater.get(name);
      if (later === node) fail(`input ${i} '${name}' is the node's own output (a cycle)`, node);
      if (later) fail(`input ${i} '${name}' is defined later by node '${later.name}' (${later.op}): nodes are not in topological order or form a cycle`, node);
      fail(`input ${i} '${name}' is not defined in this graph or an enclosing one`, node);
    });
    const scope: Scope = { names: new Set(defined), outer };
    for (const [an, a] of Object.entries(node.attrs)) {
      checkAttr(a, (m) => fail(`attribute '${an}': ${m}`, node), (g) => verifyIn(g, scope, nodeNames));
    }
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      if (defined.has(name)) fail(`output ${i} '${name}' is already defined in this graph (SSA: one definition per name)`, node);
      if (visible(outer, name)) fail(`output ${i} '${name}' redefines a name of an enclosing graph`, node);
      defined.add(name);
      needType(name, `output ${i}`, node);
    });
  }

  graph.outputs.forEach((name, i) => {
    if (name === '') fail(`graph output ${i} has an empty name`);
    if (!defined.has(name) && !visible(outer, name)) fail(`graph output '${name}' is not defined`);
  });
}

// ---- values -------------------------------------------------------------------------------------------

function checkType(t: ValueType, fail: (m: string) => never): void {
  switch (t.kind) {
    case 'tensor':
      if (!isDType(t.dtype)) fail(`unknown element type ${String(t.dtype)}`);
      for (const d of t.shape ?? []) {
        if (typeof d === 'number' ? !Number.isSafeInteger(d) || d < 0 : d === '') {
          fail(`bad dim ${JSON.stringify(d)} in ${formatType(t)}: dims are non-negative integers or non-empty symbols`);
        }
      }
      return;
    case 'sequence': case 'optional': checkType(t.elem, fail); return;
    default: assertNever(t, 'value type');
  }
}

const STORAGE: Record<DType, string> = {
  float32: 'Float32Array', float16: 'Float32Array', bfloat16: 'Float32Array', float64: 'Float64Array',
  int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array', int64: 'BigInt64Array',
  uint8: 'Uint8Array', uint16: 'Uint16Array', uint32: 'Uint32Array', uint64: 'BigUint64Array',
  bool: 'Uint8Array', string: 'Array',
  int4: 'Int8Array', uint4: 'Uint8Array', int2: 'Int8Array', uint2: 'Uint8Array',
};

function checkTensor(t: Tensor, fail: (m: string) => never): void {
  if (!isDType(t.dtype)) fail(`unknown element type ${String(t.dtype)}`);
  if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`bad dims [${t.dims.join(',')}]`);
  const want = STORAGE[t.dtype];
  const got = Array.isArray(t.data) ? 'Array' : t.data.constructor.name;
  if (got !== want) fail(`${t.dtype} data must be a ${want}, found a ${got}`);
  if (t.data.length !== sizeOf(t.dims)) fail(`dims [${t.dims.join(',')}] need ${sizeOf(t.dims)} elements, the data has ${t.data.length}`);
}

function checkAttr(a: Attr, fail: (m: string) => never, sub: (g: Graph) => void): void {
  switch (a.kind) {
    case 'int': if (!Number.isInteger(a.value)) fail(`int attribute holds ${a.value}`); return;
    case 'ints': if (!a.value.every(Number.isInteger)) fail(`ints attribute holds a non-integer`); return;
    case 'float': case 'floats': case 'string': case 'strings': return;
    case 'tensor': checkTensor(a.value, fail); return;
    case 'tensors': for (const t of a.value) checkTensor(t, fail); return;
    case 'type': checkType(a.value, fail); return;
    case 'types': for (const t of a.value) checkType(t, fail); return;
    case 'graph': sub(a.value); return;
    case 'graphs': for (const g of a.value) sub(g); return;
    default: assertNever(a, 'attribute');
  }
}

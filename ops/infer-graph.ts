// Shape and type inference over a whole graph: runs each op's `infer` in order, merges with the types the
// model declared, folds small constant subgraphs (so Shape -> Gather -> Concat -> Reshape chains give exact
// shapes when input shapes are known) and tracks symbolic shape values (so `batch` survives them).

import { byteSize } from '../ir/dtype.js';
import { OnnxcError, ShapeError, UnsupportedOpError } from '../ir/errors.js';
import { checkElements } from '../ir/limits.js';
import type { Attr, Graph, Node } from '../ir/graph.js';
import { makeTensor, sizeOf, toNumbers, type Tensor } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { formatType, isStaticShape } from '../ir/types.js';
import { isTensor } from '../ir/value.js';
import { plainAttrs } from './attrs.js';
import { getOp } from './index.js';
import type { AnyOpDef } from './schema.js';
import { symbolicValue } from './symbolic.js';
import { isDeterministic } from './traits.js';

/** Largest tensor (elements) that inference folds into a constant. */
const FOLD_LIMIT = 1 << 12;

export interface InferOptions {
  /** Model name for messages. */
  source?: string;
}

interface Scope {
  types: Map<string, ValueType>;
  constants: Map<string, Tensor>;
  symbolic: Map<string, readonly Dim[]>;
  parent?: Scope;
}

function lookup<T>(scope: Scope | undefined, pick: (s: Scope) => Map<string, T>, name: string): T | undefined {
  for (let s = scope; s; s = s.parent) {
    const v = pick(s).get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A counter shared by one inference run, so fresh symbols are unique in the model. */
class Symbols {
  private n = 0;
  constructor(private readonly taken: Set<string>) {}
  fresh(hint = 'd'): string {
    for (;;) {
      const s = `${hint}?${++this.n}`;
      if (!this.taken.has(s)) return s;
    }
  }
}

/** Merge a declared type with an inferred one: numbers beat symbols; conflicting numbers or dtypes are errors. */
export function mergeTypes(declared: ValueType | undefined, inferred: ValueType, what: string): ValueType {
  if (declared === undefined) return inferred;
  if (declared.kind !== inferred.kind) {
    throw new ShapeError(`${what}: declared ${formatType(declared)} but inferred ${formatType(inferred)}`);
  }
  if (declared.kind === 'tensor' && inferred.kind === 'tensor') {
    if (declared.dtype !== inferred.dtype) {
      throw new ShapeError(`${what}: declared element type ${declared.dtype} but inferred ${inferred.dtype}`);
    }
    if (declared.shape === undefined) return inferred;
    if (inferred.shape === undefined) return declared;
    if (declared.shape.length !== inferred.shape.length) {
      throw new ShapeError(`${what}: declared rank ${declared.shape.length} ${formatType(declared)} but inferred ${formatType(inferred)}`);
    }
    const shape = declared.shape.map((d, i) => {
      const e = inferred.shape![i]!;
      if (typeof d === 'number' && typeof e === 'number' && d !== e) {
        throw new ShapeError(`${what}: declared ${formatType(declared)} but inferred ${formatType(inferred)} (dim ${i})`);
      }
      if (typeof e === 'number') return e;
      if (typeof d === 'number') return d;
      // prefer a name the model chose over one inference made up
      return e.includes('?') ? d : e;
    });
    return { kind: 'tensor', dtype: declared.dtype, shape };
  }
  if (declared.kind === 'sequence' && inferred.kind === 'sequence') {
    return { kind: 'sequence', elem: mergeTypes(declared.elem, inferred.elem, what) };
  }
  if (declared.kind === 'optional' && inferred.kind === 'optional') {
    return { kind: 'optional', elem: mergeTypes(declared.elem, inferred.elem, what) };
  }
  return inferred;
}

function collectSymbols(g: Graph, out: Set<string>): void {
  const visit = (t: ValueType): void => {
    if (t.kind === 'tensor') { for (const d of t.shape ?? []) if (typeof d === 'string') out.add(d); }
    else visit(t.elem);
  };
  for (const t of g.types.values()) visit(t);
}

/** Infer types for every value of `graph` (and its subgraphs). Returns a new graph; throws ShapeError or
 *  UnsupportedOpError with the node named. */
export function inferGraph(graph: Graph, opts: InferOptions = {}): Graph {
  const taken = new Set<string>();
  collectSymbols(graph, taken);
  return new Inferencer(new Symbols(taken), opts).graph(graph, undefined, undefined);
}

class Inferencer {
  constructor(private readonly symbols: Symbols, private readonly opts: InferOptions) {}

  /** Infer `g` inside `parent`; `inputTypes` override the declared input types (for subgraph calls). */
  graph(g: Graph, parent: Scope | undefined, inputTypes: readonly (ValueType | undefined)[] | undefined): Graph {
    const scope: Scope = { types: new Map(), constants: new Map(), symbolic: new Map(), parent };
    g.inputs.forEach((name, i) => {
      const declared = g.types.get(name);
      const given = inputTypes?.[i];
      const t = given ? mergeOrGiven(declared, given, name) : declared;
      if (t === undefined) throw new ShapeError(`graph '${g.name}' input '${name}' has no type`);
      scope.types.set(name, t);
    });
    for (const [name, t] of g.initializers) {
      scope.types.set(name, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });
      scope.constants.set(name, t);
    }
    const nodes = g.nodes.map((node) => this.node(node, scope, g));
    for (const name of g.outputs) {
      if (!scope.types.has(name) && lookup(parent, (s) => s.types, name) === undefined) {
        throw new ShapeError(`graph '${g.name}' output '${name}' is not defined`);
      }
      if (!scope.types.has(name)) scope.types.set(name, lookup(parent, (s) => s.types, name)!);
    }
    return { ...g, nodes, types: scope.types };
  }

  private node(node: Node, scope: Scope, g: Graph): Node {
    const def = getOp(node.op);
    if (!def) throw new UnsupportedOpError(`op ${node.op} is not supported`, { model: this.opts.source, node: node.name, op: node.op });
    try {
      return this.inferNode(def, node, scope, g);
    } catch (e) {
      if (e instanceof OnnxcError) throw e.at({ model: this.opts.source, node: node.name, op: node.op });
      const msg = e instanceof Error ? e.message : String(e);
      throw new ShapeError(`inference failed: ${msg}`, { model: this.opts.source, node: node.name, op: node.op });
    }
  }

  private inferNode(def: AnyOpDef, node: Node, scope: Scope, g: Graph): Node {
    const inputTypes = node.inputs.map((name) => {
      if (name === '') return undefined;
      const t = lookup(scope, (s) => s.types, name);
      if (t === undefined) throw new ShapeError(`input '${name}' is not defined before this node`);
      return t;
    });
    const constant = (i: number): Tensor | undefined => {
      const name = node.inputs[i];
      return name ? lookup(scope, (s) => s.constants, name) : undefined;
    };
    const shapeValue = (i: number): readonly Dim[] | undefined => {
      const c = constant(i);
      if (c !== undefined) return c.dims.length <= 1 && c.dtype !== 'string' && c.dtype !== 'bool' ? toNumbers(c) : undefined;
      const name = node.inputs[i];
      return name ? lookup(scope, (s) => s.symbolic, name) : undefined;
    };
    const inferred = new Map<Graph, Graph>();
    const attrs = plainAttrs(def, node);
    const outTypes = def.infer({
      node, attrs, inputs: inputTypes, constant, shapeValue, numOutputs: node.outputs.length,
      inferSubgraph: (sub, types) => {
        const r = this.graph(sub, scope, types);
        inferred.set(sub, r);
        return r.outputs.map((o) => r.types.get(o)!);
      },
      freshDim: (hint) => this.symbols.fresh(hint),
    });
    if (outTypes.length < node.outputs.filter((o) => o !== '').length) {
      throw new ShapeError(`inference gave ${outTypes.length} output types for ${node.outputs.length} outputs`);
    }
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      const declared = g.types.get(name);
      const t = mergeTypes(declared, outTypes[i]!, `output '${name}'`);
      checkTypeSize(t, `output '${name}'`);
      scope.types.set(name, t);
    });
    this.fold(def, node, scope, inputTypes, constant, shapeValue);
    return this.withInferredSubgraphs(node, inferred, scope);
  }

  /** Constant-fold small deterministic nodes whose inputs are all known, and track symbolic shape values. */
  private fold(
    def: AnyOpDef, node: Node, scope: Scope, inputTypes: readonly (ValueType | undefined)[],
    constant: (i: number) => Tensor | undefined, shapeValue: (i: number) => readonly Dim[] | undefined,
  ): void {
    const out0 = node.outputs[0];
    if (!out0) return;
    const hasGraph = Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs');
    const allConst = node.inputs.every((name, i) => name === '' || constant(i) !== undefined);
    const outTypes = node.outputs.map((o) => (o ? scope.types.get(o) : undefined));
    const small = outTypes.every((t) => t === undefined || (t.kind === 'tensor' && isStaticShape(t.shape) && sizeOf(t.shape) <= FOLD_LIMIT));
    if (allConst && !hasGraph && small && isDeterministic(node.op)) {
      const values = def.run({
        node, attrs: plainAttrs(def, node), inputs: node.inputs.map((_, i) => constant(i)), numOutputs: node.outputs.length,
        outputTypes: outTypes, runSubgraph: () => { throw new Error('no subgraphs in folding'); },
      });
      node.outputs.forEach((name, i) => { const v = values[i]; if (name && v !== undefined && isTensor(v)) scope.constants.set(name, v); });
      return;
    }
    // symbolic shape values
    const t0 = scope.types.get(out0);
    if (t0?.kind !== 'tensor' || (t0.dtype !== 'int64' && t0.dtype !== 'int32') || (t0.shape && t0.shape.length > 1)) return;
    const sym = symbolicValue(node, {
      value: shapeValue,
      rank: (i) => { const t = inputTypes[i]; return t?.kind === 'tensor' ? t.shape?.length : undefined; },
      type: (i) => inputTypes[i],
      attrInt: (name) => { const a = node.attrs[name]; return a?.kind === 'int' ? a.value : undefined; },
      attrInts: (name) => { const a = node.attrs[name]; return a?.kind === 'ints' ? a.value : undefined; },
    });
    if (sym === undefined) return;
    if (sym.every((d) => typeof d === 'number') && t0.shape) {
      const dims = t0.shape.length === 0 ? [] : [sym.length];
      if (sizeOf(dims) === sym.length) {
        const t = makeTensor(t0.dtype, dims);
        sym.forEach((d, k) => { (t.data as BigInt64Array | Int32Array)[k] = (t0.dtype === 'int64' ? BigInt(d) : d) as never; });
        scope.constants.set(out0, t);
        return;
      }
    }
    scope.symbolic.set(out0, sym);
  }

  private withInferredSubgraphs(node: Node, inferred: Map<Graph, Graph>, scope: Scope): Node {
    let changed = false;
    const attrs: Record<string, Attr> = {};
    // a subgraph the op's infer did not visit is inferred here; one it skipped because it cannot fit (the branch an
    // If with a known condition does not take) stays as written
    const skipped = (sg: Graph): Graph => { try { return this.graph(sg, scope, undefined); } catch (e) { if (node.op === 'If' && e instanceof ShapeError) return sg; throw e; } };
    for (const [k, a] of Object.entries(node.attrs)) {
      if (a.kind === 'graph') {
        const r = inferred.get(a.value) ?? skipped(a.value);
        attrs[k] = { kind: 'graph', value: r };
        changed = true;
      } else if (a.kind === 'graphs') {
        attrs[k] = { kind: 'graphs', value: a.value.map((sg) => inferred.get(sg) ?? this.graph(sg, scope, undefined)) };
        changed = true;
      } else attrs[k] = a;
    }
    return changed ? { ...node, attrs } : node;
  }
}

/** Refuse a tensor type whose known dims already need more than the limits allow, before any backend sizes
 *  memory for it (symbolic dims count as 1: the known part alone is too big). */
function checkTypeSize(t: ValueType, what: string): void {
  if (t.kind !== 'tensor') { checkTypeSize(t.elem, what); return; }
  if (t.shape === undefined) return;
  let n = 1;
  for (const d of t.shape) if (typeof d === 'number') n *= d;
  checkElements(n, `${what} of type ${formatType(t)}`, byteSize(t.dtype));
}

/** A subgraph input's type as the caller gives it, refined by the declared one where they agree (a loop-carried
 *  value may legitimately change shape across iterations, so a disagreement keeps the caller's type). */
function mergeOrGiven(declared: ValueType | undefined, given: ValueType, name: string): ValueType {
  try {
    return mergeTypes(declared, given, `subgraph input '${name}'`);
  } catch {
    return given;
  }
}

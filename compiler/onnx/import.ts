// The ONNX importer: ModelProto bytes -> IR Model. Inlines model-local functions, turns Constant nodes into
// initializers, rewrites older opset forms (compiler/onnx/opsets), checks attributes and arity against the op
// schemas, imports subgraphs, topologically sorts, and runs shape inference. Never reads outside the model's folder.

import { dirname } from 'node:path';
import { LimitError, OnnxImportError, OnnxcError, UnsupportedOpError, type ErrorSite } from '../../ir/errors.js';
import type { Attr, Graph, Model, Node } from '../../ir/graph.js';
import { limits, type Limits, withLimits } from '../../ir/limits.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import type { AnyOpDef, ImportNode, LegacyContext } from '../../ops/schema.js';
import { opsetRewrite } from './opsets/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { attrFromProto, coerceAttr, densify, DimNamer, isEmptyType, valueTypeFromProto } from './import-attrs.js';
import { expandNodes, FunctionTable, isOnnxDomain, onnxOpset, type ExpandedNode } from './import-functions.js';
import type { GraphProtoMsg, ModelProtoMsg, NodeProtoMsg } from './proto.js';
import { decodeMessage, int64ToNumber } from './proto.js';
import { readRegularFile } from './read-file.js';
import { decodeTensorProto } from './tensor-proto.js';

export interface ImportOptions {
  /** The model's name for messages (defaults to the file path for loadModel). */
  source?: string;
  /** Folder that external data is read from; without it external data is refused. */
  baseDir?: string;
  /** Sizes for named dims ('batch' -> 1). */
  dims?: Record<string, number>;
  /** Skip shape inference (tools that only need the graph structure). */
  noInfer?: boolean;
  /** Resource limits for this import (ir/limits.ts; unset fields keep the limits in force). */
  limits?: Partial<Limits>;
}

export const MIN_IR_VERSION = 3;
/** IR 11-13 only add fields onnxc ignores (device configurations) and element types it names as unsupported. */
export const MAX_IR_VERSION = 13;
export const MAX_OPSET = 28;

/** Read and import a model file; external data is read relative to its folder. Only a regular file is read
 *  (a FIFO or a device would hang or never end), no more than its size and limits.maxFileBytes. */
export function loadModel(path: string, opts: ImportOptions = {}): Model {
  return withLimits(opts.limits, () => {
    let bytes: Uint8Array;
    try {
      bytes = readRegularFile(path, path);
    } catch (e) {
      if (e instanceof OnnxcError) throw e.at({ model: opts.source ?? path });
      throw e;
    }
    return importModel(bytes, { ...opts, baseDir: opts.baseDir ?? dirname(path), source: opts.source ?? path });
  });
}

/** Import ModelProto bytes. Every failure is an OnnxcError carrying the model/node/op where it happened. */
export function importModel(bytes: Uint8Array, opts: ImportOptions = {}): Model {
  return withLimits(opts.limits, () => importBytes(bytes, opts));
}

function importBytes(bytes: Uint8Array, opts: ImportOptions): Model {
  const site: ErrorSite = { model: opts.source };
  try {
    const m = decodeMessage<ModelProtoMsg>('ModelProto', bytes, 'ModelProto');
    const model = new Importer(m, opts).run();
    return opts.noInfer ? model : { ...model, graph: inferGraph(model.graph, { source: opts.source }) };
  } catch (e) {
    if (e instanceof OnnxcError) throw e.at(site);
    // a stack overflow from absurd nesting, or a bug: still one typed error, with the cause in the message
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new OnnxImportError(`cannot import model: ${msg}`, site);
  }
}

interface Imported {
  graph: Graph;
  /** Names the graph reads but does not define (outer-scope references). */
  free: Set<string>;
}

class Importer {
  private readonly dims: DimNamer;
  private readonly funcs: FunctionTable;
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private nodeCount = 0;
  private readonly freeOf = new WeakMap<Graph, Set<string>>();

  constructor(private readonly m: ModelProtoMsg, private readonly opts: ImportOptions) {
    this.dims = new DimNamer(opts.dims);
    this.funcs = new FunctionTable(m.functions ?? []);
  }

  run(): Model {
    const m = this.m;
    const ir = int64ToNumber(m.ir_version, 'ir_version');
    if (ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
      throw new OnnxImportError(`IR version ${ir} is not supported (onnxc reads IR versions ${MIN_IR_VERSION}-${MAX_IR_VERSION})`);
    }
    const opsets: Record<string, number> = {};
    for (const o of m.opset_import) {
      const domain = isOnnxDomain(o.domain) ? '' : o.domain;
      opsets[domain] = int64ToNumber(o.version, `opset version of domain '${o.domain}'`);
    }
    const opset = onnxOpset(m.opset_import, 'model') ?? 0;
    if (opsets[''] !== undefined && (opset < 1 || opset > MAX_OPSET)) {
      throw new OnnxImportError(`ai.onnx opset ${opset} is not supported (onnxc reads opsets 1-${MAX_OPSET})`);
    }
    if (!m.graph) throw new OnnxImportError('model has no graph');
    this.collectNames(m.graph, 0);
    for (const f of m.functions ?? []) {
      for (const v of [...f.input, ...f.output]) this.names.add(v);
      for (const n of f.node) for (const v of [...n.input, ...n.output]) this.names.add(v);
    }
    const { graph, free } = this.graph(m.graph, opset, 0, true);
    if (free.size) {
      const name = [...free][0]!;
      throw new OnnxImportError(`value '${name}' is used but never defined`);
    }
    const metadata: Record<string, string> = {};
    for (const e of m.metadata_props ?? []) metadata[e.key] = e.value;
    return {
      graph,
      info: {
        source: this.opts.source, irVersion: ir,
        producer: [m.producer_name, m.producer_version].filter(Boolean).join(' ') || undefined,
        opsets, docString: m.doc_string || undefined, metadata,
      },
    };
  }

  private collectNames(g: GraphProtoMsg, depth: number): void {
    if (depth > limits.maxGraphDepth) throw new LimitError(`subgraphs nest deeper than the limit maxGraphDepth=${limits.maxGraphDepth}`, { limit: 'maxGraphDepth', value: depth });
    for (const vi of [...g.input, ...g.output, ...g.value_info]) this.names.add(vi.name);
    for (const t of g.initializer) this.names.add(t.name);
    for (const n of g.node) {
      for (const v of [...n.input, ...n.output]) this.names.add(v);
      for (const a of n.attribute) {
        if (a.g) this.collectNames(a.g, depth + 1);
        for (const sg of a.graphs) this.collectNames(sg, depth + 1);
      }
    }
  }

  freshName(hint: string): string {
    let name = hint;
    for (let k = 1; this.names.has(name); k++) name = `${hint}_${k}`;
    this.names.add(name);
    return name;
  }

  private nodeName(hint: string): string {
    let name = hint;
    for (let k = 1; this.nodeNames.has(name); k++) name = `${hint}_${k}`;
    this.nodeNames.add(name);
    return name;
  }

  /** Import one graph (the main one at depth 0, else a subgraph that may read outer-scope values). */
  private graph(g: GraphProtoMsg, opset: number, depth: number, main: boolean): Imported {
    if (depth > limits.maxGraphDepth) throw new LimitError(`subgraphs nest deeper than the limit maxGraphDepth=${limits.maxGraphDepth}`, { limit: 'maxGraphDepth', value: depth });
    const gname = g.name || (main ? 'main' : 'subgraph');
    const initializers = new Map<string, Tensor>();
    const types = new Map<string, ValueType>();
    const defined = new Set<string>();
    const define = (name: string, what: string): void => {
      if (name === '') throw new OnnxImportError(`graph '${gname}': ${what} has an empty name`);
      if (defined.has(name)) throw new OnnxImportError(`graph '${gname}': value '${name}' is defined twice`);
      defined.add(name);
    };
    const tensorOpts = { baseDir: this.opts.baseDir };
    for (const t of g.initializer) {
      define(t.name, 'an initializer');
      initializers.set(t.name, decodeTensorProto(t, tensorOpts));
    }
    for (const sp of g.sparse_initializer ?? []) {
      const name = sp.values?.name ?? '';
      define(name, 'a sparse initializer');
      initializers.set(name, densify(sp, tensorOpts, `sparse initializer '${name}'`));
    }
    const inputs: string[] = [];
    for (const vi of g.input) {
      // an initializer also listed as an input is a constant (IR < 4 listed every initializer as an input)
      if (initializers.has(vi.name)) continue;
      define(vi.name, 'an input');
      inputs.push(vi.name);
      // a subgraph input without a type (Loop/Scan bodies from spox, PyTorch) takes it from its node at inference
      if (!isEmptyType(vi.type)) types.set(vi.name, valueTypeFromProto(vi.type!, `input '${vi.name}'`, this.dims));
      else if (main) throw new OnnxImportError(`graph input '${vi.name}' has no type`);
    }
    for (const vi of [...g.value_info, ...g.output]) {
      // a missing or empty declared type says nothing: leave it to inference, as onnxruntime does
      if (!isEmptyType(vi.type) && !types.has(vi.name) && !initializers.has(vi.name)) {
        types.set(vi.name, valueTypeFromProto(vi.type!, `value '${vi.name}'`, this.dims));
      }
    }

    const expanded = expandNodes(g.node, opset, this.funcs, {
      freshName: (h) => this.freshName(h),
      maxNodes: limits.maxNodes,
      countNode: () => {
        if (++this.nodeCount > limits.maxNodes) throw new LimitError(`model has more nodes than the limit maxNodes=${limits.maxNodes}`, { limit: 'maxNodes', value: this.nodeCount });
      },
    });
    const nodes: Node[] = [];
    for (const en of expanded) {
      for (const n of this.node(en, initializers, depth)) nodes.push(n);
    }
    // Constant nodes became initializers above: define them now, before checking uses
    for (const name of initializers.keys()) if (!defined.has(name)) define(name, 'a constant');
    for (const n of nodes) for (const o of n.outputs) if (o !== '') define(o, `output of node '${n.name}'`);
    for (const name of initializers.keys()) types.delete(name);

    const sorted = this.topoSort(nodes, gname);
    const free = new Set<string>();
    for (const n of sorted) {
      for (const i of n.inputs) if (i !== '' && !defined.has(i)) free.add(i);
      for (const sg of subgraphs(n)) for (const v of this.freeOf.get(sg) ?? []) if (!defined.has(v)) free.add(v);
    }
    const outputs = g.output.map((vi) => vi.name);
    for (const o of outputs) {
      if (o === '') throw new OnnxImportError(`graph '${gname}' has an output with an empty name`);
      if (!defined.has(o)) {
        if (main) throw new OnnxImportError(`graph output '${o}' is never defined`);
        free.add(o);
      }
    }
    const graph: Graph = { name: gname, inputs, outputs, nodes: sorted, initializers, types };
    this.freeOf.set(graph, free);
    return { graph, free };
  }

  /** Convert one node: Constant -> initializer; otherwise legacy rewrite, attribute checks, defaults, arity. */
  private node(en: ExpandedNode, initializers: Map<string, Tensor>, depth: number): Node[] {
    const p = en.node;
    const op = p.op_type;
    const name = this.nodeName(p.name || `${op || 'node'}_${this.nodeNames.size}`);
    const site: ErrorSite = { node: name, op, opset: isOnnxDomain(p.domain) ? en.opset || undefined : undefined };
    try {
      if (!op) throw new OnnxImportError('node has no op_type');
      if (!isOnnxDomain(p.domain)) {
        throw new UnsupportedOpError(`op ${p.domain}::${op} is not supported (domain '${p.domain}' is neither ai.onnx nor a model-local function)`);
      }
      if (!en.opset) throw new OnnxImportError('model uses ai.onnx ops but imports no ai.onnx opset');
      const attrs = this.attrs(p, en.opset, depth);
      if (op === 'Constant') {
        if (p.output.length !== 1 || !p.output[0]) throw new OnnxImportError('Constant must have exactly one output');
        if (p.input.some((i) => i !== '')) throw new OnnxImportError('Constant takes no inputs');
        if (initializers.has(p.output[0])) throw new OnnxImportError(`value '${p.output[0]}' is defined twice`);
        initializers.set(p.output[0], constantValue(attrs));
        return [];
      }
      const def = getOp(op);
      if (!def) throw new UnsupportedOpError(`op ${op} is not supported`);
      let nodes: ImportNode[] = [{ name, op, inputs: [...p.input], outputs: [...p.output], attrs }];
      const rewrite = opsetRewrite(op);
      if (rewrite) {
        const ctx: LegacyContext = {
          opset: en.opset,
          freshName: (h) => this.freshName(h),
          constant: (t, h) => {
            const n = this.freshName(h ?? `${name}_const`);
            initializers.set(n, t);
            return n;
          },
        };
        nodes = rewrite(nodes[0]!, ctx);
      }
      return nodes.map((n, k) => {
        const d = n.op === op ? def : getOp(n.op);
        if (!d) throw new UnsupportedOpError(`op ${n.op} (from rewriting ${op}) is not supported`);
        return finishNode(n, d, k === 0 ? n.name : this.nodeName(n.name));
      });
    } catch (e) {
      if (e instanceof OnnxcError) throw e.at(site);
      throw e;
    }
  }

  private attrs(p: NodeProtoMsg, opset: number, depth: number): Record<string, Attr> {
    const attrs: Record<string, Attr> = {};
    for (const a of p.attribute) {
      if (!a.name) throw new OnnxImportError('attribute without a name');
      if (a.ref_attr_name) throw new OnnxImportError(`attribute '${a.name}' refers to '${a.ref_attr_name}' outside a function`);
      if (attrs[a.name] !== undefined) throw new OnnxImportError(`attribute '${a.name}' is given twice`);
      attrs[a.name] = attrFromProto(a, {
        tensorOpts: { baseDir: this.opts.baseDir },
        dims: this.dims,
        subgraph: (g) => this.graph(g, opset, depth + 1, false).graph,
      });
    }
    return attrs;
  }

  /** Order nodes so every value is produced before it is used (subgraph outer references count as uses).
   *  Iterative, so a long chain cannot overflow the stack. */
  private topoSort(nodes: readonly Node[], gname: string): Node[] {
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => { for (const o of n.outputs) if (o !== '') producer.set(o, i); });
    const deps = nodes.map((n) => {
      const d: number[] = [];
      const use = (v: string): void => { const p = producer.get(v); if (p !== undefined) d.push(p); };
      for (const i of n.inputs) if (i !== '') use(i);
      for (const sg of subgraphs(n)) for (const v of this.freeOf.get(sg) ?? []) use(v);
      return d;
    });
    const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 done
    const out: Node[] = [];
    for (let root = 0; root < nodes.length; root++) {
      if (state[root]) continue;
      const stack: [number, number][] = [[root, 0]];
      state[root] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const [i, k] = top;
        if (k < deps[i]!.length) {
          top[1]++;
          const j = deps[i]![k]!;
          if (state[j] === 1) throw new OnnxImportError(`graph '${gname}' has a cycle through node '${nodes[j]!.name}'`);
          if (state[j] === 0) { state[j] = 1; stack.push([j, 0]); }
        } else {
          state[i] = 2;
          out.push(nodes[i]!);
          stack.pop();
        }
      }
    }
    return out;
  }
}

function subgraphs(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(n.attrs)) {
    if (a.kind === 'graph') out.push(a.value);
    else if (a.kind === 'graphs') out.push(...a.value);
  }
  return out;
}

/** The value of a Constant node, from whichever value* attribute it sets. */
function constantValue(attrs: Record<string, Attr>): Tensor {
  const keys = Object.keys(attrs);
  if (keys.length !== 1) throw new OnnxImportError(`Constant must set exactly one value attribute, got ${keys.length ? keys.join(', ') : 'none'}`);
  const key = keys[0]!;
  const a = attrs[key]!;
  switch (key) {
    case 'value': case 'sparse_value':
      if (a.kind === 'tensor') return a.value;
      break;
    case 'value_float': if (a.kind === 'float' || a.kind === 'int') return fromValues('float32', [], [a.value]); break;
    case 'value_floats': if (a.kind === 'floats' || a.kind === 'ints') return fromValues('float32', [a.value.length], a.value); break;
    case 'value_int': if (a.kind === 'int') return fromValues('int64', [], [BigInt(a.value)]); break;
    case 'value_ints': if (a.kind === 'ints' || (a.kind === 'floats' && a.value.length === 0)) return fromValues('int64', [a.value.length], a.value.map((v) => BigInt(v))); break;
    case 'value_string': if (a.kind === 'string') return fromValues('string', [], [a.value]); break;
    case 'value_strings': if (a.kind === 'strings' || ((a.kind === 'ints' || a.kind === 'floats') && a.value.length === 0)) return fromValues('string', [a.value.length], a.value as readonly string[]); break;
    default: throw new OnnxImportError(`Constant has unknown attribute '${key}'`);
  }
  throw new OnnxImportError(`Constant attribute '${key}' has the wrong type ${a.kind}`);
}

/** Check a (rewritten) node against its op's schema and fill defaults. */
function finishNode(n: ImportNode, def: AnyOpDef, name: string): Node {
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of Object.entries(n.attrs)) {
    const spec = def.attrs[k];
    if (!spec) throw new OnnxImportError(`${n.op} has no attribute '${k}'${hint(def)}`);
    const c = coerceAttr(a, spec.kind);
    if (!c) throw new OnnxImportError(`attribute '${k}' of ${n.op} must be ${spec.kind.toUpperCase()}, got ${a.kind.toUpperCase()}`);
    attrs[k] = c;
  }
  for (const [k, spec] of Object.entries(def.attrs)) {
    if (spec.required && attrs[k] === undefined) throw new OnnxImportError(`${n.op} requires attribute '${k}'`);
  }
  const inputs = trimTrailing(n.inputs);
  const outputs = trimTrailing(n.outputs);
  const [imin, imax] = def.inputs;
  const [omin, omax] = def.outputs;
  if (inputs.length < imin || inputs.length > imax) {
    throw new OnnxImportError(`${n.op} takes ${arity(imin, imax)} inputs, got ${inputs.length}`);
  }
  if (outputs.length < omin || outputs.length > omax) {
    throw new OnnxImportError(`${n.op} gives ${arity(omin, omax)} outputs, got ${outputs.length}`);
  }
  return { name, op: n.op, inputs, outputs, attrs: withDefaults(def, attrs) };
}

function hint(def: AnyOpDef): string {
  const known = Object.keys(def.attrs);
  return known.length ? ` (it has ${known.join(', ')})` : ' (it takes no attributes)';
}

function arity(min: number, max: number): string {
  return min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
}

function trimTrailing(names: readonly string[]): string[] {
  let end = names.length;
  while (end > 0 && names[end - 1] === '') end--;
  return names.slice(0, end);
}

// Building IR graphs in code: for example models, tests and generators. Attributes may be given as plain
// values (integers become INT, other numbers FLOAT, arrays INTS/FLOATS, strings STRING, tensors TENSOR).

import type { DType } from '../ir/dtype.js';
import type { Attr, Graph, Model, ModelInfo, Node } from '../ir/graph.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { inferGraph } from '../ops/infer-graph.js';
import { withDefaults } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';

export type AttrInput = Attr | number | string | readonly number[] | readonly string[] | Tensor | Graph | { float: number } | { floats: readonly number[] };

function isTensorLike(v: object): v is Tensor {
  return 'dtype' in v && 'dims' in v && 'data' in v;
}

export function toAttr(v: AttrInput): Attr {
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { kind: 'strings', value: v as string[] };
    return (v as number[]).every(Number.isInteger) ? { kind: 'ints', value: v as number[] } : { kind: 'floats', value: v as number[] };
  }
  const o = v as object;
  if ('kind' in o && 'value' in o) return o as Attr;
  if ('float' in o) return { kind: 'float', value: (o as { float: number }).float };
  if ('floats' in o) return { kind: 'floats', value: (o as { floats: number[] }).floats };
  if (isTensorLike(o)) return { kind: 'tensor', value: o };
  return { kind: 'graph', value: o as Graph };
}

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly types = new Map<string, ValueType>();
  private counter = 0;

  constructor(readonly name = 'main') {}

  private fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`; while (this.types.has(n) || this.initializers.has(n));
    return n;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push(name);
    this.types.set(name, { kind: 'tensor', dtype, shape: [...shape] });
    return name;
  }

  weight(name: string, t: Tensor): string {
    this.initializers.set(name, t);
    return name;
  }

  /** Add a node; returns its output names. Attributes are completed with the op's defaults. */
  node(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}, numOutputs = 1, name?: string): string[] {
    const def = getOp(op);
    if (!def) throw new Error(`GraphBuilder: unknown op ${op}`);
    const tagged = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, toAttr(v)]));
    const nodeName = name ?? this.fresh(op.toLowerCase());
    // a named single-output node gives its value the same name (ONNX keeps node and value names apart)
    const outs = numOutputs === 1 && name !== undefined ? [name]
      : Array.from({ length: numOutputs }, (_, i) => `${nodeName}${numOutputs > 1 ? `_out${i}` : '_out'}`);
    this.nodes.push({ name: nodeName, op, inputs: [...inputs], outputs: outs, attrs: withDefaults(def, tagged) });
    return outs;
  }

  /** A one-output node. */
  op(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  output(...names: string[]): this {
    this.outputs.push(...names);
    return this;
  }

  /** The graph as written, for use as a subgraph (If branches, Loop bodies): it may read values of the enclosing
   *  graph, so its types are inferred with that graph's. */
  subgraph(): Graph {
    return {
      name: this.name, inputs: [...this.inputs], outputs: [...this.outputs], nodes: [...this.nodes],
      initializers: new Map(this.initializers), types: new Map(this.types),
    };
  }

  /** The graph with every value typed by inference. */
  build(): Graph {
    const g: Graph = {
      name: this.name, inputs: [...this.inputs], outputs: [...this.outputs], nodes: [...this.nodes],
      initializers: new Map(this.initializers), types: new Map(this.types),
    };
    return inferGraph(g, { source: this.name });
  }

  model(info: ModelInfo = {}): Model {
    return { graph: this.build(), info: { producer: 'onnxc', ...info } };
  }
}

/** Seeded uniform weights in [-scale, scale): what the example and bench models are built from. */
export function seededWeights(dims: number[], rand: () => number, scale: number): Tensor<'float32'> {
  const t = makeTensor('float32', dims);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (rand() * 2 - 1) * scale;
  return t;
}

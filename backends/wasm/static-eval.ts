// Compile-time evaluation for the wasm backend: with every shape static, Shape/Size and any node whose inputs
// are all constants is computed once here (with the op's reference `run`) and never reaches the module.
// What is left is the run-time node list, pruned to what the graph outputs need.

import { OnnxcError, ShapeError, UnsupportedOpError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { isStaticShape, type TensorType } from '../../ir/types.js';
import { isTensor } from '../../ir/value.js';
import { plainAttrs } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';

const NONDETERMINISTIC = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']);

export interface StaticGraph {
  /** Run-time nodes in order. */
  readonly nodes: readonly Node[];
  /** Every value known at compile time. */
  readonly constants: ReadonlyMap<string, Tensor>;
  /** Static tensor type of every value. */
  tensorType(name: string): { dtype: TensorType['dtype']; dims: number[] };
}

export function staticEval(g: Graph, source?: string): StaticGraph {
  const constants = new Map<string, Tensor>(g.initializers);
  const tensorType = (name: string): { dtype: TensorType['dtype']; dims: number[] } => {
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor') throw new UnsupportedOpError(`value '${name}' is not a tensor; the wasm backend handles tensors only`, { model: source });
    if (!isStaticShape(t.shape)) throw new ShapeError(`value '${name}' has shape [${t.shape?.join(',') ?? '?'}]; the wasm backend needs static shapes (give --dim NAME=VALUE)`, { model: source });
    return { dtype: t.dtype, dims: [...t.shape] };
  };
  const live: Node[] = [];
  for (const node of g.nodes) {
    const site = { model: source, node: node.name, op: node.op };
    const def = getOp(node.op);
    if (!def) throw new UnsupportedOpError(`op ${node.op} is not supported`, site);
    const hasGraph = Object.values(node.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs');
    if (node.op === 'Shape' || node.op === 'Size') {
      const x = tensorType(node.inputs[0]!);
      const out = node.op === 'Size' ? [x.dims.reduce((a, b) => a * b, 1)] : shapeSlice(x.dims, plainAttrs(def, node) as { start?: number; end?: number });
      const t = makeTensor('int64', node.op === 'Size' ? [] : [out.length]);
      out.forEach((v, i) => { t.data[i] = BigInt(v); });
      constants.set(node.outputs[0]!, t);
      continue;
    }
    const allConst = node.inputs.every((n) => n === '' || constants.has(n));
    if (allConst && !hasGraph && !NONDETERMINISTIC.has(node.op)) {
      try {
        const outs = def.run({
          node, attrs: plainAttrs(def, node), inputs: node.inputs.map((n) => (n ? constants.get(n) : undefined)),
          numOutputs: node.outputs.length, outputTypes: node.outputs.map((o) => (o ? g.types.get(o) : undefined)),
          runSubgraph: () => { throw new Error('no subgraphs in compile-time evaluation'); },
        });
        node.outputs.forEach((o, i) => { const v = outs[i]; if (o && v !== undefined && isTensor(v)) constants.set(o, v); });
        continue;
      } catch (e) {
        if (e instanceof OnnxcError) throw e.at(site);
        throw e;
      }
    }
    live.push(node);
  }
  // keep the nodes the outputs need
  const needed = new Set(g.outputs);
  const kept: Node[] = [];
  for (let i = live.length - 1; i >= 0; i--) {
    const n = live[i]!;
    if (n.outputs.some((o) => o && needed.has(o))) {
      kept.push(n);
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  return { nodes: kept.reverse(), constants, tensorType };
}

function shapeSlice(dims: readonly number[], a: { start?: number; end?: number }): number[] {
  const r = dims.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  return dims.slice(clamp(a.start ?? 0), clamp(a.end ?? r));
}

// sink-squeeze: a Squeeze moves below the elementwise ops that follow it, so a conv's bias and activation sit right
// after the conv where the epilogue fusion takes them. tf2onnx writes a 1-D convolution as Unsqueeze -> Conv2D [k, 1]
// -> Squeeze, then the bias Add and the activation on the squeezed value (magika: Add + Gelu, 0.3 ms of 7.6, as
// separate passes over the conv output).
//
//   y = Op(Squeeze(x, axes), c)   ->   y = Squeeze(Op(x, Unsqueeze'(c)), axes)     (Op elementwise, c constant or absent)
//
// Exact: an elementwise op computes the same values on the unsqueezed data; the constant gets the unit axes the
// Squeeze removes (at compile time). Only when the Squeeze's output is read once and Op's output keeps its shape.

import type { Graph, Node } from '../ir/graph.js';
import { makeTensor, toNumbers, type Tensor } from '../ir/tensor.js';
import type { TensorType, ValueType } from '../ir/types.js';
import { isElementwise } from '../ops/traits.js';
import { GraphFacts } from './graph-facts.js';
import { NameSource, allNames, mapAllSubgraphs, rebuild } from './graph-util.js';
import { EXACT, definePass } from './pass.js';

const sameShape = (a: readonly (number | string)[] | undefined, b: readonly (number | string)[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);

/** One step: the first elementwise node reading a single-use Squeeze swaps with it. */
function step(g: Graph): Graph | undefined {
  const f = new GraphFacts(g);
  for (const op of g.nodes) {
    if (!isElementwise(op.op) || op.outputs.length !== 1 || op.inputs.length === 0 || op.inputs.length > 2) continue;
    const si = op.inputs.findIndex((i) => f.producer.get(i)?.op === 'Squeeze');
    if (si < 0) continue;
    const sq = f.producer.get(op.inputs[si]!)!;
    const s = sq.outputs[0]!, x = sq.inputs[0]!;
    const axesT = f.initializer(sq.inputs[1]);
    const xt = f.type(x), st = f.type(s), yt = f.type(op.outputs[0]!);
    if (!f.singleUse(s) || op.inputs.filter((i) => i === s).length !== 1 || !axesT || !xt?.shape || !st?.shape || !yt?.shape) continue;
    // the output keeps the squeezed shape: the other operand only broadcasts into it
    if (!sameShape(st.shape, yt.shape)) continue;
    const r = xt.shape.length;
    const axes = new Set(toNumbers(axesT).map((a) => (a < 0 ? a + r : a)));
    const names = new NameSource(allNames(g));
    const inits = new Map(g.initializers);
    const types = new Map<string, ValueType>();
    const inputs = [...op.inputs];
    inputs[si] = x;
    if (op.inputs.length === 2) {
      const c = f.initializer(op.inputs[1 - si]!);
      if (!c) continue;
      // c broadcast against the squeezed rank, then the squeezed axes put back as 1s
      const padded = [...new Array<number>(st.shape.length - c.dims.length).fill(1), ...c.dims];
      if (padded.length !== st.shape.length) continue;
      const dims: number[] = [];
      for (let a = 0, k = 0; a < r; a++) dims.push(axes.has(a) ? 1 : padded[k++]!);
      const name = names.fresh(`${op.inputs[1 - si]}_unsqueezed`);
      inits.set(name, makeTensor(c.dtype, dims, c.data));
      types.set(name, { kind: 'tensor', dtype: c.dtype, shape: dims });
      inputs[1 - si] = name;
    }
    const mid = names.fresh(`${op.outputs[0]}_unsqueezed`);
    types.set(mid, { ...yt, shape: [...xt.shape] });
    const nodes = g.nodes.flatMap((n): Node[] => {
      if (n === sq) return [];
      if (n !== op) return [n];
      return [{ ...op, inputs, outputs: [mid] }, { ...sq, inputs: [mid, sq.inputs[1]!], outputs: [...op.outputs] }];
    });
    return rebuild(g, nodes, inits, types);
  }
  return undefined;
}

function run(graph: Graph): Graph {
  let g = mapAllSubgraphs(graph, run);
  // each step moves one Squeeze one op down; a chain of n elementwise ops takes n steps
  for (let k = 0; k < 1000; k++) {
    const next = step(g);
    if (!next) break;
    g = next;
  }
  return g;
}

export const sinkSqueeze = definePass({
  name: 'sink-squeeze',
  summary: 'move a Squeeze below the elementwise ops after it (a conv1d as Conv2D + Squeeze keeps its bias/activation next to the conv)',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => run(graph),
});

// canonical-hard-activations: the forms exporters write MobileNetV3's h-swish and h-sigmoid in, as the ONNX ops,
// so the conv epilogue fusion takes them (a separate elementwise pass each otherwise: 10% of a conv stack here).
//
//   Div(Clip(Add(x, 3), 0, 6), 6), Mul(Clip(Add(x, 3), 0, 6), 1/6)   ->  HardSigmoid(x) {alpha=1/6, beta=0.5}
//       (a hand-written h_sigmoid: relu6(x + 3) / 6; PaddleOCR, timm-style MobileNetV3 code)
//   Mul(x, HardSigmoid(x) {alpha=1/6, beta=0.5})                       ->  HardSwish(x)
//       (torch.onnx below opset 14 writes nn.Hardswish this way; and the rewrite above makes it)
//   Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)                              ->  HardSwish(x)
//       (x * relu6(x + 3) / 6)
//
// Clip bounds are constant inputs; Add/Mul operands in either order. Not bit-exact: (x + 3) / 6 rounds twice where
// x / 6 + 0.5 rounds once, so a tolerance of a few float32 ulps, absolute near x = -3 where the value is ~0.

import type { Graph, Node } from '../ir/graph.js';
import { getNumber } from '../ir/tensor.js';
import { GraphFacts } from './graph-facts.js';
import { mapAllSubgraphs, rebuild } from './graph-util.js';
import { definePass } from './pass.js';

/** GraphFacts with the scalars these patterns compare against and the nodes a match consumes. */
class Facts extends GraphFacts {
  /** Nodes of matched patterns, read only inside them: removed with the rewrite. */
  readonly used = new Set<Node>();
  /** A one-element float value fixed at compile time. */
  fixedScalar(name: string | undefined): number | undefined {
    const t = this.fixed(name);
    if (!t || t.data.length !== 1 || !['float32', 'float64', 'float16'].includes(t.dtype)) return undefined;
    return getNumber(t, 0);
  }
  /** Mark the single-read nodes of a match as consumed (`nodes` only once the whole pattern matched). */
  take(...nodes: (Node | undefined)[]): void { for (const n of nodes) if (n) this.used.add(n); }
}

const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.abs(b);

interface Relu6 { readonly x: string; readonly nodes: readonly Node[] }

/** The x of Clip(Add(x, 3), 0, 6) made by `name` (read once at each step), with the Clip and Add. */
function relu6Plus3(name: string | undefined, f: Facts): Relu6 | undefined {
  const clip = f.only(name, 'Clip');
  if (!clip || f.fixedScalar(clip.inputs[1]) !== 0 || f.fixedScalar(clip.inputs[2]) !== 6) return undefined;
  const add = f.only(clip.inputs[0], 'Add');
  if (!add) return undefined;
  if (f.fixedScalar(add.inputs[1]) === 3) return { x: add.inputs[0]!, nodes: [clip, add] };
  if (f.fixedScalar(add.inputs[0]) === 3) return { x: add.inputs[1]!, nodes: [clip, add] };
  return undefined;
}

/** The x when `node` computes relu6(x + 3) / 6 (Div by 6, or Mul by 1/6 either side). */
function hardSigmoidOf(node: Node, f: Facts): string | undefined {
  let r: Relu6 | undefined;
  if (node.op === 'Div' && f.fixedScalar(node.inputs[1]) === 6) r = relu6Plus3(node.inputs[0], f);
  else if (node.op === 'Mul' && near(f.fixedScalar(node.inputs[1]), 1 / 6)) r = relu6Plus3(node.inputs[0], f);
  else if (node.op === 'Mul' && near(f.fixedScalar(node.inputs[0]), 1 / 6)) r = relu6Plus3(node.inputs[1], f);
  if (r) f.take(...r.nodes);
  return r?.x;
}

/** The x when `node` computes x * h_sigmoid(x), h_sigmoid the ONNX op or one rewritten to it just before
 *  (`absorbed`: that rewritten node's output, which goes). */
function hardSwishOf(node: Node, f: Facts, made: ReadonlyMap<string, string>): { x: string; absorbed?: string } | undefined {
  if (node.op === 'Div' && f.fixedScalar(node.inputs[1]) === 6) {
    // x * relu6(x + 3) / 6
    const mul = f.only(node.inputs[0], 'Mul');
    if (!mul) return undefined;
    for (const [a, b] of [[0, 1], [1, 0]] as const) {
      const r = relu6Plus3(mul.inputs[b], f);
      if (r && r.x === mul.inputs[a]) { f.take(mul, ...r.nodes); return { x: r.x }; }
    }
    return undefined;
  }
  if (node.op !== 'Mul' || node.inputs.length !== 2) return undefined;
  for (const [a, b] of [[0, 1], [1, 0]] as const) {
    const x = node.inputs[a]!, s = node.inputs[b]!;
    if (!f.singleUse(s)) continue;
    if (made.get(s) === x) return { x, absorbed: s };
    const hs = f.producer.get(s);
    if (hs?.op === 'HardSigmoid' && hs.inputs[0] === x && near(attrF(hs, 'alpha', 0.2), 1 / 6) && attrF(hs, 'beta', 0.5) === 0.5) {
      f.take(hs);
      return { x };
    }
  }
  return undefined;
}

function attrF(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a?.kind === 'float' ? a.value : a?.kind === 'int' ? a.value : dflt;
}

function run(graph: Graph): Graph {
  const g = mapAllSubgraphs(graph, run);
  const f = new Facts(g);
  // h_sigmoid nodes made here: output name -> x (a following x * h_sigmoid(x) becomes one HardSwish)
  const made = new Map<string, string>();
  const out: (Node | undefined)[] = [];
  const at = new Map<string, number>();
  let changed = g !== graph;
  for (const node of g.nodes) {
    const hsw = hardSwishOf(node, f, made);
    if (hsw !== undefined) {
      changed = true;
      if (hsw.absorbed !== undefined) out[at.get(hsw.absorbed)!] = undefined;
      out.push({ name: node.name, op: 'HardSwish', inputs: [hsw.x], outputs: [node.outputs[0]!], attrs: {} });
      continue;
    }
    const hsg = hardSigmoidOf(node, f);
    if (hsg !== undefined) {
      changed = true;
      made.set(node.outputs[0]!, hsg);
      at.set(node.outputs[0]!, out.length);
      out.push({
        name: node.name, op: 'HardSigmoid', inputs: [hsg], outputs: [node.outputs[0]!],
        attrs: { alpha: { kind: 'float', value: Math.fround(1 / 6) }, beta: { kind: 'float', value: 0.5 } },
      });
      continue;
    }
    out.push(node);
  }
  // the Add/Clip/Mul/HardSigmoid feeding a rewritten node are read by nothing now: dropped here, not left for dce,
  // so x has its true reader count when the conv epilogue fusion asks whether it can take the activation
  return changed ? rebuild(g, out.filter((n): n is Node => n !== undefined && !f.used.has(n))) : graph;
}

export const canonicalHardActivations = definePass({
  name: 'canonical-hard-activations',
  summary: 'relu6(x + 3) / 6 -> HardSigmoid, x * HardSigmoid(x) and x * relu6(x + 3) / 6 -> HardSwish (MobileNetV3 as exported)',
  requires: ['typed'],
  properties: { semantics: { kind: 'tolerance', rtol: 1e-6, atol: 1e-6 }, idempotent: true },
  run: (graph) => run(graph),
});

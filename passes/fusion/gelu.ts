// fuse-gelu: the GELU subgraphs exporters write, recognised as one standard Gelu (opset 20) node.
//   Erf form (PyTorch/BERT):  x * (0.5 * (erf(x / sqrt2) + 1)), and the orders (x * 0.5) * (...), (x * (...)) * 0.5
//   Tanh form (GPT-2):        (x * 0.5) * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//   Tanh form (tf2onnx/JAX, magika): x * (0.5 * (1 + tanh(c * (x + x * (x * (0.044715 * x))))))
// Gelu computes in double and rounds once where the chain rounded after every step: a tolerance, not exact.

import type { Node } from '../../ir/graph.js';
import { attrString } from '../../ir/graph.js';
import { definePass } from '../pass.js';
import { GraphIndex, near, otherOperand } from './match.js';
import { applyRules, type Rule } from './rewrite.js';

const SQRT2 = Math.SQRT2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** `node` multiplies its input `v` by the constant c (Mul by c, or Div by 1/c). */
function scales(ix: GraphIndex, node: Node, v: string, c: number): boolean {
  if (node.op === 'Mul') return near(ix.scalar(otherOperand(node, v) ?? ''), c);
  if (node.op === 'Div') return node.inputs[0] === v && near(ix.scalar(node.inputs[1]!), 1 / c);
  return false;
}

/** From `u` (= 1 + f(x), single-use), the closing multiplications by x and 0.5: returns the nodes and the root. */
function closeHalfX(ix: GraphIndex, u: string, x: string): Node[] | undefined {
  const m1 = ix.soleReader(u);
  if (!m1 || m1.op !== 'Mul') return undefined;
  const other = otherOperand(m1, u)!;
  // (0.5 * u) * x
  if (near(ix.scalar(other), 0.5)) {
    const m2 = ix.soleReader(m1.outputs[0]!);
    if (m2?.op === 'Mul' && otherOperand(m2, m1.outputs[0]!) === x) return [m1, m2];
    return undefined;
  }
  // (x * 0.5) * u
  const half = ix.producedBy(other, 'Mul');
  if (half && ix.singleUse(other) && otherOperand(half, x) !== undefined && near(ix.scalar(otherOperand(half, x)!), 0.5)) return [half, m1];
  // (x * u) * 0.5
  if (other === x) {
    const m2 = ix.soleReader(m1.outputs[0]!);
    if (m2?.op === 'Mul' && near(ix.scalar(otherOperand(m2, m1.outputs[0]!) ?? ''), 0.5)) return [m1, m2];
  }
  return undefined;
}

/** u = 1 + f: the Add node reading f (single-use) with a constant 1. */
function plusOne(ix: GraphIndex, f: string): Node | undefined {
  const add = ix.soleReader(f);
  return add?.op === 'Add' && near(ix.scalar(otherOperand(add, f) ?? ''), 1) ? add : undefined;
}

function gelu(group: Node[], x: string, approximate: 'none' | 'tanh'): ReturnType<Rule> {
  const root = group[group.length - 1]!;
  return {
    remove: new Set(group),
    replacement: { name: root.name, op: 'Gelu', inputs: [x], outputs: [root.outputs[0]!], attrs: { approximate: attrString(approximate) } },
  };
}

const erfGelu: Rule = (erf, { index: ix }) => {
  if (erf.op !== 'Erf') return undefined;
  const scale = ix.producedBy(erf.inputs[0]!, 'Div', 'Mul');
  if (!scale || !ix.singleUse(erf.inputs[0]!)) return undefined;
  const x = scale.op === 'Div' ? scale.inputs[0]! : [0, 1].map((i) => scale.inputs[i]!).find((v) => ix.scalar(v) === undefined);
  if (x === undefined || !scales(ix, scale, x, 1 / SQRT2)) return undefined;
  const add = plusOne(ix, erf.outputs[0]!);
  if (!add) return undefined;
  const tail = closeHalfX(ix, add.outputs[0]!, x);
  return tail && gelu([scale, erf, add, ...tail], x, 'none');
};

/** tf2onnx/JAX (magika): q = x * (x * (0.044715 * x)), each Mul single-use: the three nodes, innermost first. */
function scaledCube(ix: GraphIndex, q: string, x: string): Node[] | undefined {
  const m2 = ix.producedBy(q, 'Mul');
  const inner1 = m2 && ix.singleUse(q) ? otherOperand(m2, x) : undefined;
  const m1 = inner1 !== undefined && inner1 !== x ? ix.producedBy(inner1, 'Mul') : undefined;
  const inner0 = m1 && ix.singleUse(inner1!) ? otherOperand(m1, x) : undefined;
  const m0 = inner0 !== undefined && inner0 !== x ? ix.producedBy(inner0, 'Mul') : undefined;
  if (!m0 || !ix.singleUse(inner0!) || !near(ix.scalar(otherOperand(m0, x) ?? ''), 0.044715)) return undefined;
  return [m0!, m1!, m2!];
}

const tanhGelu: Rule = (tanh, { index: ix }) => {
  if (tanh.op !== 'Tanh' || !ix.singleUse(tanh.inputs[0]!)) return undefined;
  const s = ix.producedBy(tanh.inputs[0]!, 'Mul');
  if (!s) return undefined;
  const r = s.inputs.find((v) => ix.scalar(v) === undefined);
  if (r === undefined || !scales(ix, s, r, SQRT_2_OVER_PI) || !ix.singleUse(r)) return undefined;
  const add = ix.producedBy(r, 'Add');
  if (!add) return undefined;
  // x + 0.044715 * x^3, with x^3 as Pow(x, 3) or x * (x * x)
  for (const [x, q] of [[add.inputs[0]!, add.inputs[1]!], [add.inputs[1]!, add.inputs[0]!]] as const) {
    const alt = scaledCube(ix, q, x);
    if (alt) {
      const one = plusOne(ix, tanh.outputs[0]!);
      const tail = one && closeHalfX(ix, one.outputs[0]!, x);
      if (tail) return gelu([...alt, add, s, tanh, one, ...tail], x, 'tanh');
      continue;
    }
    const cube = ix.producedBy(q, 'Mul');
    if (!cube || !ix.singleUse(q)) continue;
    const p = cube.inputs.find((v) => ix.scalar(v) === undefined);
    if (p === undefined || !near(ix.scalar(otherOperand(cube, p) ?? ''), 0.044715) || !ix.singleUse(p)) continue;
    const pow = ix.producedBy(p, 'Pow');
    const inner: Node[] = [];
    if (pow && pow.inputs[0] === x && ix.scalar(pow.inputs[1]!) === 3) inner.push(pow);
    else {
      const m = ix.producedBy(p, 'Mul');
      const sq = m && ix.producedBy(otherOperand(m, x) ?? '', 'Mul');
      if (!m || !sq || sq.inputs[0] !== x || sq.inputs[1] !== x || !ix.singleUse(sq.outputs[0]!)) continue;
      inner.push(sq, m);
    }
    const one = plusOne(ix, tanh.outputs[0]!);
    const tail = one && closeHalfX(ix, one.outputs[0]!, x);
    if (tail) return gelu([...inner, cube, add, s, tanh, one, ...tail], x, 'tanh');
  }
  return undefined;
};

export const fuseGelu = definePass({
  name: 'fuse-gelu',
  produces: ['Gelu'],
  summary: 'recognise the Erf and Tanh GELU subgraphs exporters write as one standard Gelu node',
  requires: ['typed'],
  // One rounding instead of five to eight: a few float32 ulps of the result.
  properties: { semantics: { kind: 'tolerance', rtol: 1e-5, atol: 1e-6 }, idempotent: true },
  run: (graph) => applyRules(graph, [erfGelu, tanhGelu]),
});

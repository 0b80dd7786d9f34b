// fuse-dequant-matmul: DequantizeLinear of a constant integer weight feeding MatMul (or a plain Gemm) becomes one
// onnxc.DequantMatMul, so the weight stays integer through lowering (constant folding would otherwise widen it to
// float32) and a backend's kernel dequantises it on the fly. A following Add of a constant [N] bias joins it.
// Taken: symmetric weights (no zero point, or an all-zero one), per tensor, per output column, or in blocks along
// K; Gemm only with alpha = beta = 1 and no transA (transB is undone by transposing the integer weight once). A bias
// of zeros joins but is dropped, so the artifact stores nothing for it.

import type { Graph, Node } from '../../ir/graph.js';
import { attrInt } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { plainAttrs, withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { allNames, NameSource, namesRead } from '../graph-util.js';
import { definePass, EXACT } from '../pass.js';

const num = (n: Node, k: string, d: number): number => {
  const a = n.attrs[k];
  return a?.kind === 'int' || a?.kind === 'float' ? a.value : d;
};

/** The weight as DequantMatMul takes it: q [K, N], scale [N] or [ceil(K/bs), N], block size. */
interface Weight { readonly q: Tensor; readonly scale: Tensor; readonly blockSize: number }

function transpose2(t: Tensor): Tensor {
  const [R, C] = t.dims as [number, number], out = makeTensor(t.dtype, [C, R]);
  const src = t.data as ArrayLike<number>, dst = out.data as unknown as number[];
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) dst[c * R + r] = src[r * C + c]!;
  return out;
}

/** DQ's weight in [K, N] form when `transposed` says B is [N, K]; undefined for forms the op does not take. */
function weightOf(g: Graph, dq: Node, transposed: boolean, producer: ReadonlyMap<string, Node>): Weight | undefined {
  const q = g.initializers.get(dq.inputs[0]!), s = constScale(g, dq.inputs[1]!, producer), zp = dq.inputs[2] ? g.initializers.get(dq.inputs[2]) : undefined;
  if (!q || !s || (q.dtype !== 'int8' && q.dtype !== 'uint8' && q.dtype !== 'int4' && q.dtype !== 'int2') || s.dtype !== 'float32' || q.dims.length !== 2) return undefined;
  if (dq.inputs[2] && (!zp || Array.from(zp.data as ArrayLike<number>).some((v) => v !== 0))) return undefined;
  if (q.dtype === 'uint8') return undefined; // unsigned without a zero point is [0, 255]: no symmetric form
  if (num(dq, 'output_dtype', 0) !== 0) return undefined;
  const rank = 2, axis = (num(dq, 'axis', 1) + rank) % rank, bs = num(dq, 'block_size', 0);
  // in the [K, N] form: channel axis 1, block axis 0
  const chan = transposed ? 0 : 1, red = transposed ? 1 : 0;
  const qKN = transposed ? transpose2(q) : q;
  const [K, N] = qKN.dims as [number, number];
  if (s.data.length === 1 && bs === 0) return { q: qKN, scale: makeTensor('float32', [N], new Float32Array(N).fill(s.data[0] as number)), blockSize: 0 };
  if (bs === 0 && axis === chan && s.data.length === N) return { q: qKN, scale: makeTensor('float32', [N], Float32Array.from(s.data as Float32Array)), blockSize: 0 };
  if (bs > 0 && axis === red && s.dims.length === 2) {
    const sKN = transposed ? transpose2(s) : s;
    if (sKN.dims[0] === Math.ceil(K / bs) && sKN.dims[1] === N) return { q: qKN, scale: sKN, blockSize: bs };
  }
  return undefined;
}

/** DQ's scale: an initializer, or a Cast to float32 of a float16 one (float16-stored scales, passes/quant/f16-store.ts),
 *  widened here exactly as folding the Cast would. */
function constScale(g: Graph, name: string, producer: ReadonlyMap<string, Node>): Tensor | undefined {
  const t = g.initializers.get(name);
  if (t) return t;
  const c = producer.get(name), src = c?.op === 'Cast' ? g.initializers.get(c.inputs[0]!) : undefined;
  if (!src || src.dtype !== 'float16' || num(c!, 'to', 0) !== 1) return undefined;
  return makeTensor('float32', src.dims, Float32Array.from(src.data as Float32Array));
}

/** Every element 0 (or -0). */
const isZeros = (t: Tensor | undefined): boolean => t !== undefined && t.dtype === 'float32' && (t.data as Float32Array).every((v) => v === 0);

/** A node's output 0 computed from constant inputs with its reference run. */
function evalNode(n: Node, g: Graph): Tensor | undefined {
  const def = getOp(n.op)!;
  const out = def.run({
    node: n, attrs: plainAttrs(def, { ...n, attrs: withDefaults(def, n.attrs) }), inputs: n.inputs.map((v) => (v ? g.initializers.get(v) : undefined)), numOutputs: 1,
    outputTypes: [g.types.get(n.outputs[0]!)], runSubgraph: () => { throw new Error('no subgraphs'); },
  })[0];
  return out && !('kind' in out) ? out : undefined;
}

export function fuseDequantMatmul(graph: Graph, source?: string): Graph {
  const producer = new Map<string, Node>(), readers = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const v of namesRead(n)) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  for (const o of graph.outputs) readers.set(o, (readers.get(o) ?? 0) + 1);
  const names = new NameSource(allNames(graph));
  const inits = new Map(graph.initializers);
  const replace = new Map<Node, Node | null>();
  for (const n of graph.nodes) {
    const gemm = n.op === 'Gemm';
    if (n.op !== 'MatMul' && !(gemm && num(n, 'transA', 0) === 0 && num(n, 'alpha', 1) === 1 && num(n, 'beta', 1) === 1)) continue;
    const dq = producer.get(n.inputs[1] ?? '');
    if (!dq || dq.op !== 'DequantizeLinear' || readers.get(dq.outputs[0]!) !== 1) continue;
    const w = weightOf(graph, dq, gemm && num(n, 'transB', 0) !== 0, producer);
    if (!w) continue;
    const N = w.q.dims[1]!;
    let bias = gemm ? n.inputs[2] || undefined : undefined;
    let bt = bias ? graph.initializers.get(bias) : undefined;
    // a QDQ model's bias is DequantizeLinear of an int32 constant: evaluate it (exactly what folding would do)
    const bdq = bias && !bt ? producer.get(bias) : undefined;
    if (bdq && bdq.op === 'DequantizeLinear' && readers.get(bias!) === 1 && bdq.inputs.every((v) => !v || graph.initializers.has(v))) {
      bt = evalNode(bdq, graph);
    }
    const biasDq = bt && bdq ? bdq : undefined;
    if (bias && !(bt && bt.dtype === 'float32' && bt.data.length === N && bt.dims.at(-1) === N)) continue;
    if (biasDq) { const b1 = names.fresh(`${bias}_folded`); inits.set(b1, bt!); bias = b1; replace.set(biasDq, null); }
    let out = n.outputs[0]!;
    // a MatMul's one reader adding a constant [N] bias joins the op
    const add = !gemm ? graph.nodes.find((m) => m.op === 'Add' && m.inputs.includes(out)) : undefined;
    const other = add?.inputs.find((v) => v !== out);
    const ot = other ? graph.initializers.get(other) : undefined;
    if (add && readers.get(out) === 1 && !graph.outputs.includes(out) && ot && ot.dtype === 'float32' && ot.dims.length === 1 && ot.dims[0] === N) {
      bias = other;
      out = add.outputs[0]!;
      replace.set(add, null);
    }
    // an all-zero bias (a random-initialised model's, often one initializer shared by every layer) is absorbed but not
    // kept: the kernel would otherwise pack and store a copy per layer to add nothing (x + 0 is x; only a -0 output
    // would read +0, which compares equal)
    if (bias && isZeros(inits.get(bias))) bias = undefined;
    const q = names.fresh(`${dq.inputs[0]}_kn`), s = names.fresh(`${dq.inputs[1]}_kn`);
    inits.set(q, w.q);
    inits.set(s, w.scale);
    const biasT = bias ? inits.get(bias) : undefined;
    if (bias && biasT && biasT.dims.length !== 1) { const b1 = names.fresh(`${bias}_n`); inits.set(b1, makeTensor('float32', [N], Float32Array.from(biasT.data as Float32Array))); bias = b1; }
    replace.set(dq, null);
    replace.set(n, {
      name: n.name, op: 'onnxc.DequantMatMul', inputs: [n.inputs[0]!, q, s, ...(bias ? [bias] : [])], outputs: [out],
      attrs: withDefaults(getOp('onnxc.DequantMatMul')!, { block_size: attrInt(w.blockSize) }),
    });
  }
  if (replace.size === 0) return graph;
  const nodes = graph.nodes.flatMap((n) => { const r = replace.get(n); return r === undefined ? [n] : r === null ? [] : [r]; });
  const read = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of namesRead(n)) read.add(v);
  for (const k of [...inits.keys()]) if (!read.has(k) && !graph.inputs.includes(k)) inits.delete(k);
  return inferGraph({ ...graph, nodes, initializers: inits }, { source });
}

export const fuseDequantMatmulPass = definePass({
  name: 'fuse-dequant-matmul',
  summary: 'DequantizeLinear of a constant integer weight -> MatMul/Gemm (+ bias) as onnxc.DequantMatMul (weights stay integer)',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  produces: ['onnxc.DequantMatMul'],
  run: (graph, ctx) => fuseDequantMatmul(graph, ctx.source),
});

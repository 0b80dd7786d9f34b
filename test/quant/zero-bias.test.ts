// fuse-dequant-matmul with a bias of zeros (a random-initialised model's: bert-tiny shares one zero vector between
// all its layers): the Add joins onnxc.DequantMatMul but the zeros are not kept, so the wasm kernel packs and stores no
// bias for the layer; a bias with any non-zero element is kept. Before/after IR as in the golden files, the same values
// as the graph before the pass, and the artifact's weights region.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { parseGraph, printGraph } from '../../ir/text/index.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';
import { getPass } from '../../passes/index.js';
import { randTensor } from '../wasm/helpers.js';

const pass = getPass('fuse-dequant-matmul')!;
const fuse = (g: Graph): Graph => {
  const out = pass.run(g, defaultContext({}));
  verifyAfter(pass, g, out);
  return out;
};
const parse = (text: string): Graph => inferGraph(parseGraph(text));

/** A [1,K] x [K,N] int8 layer, per-column scales, then `+ bias` with the given values. */
const layer = (K: number, N: number, bias: readonly number[]): Graph => parse(`graph g (x: float32[1,${K}]) -> (y: float32[1,${N}]) {
  const q: int8[${K},${N}] = [${Array.from({ length: K * N }, (_, i) => ((i * 7) % 15) - 7).join(', ')}]
  const s: float32[${N}] = [${Array.from({ length: N }, (_, i) => 0.125 * (i + 1)).join(', ')}]
  const b: float32[${N}] = [${bias.join(', ')}]
  w = DequantizeLinear(q, s) @dq {axis=1}
  m = MatMul(x, w) @mm
  y = Add(m, b) @add
}`);

describe('fuse-dequant-matmul: a bias of zeros', () => {
  it('MatMul -> Add of zeros (and -0): the Add joins, the zeros are dropped', () => {
    const out = fuse(layer(2, 2, [0, -0]));
    expect(printGraph(out).trim()).toBe(`graph g (x: float32[1,2]) -> (y: float32[1,2]) {
  const q_kn: int8[2,2] = [-7, 0, 7, -1]
  const s_kn: float32[2] = [0.125, 0.25]
  y: float32[1,2] = onnxc.DequantMatMul(x, q_kn, s_kn) @mm {activation="", activation_params=floats[], block_size=0}
}`);
  });

  it('Gemm whose C is zeros: no bias input', () => {
    const out = fuse(parse(`graph g (x: float32[1,3]) -> (y: float32[1,2]) {
  const q: int8[2,3] = [1, 2, 3, 4, 5, 6]
  const s: float32[2] = [0.5, 0.25]
  const c: float32[2] = [0, 0]
  w = DequantizeLinear(q, s) @dq {axis=0}
  y = Gemm(x, w, c) @gemm {transB=1}
}`));
    expect(out.nodes.map((n) => `${n.op}(${n.inputs.join(', ')})`)).toEqual(['onnxc.DequantMatMul(x, q_kn, s_kn)']);
  });

  it('must keep: a bias with one non-zero element', () => {
    const out = fuse(layer(2, 3, [0, 0, 2 ** -20]));
    expect(out.nodes).toHaveLength(1);
    expect(out.nodes[0]!.inputs).toEqual(['x', 'q_kn', 's_kn', 'b']);
    expect(Array.from(out.initializers.get('b')!.data as Float32Array)).toEqual([0, 0, 2 ** -20]);
  });

  it('computes what DequantizeLinear -> MatMul -> Add of zeros did', () => {
    const g = layer(16, 9, new Array(9).fill(0)), out = fuse(g);
    for (let seed = 1; seed <= 5; seed++) {
      const x = randTensor([1, 16], seed);
      const want = (runGraph(g, [x])[0] as Tensor).data as Float32Array, got = (runGraph(out, [x])[0] as Tensor).data as Float32Array;
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[i]!))));
    }
  });

  it('the artifact stores no bias bytes for it: as small as the same layer without the Add', () => {
    const noAdd = parse(`graph g (x: float32[1,16]) -> (m: float32[1,128]) {
  const q: int8[16,128] = [${Array.from({ length: 16 * 128 }, (_, i) => ((i * 7) % 15) - 7).join(', ')}]
  const s: float32[128] = [${Array.from({ length: 128 }, (_, i) => 0.125 * (i + 1)).join(', ')}]
  w = DequantizeLinear(q, s) @dq {axis=1}
  m = MatMul(x, w) @mm
}`);
    const bytes = (g: Graph): number => compileWasm(fuse(g), { embedLimit: 0 }).manifest.weights.bytes;
    const zeros = bytes(layer(16, 128, new Array(128).fill(0))), ones = bytes(layer(16, 128, new Array(128).fill(1)));
    expect(zeros).toBe(bytes(noAdd));
    expect(ones).toBeGreaterThan(zeros);
  });
});

// Sequence and normalisation kernels on WebGPU against the reference interpreter, through Dawn inside error scopes:
// Attention (GQA, masks, causal, softcap, KV cache, qk modes, a fully masked row), LinearAttention, CausalConvWithState,
// RNN/GRU/LSTM (directions, short sequences, layouts, peepholes, clip), RotaryEmbedding, the row normalisations,
// LRN, SwiGLU, BatchNormalization in training mode, and Scan unrolled by its decomposition.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { decomposeGraph } from '../../passes/decompose.js';
import { defaultContext } from '../../passes/pass.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const scaled = (dims: number[], seed: number, k: number, shift = 0): Tensor<'float32'> => { const t = randTensor(dims, seed); return { ...t, data: t.data.map((v) => v * k + shift) }; };
const i64 = (dims: number[], xs: number[]): Tensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(xs.map(BigInt)) });
const boolT = (dims: number[], f: (i: number) => boolean): Tensor => ({ dtype: 'bool', dims, data: Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (f(i) ? 1 : 0)) });

describe.skipIf(!run)(`webgpu sequence and normalisation kernels${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('Attention 4-D GQA: float mask broadcast, causal, softcap, present K/V and each qk_matmul_output mode', async () => {
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', [2, 4, 3, 8]), k = b.input('k', 'float32', [2, 2, 5, 8]), v = b.input('v', 'float32', [2, 2, 5, 6]);
    const m = b.input('m', 'float32', [3, 5]);
    const outs: string[] = [];
    for (const mode of [0, 1, 2, 3]) outs.push(...b.node('Attention', [q, k, v, m], { is_causal: 1, softcap: 2.5, qk_matmul_output_mode: mode }, 4));
    b.output(...outs);
    expect(await worstError(b.build(), [randTensor([2, 4, 3, 8], 1), randTensor([2, 2, 5, 8], 2), randTensor([2, 2, 5, 6], 3), randTensor([3, 5], 4)])).toBeLessThan(1e-5);
  }, 300_000);

  it('Attention 3-D with heads attributes, bool mask (one row fully masked: zeros), KV cache and scale', async () => {
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', [1, 3, 8]), k = b.input('k', 'float32', [1, 2, 8]), v = b.input('v', 'float32', [1, 2, 4]);
    const m = b.input('m', 'bool', [3, 5]), pk = b.input('pk', 'float32', [1, 2, 3, 4]), pv = b.input('pv', 'float32', [1, 2, 3, 2]);
    b.output(...b.node('Attention', [q, k, v, m, pk, pv], { q_num_heads: 2, kv_num_heads: 2, scale: 0.3 }, 3));
    const mask = boolT([3, 5], (i) => i >= 5 && (i % 3 !== 0));
    expect(await worstError(b.build(), [randTensor([1, 3, 8], 1), randTensor([1, 2, 8], 2), randTensor([1, 2, 4], 3), mask, randTensor([1, 2, 3, 4], 5), randTensor([1, 2, 3, 2], 6)])).toBeLessThan(1e-5);
  }, 300_000);

  it('Attention with d_v past the row kernel (260: one invocation per element) (row 0 fully masked by mask and causality: zeros)', async () => {
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', [1, 2, 3, 4]), k = b.input('k', 'float32', [1, 2, 3, 4]), v = b.input('v', 'float32', [1, 2, 3, 260]);
    const m = b.input('m', 'bool', [3, 3]);
    b.output(b.op('Attention', [q, k, v, m], { is_causal: 1 }), b.op('Attention', [q, k, b.op('Slice', [v, b.weight('s0', i64([1], [0])), b.weight('s1', i64([1], [7])), b.weight('s2', i64([1], [3]))]), m]));
    const mask = boolT([3, 3], (i) => i !== 0);
    expect(await worstError(b.build(), [randTensor([1, 2, 3, 4], 1), randTensor([1, 2, 3, 4], 2), randTensor([1, 2, 3, 260], 3), mask])).toBeLessThan(1e-5);
  }, 300_000);

  it('LinearAttention: each update rule, GQA, past state; CausalConvWithState with state and SiLU', async () => {
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', [2, 3, 8]), k = b.input('k', 'float32', [2, 3, 4]), v = b.input('v', 'float32', [2, 3, 3]);
    const past = b.input('past', 'float32', [2, 1, 4, 3]), decay = b.input('decay', 'float32', [2, 3, 1]), beta = b.input('beta', 'float32', [2, 3, 1]);
    const outs: string[] = [];
    const heads = { q_num_heads: 2, kv_num_heads: 1 };
    outs.push(...b.node('LinearAttention', [q, k, v, past], { ...heads, update_rule: 'linear' }, 2));
    outs.push(...b.node('LinearAttention', [q, k, v, past, decay], { ...heads, update_rule: 'gated' }, 2));
    outs.push(...b.node('LinearAttention', [q, k, v, '', '', beta], { ...heads, update_rule: 'delta', scale: 0.5 }, 2));
    outs.push(...b.node('LinearAttention', [q, k, v, past, decay, beta], { ...heads, update_rule: 'gated_delta' }, 2));
    const x = b.input('x', 'float32', [2, 3, 7]), w = b.input('w', 'float32', [3, 1, 4]), bias = b.input('bias', 'float32', [3]), st = b.input('st', 'float32', [2, 3, 3]);
    outs.push(...b.node('CausalConvWithState', [x, w, bias, st], { activation: 'silu' }, 2), ...b.node('CausalConvWithState', [x, w], {}, 2));
    b.output(...outs);
    const inputs = [randTensor([2, 3, 8], 1), randTensor([2, 3, 4], 2), randTensor([2, 3, 3], 3), randTensor([2, 1, 4, 3], 4), scaled([2, 3, 1], 5, 0.2, -0.5), scaled([2, 3, 1], 6, 0.2, 0.5),
      randTensor([2, 3, 7], 7), randTensor([3, 1, 4], 8), randTensor([3], 9), randTensor([2, 3, 3], 10)];
    expect(await worstError(b.build(), inputs)).toBeLessThan(1e-5);
  }, 300_000);

  it('RNN, GRU (both reset forms), LSTM (peepholes, clip, input_forget): bidirectional, short sequences, layout 1', async () => {
    const b = new GraphBuilder();
    const [S, N, I, H] = [4, 3, 5, 6];
    const x = b.input('x', 'float32', [S, N, I]), lens = b.input('lens', 'int32', [N]), x1 = b.input('x1', 'float32', [N, S, I]);
    const inputs: Tensor[] = [randTensor([S, N, I], 1), { dtype: 'int32', dims: [N], data: Int32Array.from([4, 2, 1]) }, randTensor([N, S, I], 2)];
    const outs: string[] = [];
    let seed = 10;
    for (const [op, G] of [['RNN', 1], ['GRU', 3], ['LSTM', 4]] as const) {
      const w = b.weight(`w${op}`, scaled([2, G * H, I], seed++, 0.5)), r = b.weight(`r${op}`, scaled([2, G * H, H], seed++, 0.5)), bb = b.weight(`b${op}`, scaled([2, 2 * G * H], seed++, 0.5));
      const h0 = b.weight(`h${op}`, randTensor([2, N, H], seed++));
      const extra = op === 'LSTM' ? [b.weight('c0', randTensor([2, N, H], seed++)), b.weight('p', scaled([2, 3 * H], seed++, 0.5))] : [];
      const attrs = { hidden_size: H, direction: 'bidirectional', ...(op === 'LSTM' ? { clip: 1.5 } : {}), ...(op === 'GRU' ? { linear_before_reset: 1 } : {}) };
      outs.push(...b.node(op, [x, w, r, bb, lens, h0, ...extra], attrs, op === 'LSTM' ? 3 : 2));
      const w1 = b.weight(`w1${op}`, scaled([1, G * H, I], seed++, 0.5)), r1 = b.weight(`r1${op}`, scaled([1, G * H, H], seed++, 0.5));
      outs.push(...b.node(op, [x1, w1, r1], { hidden_size: H, layout: 1, direction: 'reverse', ...(op === 'LSTM' ? { input_forget: 1 } : {}) }, 2));
    }
    b.output(...outs);
    expect(await worstError(b.build(), inputs)).toBeLessThan(1e-5);
  }, 300_000);

  it('RotaryEmbedding: 4-D and 3-D, interleaved and half split, partial rotary dim', async () => {
    const b = new GraphBuilder();
    const x4 = b.input('x4', 'float32', [2, 4, 3, 8]), x3 = b.input('x3', 'float32', [2, 3, 16]);
    const c = b.input('c', 'float32', [2, 3, 4]), s = b.input('s', 'float32', [2, 3, 4]), c2 = b.input('c2', 'float32', [2, 3, 2]), s2 = b.input('s2', 'float32', [2, 3, 2]);
    b.output(b.op('RotaryEmbedding', [x4, c, s]), b.op('RotaryEmbedding', [x4, c, s], { interleaved: 1 }), b.op('RotaryEmbedding', [x3, c2, s2], { num_heads: 2, rotary_embedding_dim: 4 }));
    expect(await worstError(b.build(), [randTensor([2, 4, 3, 8], 1), randTensor([2, 3, 16], 2), randTensor([2, 3, 4], 3), randTensor([2, 3, 4], 4), randTensor([2, 3, 2], 5), randTensor([2, 3, 2], 6)])).toBeLessThan(1e-6);
  }, 300_000);

  it('InstanceNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization (a zero row), Hardmax (ties), LRN, SwiGLU', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 4, 5]), z = b.input('z', 'float32', [3, 4]), big = b.input('big', 'float32', [1023]);
    const g = b.weight('g', randTensor([4], 2)), be = b.weight('be', randTensor([4], 3));
    const x4 = b.op('Reshape', [x, b.weight('sh', { dtype: 'int64', dims: [4], data: BigInt64Array.from([2n, 4n, 5n, 1n]) })]);
    b.output(b.op('InstanceNormalization', [x, g, be]), b.op('GroupNormalization', [x, g, be], { num_groups: 2 }), b.op('MeanVarianceNormalization', [x4]),
      b.op('LpNormalization', [z], { p: 1, axis: 0 }), b.op('LpNormalization', [z], { p: 2, axis: -1 }), b.op('Hardmax', [z], { axis: 1 }), b.op('Hardmax', [x], { axis: 0 }),
      b.op('LRN', [x4], { size: 3, alpha: 0.01, beta: 0.6, bias: 1.5 }), b.op('SwiGLU', [big, big], { alpha: 1.7 }), b.op('SwiGLU', [x, x]));
    const zt: Tensor<'float32'> = { dtype: 'float32', dims: [3, 4], data: Float32Array.from([1, 2, 2, -1, 0, 0, 0, 0, 3, 3, 1, 3]) };
    expect(await worstError(b.build(), [randTensor([2, 4, 5], 1), zt, randTensor([1023], 4)])).toBeLessThan(1e-5);
  }, 300_000);

  it('BatchNormalization in training mode: output and running statistics', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 5]);
    const w = (n: string, s: number, k = 1, sh = 0) => b.weight(n, scaled([4], s, k, sh));
    b.output(...b.node('BatchNormalization', [x, w('s', 1), w('b', 2), w('m', 3), w('v', 4, 0.2, 1)], { training_mode: 1, momentum: 0.8 }, 3));
    expect(await worstError(b.build(), [randTensor([3, 4, 5], 1)])).toBeLessThan(1e-5);
  }, 300_000);

  it('Scan unrolled (reverse input, reverse output on axis 1): the decomposition matches the reference, and runs on WebGPU', async () => {
    const body = new GraphBuilder();
    const st = body.input('s', 'float32', [2]), xi = body.input('xi', 'float32', [2]);
    const s2 = body.op('Add', [st, xi]);
    body.output(s2, body.op('Mul', [s2, body.weight('two', { dtype: 'float32', dims: [], data: Float32Array.of(2) })]));
    const b = new GraphBuilder();
    const init = b.input('init', 'float32', [2]), xs = b.input('xs', 'float32', [4, 2]);
    b.output(...b.node('Scan', [init, xs], { body: body.subgraph(), num_scan_inputs: 1, scan_input_directions: [1], scan_output_axes: [1], scan_output_directions: [1] }, 2));
    const g = b.build();
    const unrolled = decomposeGraph(g, defaultContext({ options: new Map([['decompose', 'Scan']]) }));
    expect(unrolled.nodes.some((n) => n.op === 'Scan')).toBe(false);
    const inputs = [randTensor([2], 1), randTensor([4, 2], 2)];
    expect(runGraph(unrolled, inputs)).toEqual(runGraph(g, inputs));
    expect(await worstError(unrolled, inputs)).toBe(0);
  }, 300_000);
});

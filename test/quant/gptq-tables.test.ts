// quantize-weights/quantize-dynamic's accuracy tools: GPTQ's error-compensating rounding (no worse than round to
// nearest where the inputs are independent, clearly better on correlated ones, and used by the pass when calibration
// has the inputs' second moments), float16 storage of scales and small tables (float16 + Cast, standard ONNX, which
// onnxruntime runs and fuse-dequant-matmul still folds into onnxc.DequantMatMul), the embedding-table forms, and
// --max-drift's per-layer SQNR read through the float16 scales.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { calibrate } from '../../compiler/calibrate.js';
import { quantizeModel } from '../../compiler/calibrate-quantize.js';
import { compileWasmGraph } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { runOrt } from '../../compiler/ort.js';
import type { Graph, Model } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { defaultContext } from '../../passes/pass.js';
import { getPass } from '../../passes/index.js';
import { f16Exact, f16Scale, storeFloat } from '../../passes/quant/f16-store.js';
import { gptqRound, outputError as layerOutputError, refineGptq, refitScales } from '../../passes/quant/gptq.js';
import { coarsenLayers } from '../../passes/quant/quantize-weights.js';
import { quantisableWeights } from '../../passes/quant/quant-graph.js';
import { groupScale, quantizeWeight } from '../../passes/quant/weight-quant.js';
import { randTensor } from '../wasm/helpers.js';

/** Rows of X [R, K] with strongly correlated columns: a few latent factors plus a little noise. */
function correlated(R: number, K: number, seed: number): Float64Array {
  const z = randTensor([R, 4], seed).data, mix = randTensor([4, K], seed + 1).data, e = randTensor([R, K], seed + 2).data;
  const x = new Float64Array(R * K);
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
    let v = 0.05 * e[r * K + k]!;
    for (let f = 0; f < 4; f++) v += z[r * 4 + f]! * mix[f * K + k]!;
    x[r * K + k] = v;
  }
  return x;
}

function gramOf(x: Float64Array, R: number, K: number): Float64Array {
  const g = new Float64Array(K * K);
  for (let r = 0; r < R; r++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) g[i * K + j]! += x[r * K + i]! * x[r * K + j]!;
  return g;
}

/** ||X (W - Wq)||² for W [K, N] and integers q with per-column scales. */
function outputError(x: Float64Array, R: number, w: Float32Array, q: ArrayLike<number>, s: Float32Array, K: number, N: number): number {
  let e = 0;
  for (let r = 0; r < R; r++) for (let n = 0; n < N; n++) {
    let d = 0;
    for (let k = 0; k < K; k++) d += x[r * K + k]! * (w[k * N + n]! - q[k * N + n]! * s[n]!);
    e += d * d;
  }
  return e;
}

describe('GPTQ rounding', () => {
  const K = 32, N = 8, R = 256;
  const w = randTensor([K, N], 7);
  for (const bits of [4, 8] as const) {
    const qw = quantizeWeight(w, { bits, channelAxis: 1, blockSize: 0, blockAxis: 0 });
    const s = qw.scale.data as Float32Array, qmax = bits === 4 ? 7 : 127;
    const grid = { scale: (_k: number, n: number) => s[n]!, zero: () => 0, qmin: -qmax - 1, qmax };
    const view = { K, N, at: (k: number, n: number) => k * N + n };
    it(`${bits} bits: a diagonal Hessian (independent inputs) gives round to nearest exactly`, () => {
      const diag = new Float64Array(K * K);
      for (let k = 0; k < K; k++) diag[k * K + k] = 1 + k;
      expect(Array.from(gptqRound(w.data, view, diag, grid)!)).toEqual(Array.from(qw.q.data));
    });
    it(`${bits} bits: on correlated inputs the output error is well under round to nearest's`, () => {
      for (const seed of [1, 2, 3]) {
        const x = correlated(R, K, seed * 10);
        const q = gptqRound(w.data, view, gramOf(x, R, K), grid)!;
        const rtn = outputError(x, R, w.data, qw.q.data, s, K, N), ours = outputError(x, R, w.data, q, s, K, N);
        expect(ours).toBeLessThan(0.7 * rtn);
        // every integer stays on the grid
        for (const v of q) { expect(v).toBeGreaterThanOrEqual(-qmax - 1); expect(v).toBeLessThanOrEqual(qmax); }
      }
    });
  }
  it('gives up (undefined) on an all-zero Hessian', () => {
    expect(gptqRound(w.data, { K, N, at: (k, n) => k * N + n }, new Float64Array(K * K), { scale: () => 1, zero: () => 0, qmin: -8, qmax: 7 })).toBeUndefined();
  });
});

/** ||X (W - dequantised)||² for W [K, N] and a QuantizedWeight in blocks along K (or per column). */
function blockOutputError(x: Float64Array, R: number, w: Float32Array, q: ArrayLike<number>, s: ArrayLike<number>, K: number, N: number, bs: number): number {
  let e = 0;
  for (let r = 0; r < R; r++) for (let n = 0; n < N; n++) {
    let d = 0;
    for (let k = 0; k < K; k++) d += x[r * K + k]! * (w[k * N + n]! - q[k * N + n]! * s[bs ? Math.floor(k / bs) * N + n : n]!);
    e += d * d;
  }
  return e;
}

describe('scale re-fit after GPTQ', () => {
  const K = 32, N = 8, R = 256;
  const w = randTensor([K, N], 11);
  for (const bs of [0, 16]) {
    it(`blocks of ${bs || 'a whole column'}: the least-squares scales never raise the output error, and stay positive`, () => {
      for (const seed of [1, 2, 3]) {
        const x = correlated(R, K, seed * 7), gram = gramOf(x, R, K);
        const qw = refineGptq(w, quantizeWeight(w, { bits: 4, channelAxis: 1, blockSize: bs, blockAxis: 0 }), 1, gram);
        const re = refitScales(w, qw, 1, gram, false);
        expect(re.scale.dims).toEqual(qw.scale.dims);
        expect(Array.from(re.q.data)).toEqual(Array.from(qw.q.data));
        for (const v of re.scale.data) expect(v).toBeGreaterThan(0);
        const before = blockOutputError(x, R, w.data, qw.q.data, qw.scale.data as Float32Array, K, N, bs);
        const after = blockOutputError(x, R, w.data, re.q.data, re.scale.data as Float32Array, K, N, bs);
        expect(after).toBeLessThanOrEqual(before * (1 + 1e-9));
        // float16 scales when asked
        for (const v of refitScales(w, qw, 1, gram, true).scale.data) expect(f16Round(v)).toBe(v);
      }
    });
  }
  it('reads a [N, K] weight (Gemm transB, channel axis 0) as the transpose of the [K, N] one', () => {
    const x = correlated(R, K, 5), gram = gramOf(x, R, K);
    const wt = makeTensor('float32', [N, K], Float32Array.from({ length: N * K }, (_, i) => w.data[(i % K) * N + Math.floor(i / K)]!));
    const a = refitScales(w, refineGptq(w, quantizeWeight(w, { bits: 4, channelAxis: 1, blockSize: 16, blockAxis: 0 }), 1, gram), 1, gram, false);
    const b = refitScales(wt, refineGptq(wt, quantizeWeight(wt, { bits: 4, channelAxis: 0, blockSize: 16, blockAxis: 1 }), 0, gram), 0, gram, false);
    expect(b.scale.dims).toEqual([N, 2]);
    for (let n = 0; n < N; n++) for (let blk = 0; blk < 2; blk++) expect(b.scale.data[n * 2 + blk]).toBeCloseTo(a.scale.data[blk * N + n]!, 6);
  });
});

describe('output error and per-layer scale granularity', () => {
  const K = 64, N = 16, R = 256;
  it('outputError is ||X Δ||² / ||X W||² over the rows of the second moment', () => {
    const w = randTensor([K, N], 21), x = correlated(R, K, 3), gram = gramOf(x, R, K);
    const qw = quantizeWeight(w, { bits: 4, channelAxis: 1, blockSize: 16, blockAxis: 0 });
    const zero = new Int8Array(K * N);
    const sig = blockOutputError(x, R, w.data, zero, qw.scale.data as Float32Array, K, N, 16);
    const want = blockOutputError(x, R, w.data, qw.q.data, qw.scale.data as Float32Array, K, N, 16) / sig;
    expect(layerOutputError(w, qw, 1, gram)).toBeCloseTo(want, 10);
  });
  it('coarsenLayers: a layer far under the worst error goes per channel, the worst keeps its blocks', () => {
    const b = new GraphBuilder('two');
    const x1 = b.input('x1', 'float32', [R, K]), x2 = b.input('x2', 'float32', [R, K]);
    b.output(b.op('MatMul', [x1, b.weight('wa', randTensor([K, N], 31))]));
    b.output(b.op('MatMul', [x2, b.weight('wb', randTensor([K, N], 32))]));
    const g = b.model({ source: 'two' }).graph;
    // wa's inputs are strongly correlated (GPTQ cancels most of its error), wb's independent (round to nearest)
    const diag = new Float64Array(K * K);
    for (let k = 0; k < K; k++) diag[k * K + k] = 1;
    const grams = new Map([['wa', gramOf(correlated(R, K, 4), R, K)], ['wb', diag]]);
    const linear = (t: Tensor, u: { channelAxis: number; blockAxis: number }, bs: number, gram: Float64Array) =>
      refineGptq(t, quantizeWeight(t, { bits: 4, channelAxis: u.channelAxis, blockSize: bs, blockAxis: u.blockAxis }), u.channelAxis, gram);
    const uses = quantisableWeights(g, () => true);
    const out = coarsenLayers(g, uses, grams, 16, linear);
    expect(out.get('wa')!.blockSize).toBe(0);
    expect(out.get('wb')!.blockSize).toBe(16);
    const errB = layerOutputError(g.initializers.get('wb')!, out.get('wb')!, 1, grams.get('wb')!);
    expect(layerOutputError(g.initializers.get('wa')!, out.get('wa')!, 1, grams.get('wa')!)).toBeLessThanOrEqual(errB / 2);
  });
});

describe('signed scales (4 bits)', () => {
  it('a group reaching further on one side takes a negative scale: its largest weight lands on -8', () => {
    const vals = [8, -3, 2.5, 1, -0.5, 6.9, 0.2, -7];
    const s = groupScale(vals, 4, false, true);
    expect(s).toBeLessThan(0);
    expect(Math.round(8 / s)).toBe(-8);
    const err = (sc: number): number => vals.reduce((e, v) => e + (Math.min(7, Math.max(-8, Math.round(v / sc))) * sc - v) ** 2, 0);
    expect(err(s)).toBeLessThan(err(groupScale(vals, 4, false)));
  });
  it('never raises a block\'s squared error, and some blocks of a random weight take it', () => {
    const w = randTensor([64, 16], 41);
    const sq = (signed: boolean): number => {
      const qw = quantizeWeight(w, { bits: 4, channelAxis: 1, blockSize: 16, blockAxis: 0, signedScales: signed });
      let e = 0;
      w.data.forEach((v, i) => { e += (qw.q.data[i]! * qw.scale.data[Math.floor(Math.floor(i / 16) / 16) * 16 + (i % 16)]! - v) ** 2; });
      return e;
    };
    expect(sq(true)).toBeLessThanOrEqual(sq(false));
    expect(Array.from(quantizeWeight(w, { bits: 4, channelAxis: 1, blockSize: 16, blockAxis: 0, signedScales: true }).scale.data).some((v) => v < 0)).toBe(true);
  });
});

describe('float16 storage', () => {
  it('rounds scales to normal float16 values only, and stores exact tensors as float16 + Cast', () => {
    expect(f16Scale(0.1)).toBe(f16Round(0.1));
    expect(f16Scale(1e-6)).toBe(1e-6); // a float16 subnormal: kept float32
    expect(f16Scale(1e6)).toBe(1e6); // beyond float16
    const names = new Set<string>(), fresh = (h: string): string => { let n = h, i = 0; while (names.has(n)) n = `${h}_${++i}`; names.add(n); return n; };
    const exact = makeTensor('float32', [3], Float32Array.of(0.5, -2, 0.099975586));
    expect(f16Exact(exact.data)).toBe(true);
    const st = storeFloat('s', exact, fresh, fresh);
    expect(st.inits[0]![1].dtype).toBe('float16');
    expect(st.nodes.map((n) => n.op)).toEqual(['Cast']);
    const inexact = makeTensor('float32', [2], Float32Array.of(0.1, 1));
    const kept = storeFloat('t', inexact, fresh, fresh);
    expect(kept.inits[0]![1].dtype).toBe('float32');
    expect(kept.nodes).toHaveLength(0);
    expect(kept.out).toBe(kept.inits[0]![0]);
    // rounding on request, but never into float16's subnormals or past its range
    expect(storeFloat('u', inexact, fresh, fresh, true).inits[0]![1].dtype).toBe('float16');
    expect(storeFloat('v', makeTensor('float32', [2], Float32Array.of(3e-7, 1e-6)), fresh, fresh, true).inits[0]![1].dtype).toBe('float32');
    expect(storeFloat('x', makeTensor('float32', [2], Float32Array.of(1, 1e5)), fresh, fresh, true).inits[0]![1].dtype).toBe('float32');
  });
});

/** A tiny BERT-like embedding: word table (V rows), position table (P rows, every token reads one), two MatMuls. */
function embedder(V: number, P: number, D: number): Model {
  const b = new GraphBuilder('emb');
  const ids = b.input('ids', 'int64', [1, 8]), pos = b.input('pos', 'int64', [1, 8]);
  const e = b.op('Add', [b.op('Gather', [b.weight('word', randTensor([V, D], 3)), ids], { axis: 0 }), b.op('Gather', [b.weight('position', randTensor([P, D], 4)), pos], { axis: 0 })]);
  const h = b.op('Relu', [b.op('MatMul', [e, b.weight('w1', randTensor([D, 4 * D], 5))])]);
  b.output(b.op('MatMul', [h, b.weight('w2', randTensor([4 * D, D], 6))]));
  return b.model({ source: 'emb' });
}

const samples = [1, 2, 3, 4].map((s) => [
  makeTensor('int64', [1, 8], BigInt64Array.from(randTensor([8], s).data, (v) => BigInt(Math.floor((v + 2) * 15)))),
  makeTensor('int64', [1, 8], BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i))),
]);

describe('embedding tables and float16 scales in the passes', () => {
  const model = embedder(60, 8, 32);
  const stats = calibrate(model, samples, { backend: 'reference', secondMoment: new Set(model.graph.nodes.filter((n) => n.op === 'MatMul').map((n) => n.inputs[0]!)) }).stats;
  const run = (pass: string, opts: Record<string, string>): Graph =>
    getPass(pass)!.run(model.graph, defaultContext({ options: new Map(Object.entries(opts)), calibration: stats }));

  it('a small table (<= 1/16 of the weights) becomes float16 + Cast; the word table int8 rows, int4 blocks on request', () => {
    for (const [pass, opts] of [['quantize-dynamic', {}], ['quantize-weights', {}], ['quantize-weights', { 'quant-bits': '4' }]] as const) {
      const q = run(pass, opts);
      expect(q.initializers.get('position_f16')?.dtype, pass).toBe('float16');
      expect(q.nodes.some((n) => n.op === 'Cast' && n.inputs[0] === 'position_f16'), pass).toBe(true);
      expect(q.initializers.has('position'), pass).toBe(false);
      // word: 60 x 32 of 10112 weights (19%): int8 rows in every mode (<= 1/4 of the weights in 4-bit mode)
      expect(q.initializers.get('word_q')?.dtype, pass).toBe('int8');
    }
    // the share is of every float weight: keeping the MatMuls float does not turn the word table into int4
    expect(run('quantize-weights', { 'quant-bits': '4', 'quant-exclude': 'MatMul' }).initializers.get('word_q')?.dtype).toBe('int8');
    const forced = run('quantize-weights', { 'quant-bits': '4', 'quant-tables': 'int4' });
    expect(forced.initializers.get('word_q')?.dtype).toBe('int4');
    expect(forced.initializers.get('position_q')?.dtype).toBe('int4');
    expect(() => run('quantize-weights', { 'quant-tables': 'int3' })).toThrow(/quant-tables=int3/);
    // TABLE=FORM for one table, the rest by the rules (or by a form for all given with it)
    const one = run('quantize-weights', { 'quant-bits': '4', 'quant-tables': 'position=int8' });
    expect(one.initializers.get('position_q')?.dtype).toBe('int8');
    expect(one.initializers.get('word_q')?.dtype).toBe('int8');
    const mixed = run('quantize-weights', { 'quant-bits': '4', 'quant-tables': 'int4,position=float16' });
    expect(mixed.initializers.get('word_q')?.dtype).toBe('int4');
    expect(mixed.initializers.get('position_f16')?.dtype).toBe('float16');
    expect(() => run('quantize-weights', { 'quant-tables': 'position=int2' })).toThrow(/quant-tables=position=int2/);
  });

  it('MatMul scales are float16 + Cast, onnxruntime runs every mode, and the wasm artifact still keeps int4 weights', async () => {
    for (const [pass, opts] of [['quantize-dynamic', {}], ['quantize-weights', {}], ['quantize-weights', { 'quant-bits': '4' }]] as const) {
      const q = run(pass, opts);
      expect(q.initializers.get('w1_scale_f16')?.dtype, pass).toBe('float16');
      const bytes = exportModel({ ...model, graph: q });
      for (const x of samples) {
        const ours = runGraph(q, x)[0] as Tensor, want = runGraph(model.graph, x)[0] as Tensor;
        const theirs = (await runOrt(bytes, { ids: x[0]!, pos: x[1]! })).values[0]!;
        let err = 0, mag = 0, drift = 0;
        ours.data.forEach((v, i) => {
          err = Math.max(err, Math.abs(Number(v) - Number(theirs.data[i])));
          drift = Math.max(drift, Math.abs(Number(v) - Number(want.data[i])));
          mag = Math.max(mag, Math.abs(Number(want.data[i])));
        });
        expect(err, pass).toBeLessThanOrEqual(1e-5 * mag);
        expect(drift, pass).toBeLessThanOrEqual((opts['quant-bits'] === '4' ? 0.1 : 0.02) * mag);
      }
    }
    const i4 = run('quantize-weights', { 'quant-bits': '4' });
    const a = compileWasmGraph(i4, { source: 'emb-int4' }, { level: 3 }).artifact;
    expect(a.manifest.kernels?.filter(([, op]) => op === 'onnxc.DequantMatMul')).toHaveLength(2);
  });

  it('with calibration second moments the weights are rounded by GPTQ: lower output error than round to nearest', () => {
    const err = (g: Graph): number => {
      let e = 0;
      for (const x of samples) {
        const a = runGraph(model.graph, x)[0] as Tensor, b = runGraph(g, x)[0] as Tensor;
        a.data.forEach((v, i) => { e += (Number(v) - Number(b.data[i])) ** 2; });
      }
      return e;
    };
    // float16 tables isolate the MatMuls' error
    for (const bits of ['4', '8']) {
      const gptq = run('quantize-weights', { 'quant-bits': bits, 'quant-tables': 'float16' });
      const rtn = run('quantize-weights', { 'quant-bits': bits, 'quant-tables': 'float16', 'quant-gptq': '0' });
      expect(err(gptq), `${bits} bits`).toBeLessThan(err(rtn));
    }
  });
});

describe('--max-drift with float16-stored scales', () => {
  it('reads each layer\'s SQNR through the scale Cast and keeps the worst layers float until the drift fits', () => {
    const model = embedder(60, 8, 32);
    const loose = quantizeModel(model, samples, { mode: 'weights-int4' });
    expect(loose.report.worstLayers.map((l) => l.weight).sort()).toEqual(['w1', 'w2']);
    for (const l of loose.report.worstLayers) expect(l.sqnrDb).toBeGreaterThan(10);
    const worst = Math.max(...Object.values(loose.report.calibrationSet.drift));
    const tight = quantizeModel(model, samples, { mode: 'weights-int4', maxDrift: worst / 2 });
    expect(tight.report.keptFloat.length).toBeGreaterThan(0);
    expect(Math.max(...Object.values(tight.report.calibrationSet.drift))).toBeLessThan(worst);
  });
});

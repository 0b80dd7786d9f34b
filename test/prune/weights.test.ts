// prune-weights: exact sparsity and N:M patterns hold on generated layers (with and without the re-fit), kept
// weights are untouched without the re-fit, the result verifies and is idempotent, Wanda's activation norms change
// the choice where they should, the SparseGPT re-fit lowers the layer's error on its calibration data, the
// calibration second moment is X^T X, and the pruned model compiled with sparse storage computes what its graph says.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { calibrate } from '../../compiler/calibrate.js';
import { toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { prng } from '../../ir/random.js';
import { f16Form } from '../../lowering/f16-weights.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { getPass } from '../../passes/index.js';
import { runPasses, verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';
import { ValueAccumulator } from '../../passes/quant/calibration.js';
import { wandaMask } from '../../passes/prune/weights-mask.js';
import { obsPrune } from '../../passes/prune/weights-obs.js';
import { pruneWeights, pruneWeightsInputs, type PruneWeightsOptions } from '../../passes/prune/weights.js';
import { pruneModel } from '../../compiler/prune-model.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

const RUNS = Number(process.env['PASS_PROPERTY_RUNS'] ?? 25);
const SEED = 20261203;

function rand(dims: number[], seed: number): Tensor<'float32'> {
  const r = prng(seed);
  return makeTensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1));
}

/** x[M,K] -> MatMul(W1[K,N]) -> Relu -> Gemm(W2[N2,N] transB) : two prunable layers with their K along different axes. */
function layers(M: number, K: number, N: number, N2: number, seed: number): { g: Graph; samples: Tensor[][] } {
  const b = new GraphBuilder('layers');
  const x = b.input('x', 'float32', [M, K]);
  const h = b.op('Relu', [b.op('MatMul', [x, b.weight('w1', rand([K, N], seed))])]);
  b.output(b.op('Gemm', [h, b.weight('w2', rand([N2, N], seed + 1)), b.weight('b2', rand([N2], seed + 2))], { transB: 1 }));
  return { g: b.model({ source: 'layers' }).graph, samples: [0, 1, 2, 3].map((s) => [rand([M, K], seed + 10 + s)]) };
}

/** Each output row of a weight as a list of its K inputs: MatMul's B columns, Gemm transB's B rows. */
function rowsOf(t: Tensor, transB: boolean): number[][] {
  const [a, b] = t.dims as [number, number], d = t.data as Float32Array;
  return transB ? Array.from({ length: a }, (_, r) => Array.from(d.subarray(r * b, r * b + b))) : Array.from({ length: b }, (_, c) => Array.from({ length: a }, (_, k) => d[k * b + c]!));
}

/** Three tables whose lookups are added (as bert's embeddings): a word table read through an input (rows 0..3 only
 *  in the samples), a 2-row type table read by every token, a position table read through constant indices (rows
 *  0..3 of 16); then a MatMul. */
function tables3(): { g: Graph; samples: Tensor[][] } {
  const b = new GraphBuilder('tables');
  const ids = b.input('ids', 'int64', [1, 4]), types = b.input('types', 'int64', [1, 4]);
  const pos = b.weight('pos_ids', makeTensor('int64', [1, 4], BigInt64Array.from([0n, 1n, 2n, 3n])));
  const sum = b.op('Add', [b.op('Add', [b.op('Gather', [b.weight('word', rand([64, 8], 21)), ids]), b.op('Gather', [b.weight('type', rand([2, 8], 22)), types])]),
    b.op('Gather', [b.weight('pos', rand([16, 8], 23)), pos])]);
  b.output(b.op('MatMul', [sum, b.weight('w', rand([8, 4], 24))]));
  const g = b.model({ source: 'tables' }).graph;
  const r = prng(25), int = (n: number): Tensor => makeTensor('int64', [1, 4], BigInt64Array.from({ length: 4 }, () => BigInt(Math.floor(r() * n))));
  const samples = Array.from({ length: 8 }, () => [int(4), int(2)]);
  return { g, samples };
}

const config = fc.record({
  M: fc.integer({ min: 1, max: 4 }), K4: fc.integer({ min: 1, max: 6 }), N: fc.integer({ min: 4, max: 12 }), N2: fc.integer({ min: 1, max: 6 }),
  sparsity: fc.constantFrom(0.25, 0.5, 0.75), pattern: fc.constantFrom(undefined, '2:4' as const, '4:8' as const),
  reconstruct: fc.boolean(), seed: fc.integer({ min: 1, max: 1000 }),
});

describe('prune-weights properties', () => {
  it('exact sparsity per row or N:M per group; kept weights untouched without re-fit; verifies; idempotent', () => {
    const pass = getPass('prune-weights')!;
    fc.assert(fc.property(config, (c) => {
      const K = c.K4 * 8, { g, samples } = layers(c.M, K, c.N, c.N2, c.seed);
      const o: PruneWeightsOptions = { sparsity: c.sparsity, reconstruct: c.reconstruct, ...(c.pattern ? { pattern: c.pattern } : {}) };
      const stats = calibrate({ graph: g, info: {} }, samples, { backend: 'reference', secondMoment: pruneWeightsInputs(g, o) }).stats;
      const options = new Map([['prune-sparsity', String(c.sparsity)], ['prune-reconstruct', c.reconstruct ? '1' : '0'], ...(c.pattern ? [['prune-pattern', c.pattern] as [string, string]] : [])]);
      const ctx = defaultContext({ options, calibration: stats });
      const out = pass.run(g, ctx);
      verifyAfter(pass, g, out);
      expect(pass.run(out, ctx)).toBe(out);
      expect(out.nodes).toBe(g.nodes); // only initializer values change
      const [n, m] = c.pattern ? c.pattern.split(':').map(Number) as [number, number] : [0, 0];
      for (const [w, transB, k] of [['w1', false, K], ['w2', true, c.N]] as const) {
        const before = rowsOf(g.initializers.get(w)!, transB), after = rowsOf(out.initializers.get(w)!, transB);
        after.forEach((row, r) => {
          if (c.pattern) {
            if (k % m !== 0) { expect(row).toEqual(before[r]); return; } // left dense: K not a multiple of M
            for (let s = 0; s < k; s += m) expect(row.slice(s, s + m).filter((v) => v !== 0).length).toBeLessThanOrEqual(n);
          } else {
            expect(row.filter((v) => v === 0).length).toBeGreaterThanOrEqual(Math.round(c.sparsity * k));
          }
          if (!c.reconstruct) row.forEach((v, i) => { if (v !== 0) expect(v).toBe(before[r]![i]); });
        });
      }
    }), { numRuns: RUNS, seed: SEED });
  });

  it('the pruned model compiled with sparse storage computes what the pruned graph says (bit for bit with a dense compile)', () => {
    fc.assert(fc.property(config, (c) => {
      const K = c.K4 * 8, { g, samples } = layers(3, K, c.N * 4, 8, c.seed);
      const r = pruneWeights(g, { sparsity: c.sparsity, reconstruct: false, ...(c.pattern ? { pattern: c.pattern } : {}) });
      const x = samples[0]![0]!;
      const outOf = (a: ReturnType<typeof compileWasm>): Float32Array => {
        const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.manifest.weights.file ? a.weights : undefined });
        return s.runSync({ x: toTensorValue(x) })[g.outputs[0]!]!.data as Float32Array;
      };
      const sparse = compileWasm(r.graph, { embedLimit: 0 }), dense = compileWasm(r.graph, { sparseWeights: false, embedLimit: 0 });
      expect(Array.from(outOf(sparse))).toEqual(Array.from(outOf(dense)));
      const ref = (runGraph(r.graph, [x]) as Tensor[])[0]!.data as Float32Array;
      const got = outOf(sparse), mag = Math.max(...Array.from(ref, Math.abs));
      got.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, mag)));
      expect(sparse.weights.length).toBeLessThanOrEqual(dense.weights.length);
    }), { numRuns: Math.min(RUNS, 6), seed: SEED });
  });

  it('runs through the pass manager with verification on', () => {
    const { g } = layers(2, 16, 8, 4, 7);
    const ctx = defaultContext({ options: new Map([['prune-pattern', '2:4']]) });
    const { graph, events } = runPasses(g, [getPass('prune-weights')!], { ctx, verify: true });
    expect(events[0]!.changed).toBe(true);
    expect(graph.initializers.get('b2')).toBe(g.initializers.get('b2'));
  });

  it('prune-embeddings=S prunes a Gather table at its own unstructured sparsity, also under 2:4', () => {
    const b = new GraphBuilder('emb');
    const ids = b.input('ids', 'int64', [1, 4]);
    const h = b.op('Gather', [b.weight('table', rand([64, 16], 3)), ids]);
    b.output(b.op('MatMul', [h, b.weight('w', rand([16, 8], 4))]));
    const g = b.model({ source: 'emb' }).graph;
    const zeros = (gr: Graph, name: string): number => (gr.initializers.get(name)!.data as Float32Array).filter((v) => v === 0).length;
    for (const [opt, layerZeros] of [[['prune-pattern', '2:4'], 64], [['prune-sparsity', '0.75'], 96]] as const) {
      const out = getPass('prune-weights')!.run(g, defaultContext({ options: new Map([[...opt], ['prune-embeddings', '0.25']]) }));
      expect(zeros(out, 'table')).toBe(64 * 4);
      expect(zeros(out, 'w')).toBe(layerZeros);
    }
    // prune-embeddings=1: the table as the layers
    expect(zeros(getPass('prune-weights')!.run(g, defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-embeddings', '1']]) })), 'table')).toBe(512);
    // prune-embeddings=fp16: the table kept whole, every value the nearest float16 (what the compiler stores in half:
    // f16Form takes it, 4096 bytes being its minimum)
    const half = getPass('prune-weights')!.run(g, defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-embeddings', 'fp16']]) }));
    const before = g.initializers.get('table')!.data as Float32Array, after = half.initializers.get('table')!.data as Float32Array;
    expect(zeros(half, 'table')).toBe(0);
    expect(zeros(half, 'w')).toBe(64);
    after.forEach((v, i) => { expect(f16Round(v)).toBe(v); expect(Math.abs(v - before[i]!)).toBeLessThanOrEqual(Math.abs(before[i]!) * 2 ** -11); });
    expect(f16Form(new Uint8Array(after.buffer.slice(0)))).toBeDefined();
  });

  it('with calibration runs, the tables are ranked together by |W| and row reads: fewer lookups lose weights than by magnitude per row', () => {
    const { g, samples } = tables3();
    const data = { samples, run: (graph: Graph, inputs: readonly unknown[]) => runGraph(graph, inputs as Tensor[]) };
    const opts = (score: string): Map<string, string> => new Map([['prune-sparsity', '0.5'], ['prune-embeddings', '0.3'], ['prune-embeddings-score', score]]);
    const byReads = getPass('prune-weights')!.run(g, defaultContext({ options: opts('reads'), calibrationData: data }));
    const byMagnitude = getPass('prune-weights')!.run(g, defaultContext({ options: opts('magnitude'), calibrationData: data }));
    const tables = ['word', 'type', 'pos'], data32 = (gr: Graph, n: string): Float32Array => gr.initializers.get(n)!.data as Float32Array;
    const zeros = (gr: Graph, n: string): number => data32(gr, n).filter((v) => v === 0).length;
    // round(0.3 * (512 + 16 + 128)) in all by reads; by magnitude round(0.3 * 8) = 2 in each of the 82 rows
    expect(tables.reduce((s, n) => s + zeros(byReads, n), 0)).toBe(197);
    expect(tables.reduce((s, n) => s + zeros(byMagnitude, n), 0)).toBe(164);
    // the squared error of the looked-up rows over the calibration's lookups, which the ranking minimises: under half
    // magnitude's with more weights pruned
    const lookups = (gr: Graph): number => samples.reduce((e, [id, ty]) => {
      let sq = 0;
      for (let t = 0; t < 4; t++) {
        for (const [n, row] of [['word', Number(id!.data[t])], ['type', Number(ty!.data[t])], ['pos', t]] as const) {
          for (let h = 0; h < 8; h++) sq += (data32(g, n)[row * 8 + h]! - data32(gr, n)[row * 8 + h]!) ** 2;
        }
      }
      return e + sq;
    }, 0);
    expect(lookups(byReads)).toBeLessThan(0.5 * lookups(byMagnitude));
    // rows never read lose more than rows read: the type table (every token) loses under 30%, the word table's
    // unread rows 4..63 more
    expect(zeros(byReads, 'type')).toBeLessThan(0.3 * 16);
    expect(data32(byReads, 'word').subarray(32).filter((v) => v === 0).length).toBeGreaterThan(0.3 * 480);
    // the layers as before; idempotent
    expect(Array.from(data32(byReads, 'w'))).toEqual(Array.from(data32(byMagnitude, 'w')));
    const again = getPass('prune-weights')!.run(byReads, defaultContext({ options: opts('reads'), calibrationData: data }));
    for (const n of tables) expect(Array.from(data32(again, n))).toEqual(Array.from(data32(byReads, n)));
    // the pruned table is stored compressed and densified at load: the compiled model computes what the graph says
    const a = compileWasm(byReads, { embedLimit: 0 }), feeds = { ids: toTensorValue(samples[0]![0]!), types: toTensorValue(samples[0]![1]!) };
    expect((a.manifest as { sparseWeights?: (readonly [string, number, number, string])[] }).sparseWeights?.some((e) => e[0].startsWith('word') && e[3] === 'densified')).toBe(true);
    const got = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights }).runSync(feeds)[g.outputs[0]!]!.data as Float32Array;
    const want = (runGraph(byReads, samples[0]!) as Tensor[])[0]!.data as Float32Array;
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('onnxc prune --embeddings S: the tables pruned with the layers, ranked by row reads', () => {
    const { g, samples } = tables3();
    const model = { graph: g, info: { source: 'tables' } };
    const zeros = (gr: Graph, n: string): number => (gr.initializers.get(n)!.data as Float32Array).filter((v) => v === 0).length;
    const r = pruneModel(model, samples, { mode: 'weights', sparsity: 0.5, refit: false, embeddings: '0.3' });
    expect(['word', 'type', 'pos'].reduce((s, n) => s + zeros(r.model.graph, n), 0)).toBe(197);
    expect(zeros(r.model.graph, 'w')).toBe(16);
    expect(zeros(pruneModel(model, samples, { mode: '2:4', refit: false }).model.graph, 'word')).toBe(0);
  });

  it('refuses malformed options with a usage error', () => {
    const { g } = layers(1, 8, 4, 2, 1);
    for (const [k, v] of [['prune-pattern', '3:4'], ['prune-sparsity', '1.5'], ['prune-damp', '-1'], ['prune-embeddings', '35%'], ['prune-embeddings-score', 'l1']] as const) {
      const options = new Map([['prune-sparsity', '0.5'], [k, v]]);
      expect(() => getPass('prune-weights')!.run(g, defaultContext({ options }))).toThrow(new RegExp(`option ${k}`));
    }
  });
});

describe('Wanda and the SparseGPT re-fit', () => {
  it('the activation norm decides: a large weight on a silent input goes before a small one on a loud input', () => {
    // column 0 of B: |w| = [4, 1]; input 0 is ~0 on the calibration set, input 1 is large
    const b = new GraphBuilder('wanda');
    const x = b.input('x', 'float32', [1, 2]);
    b.output(b.op('MatMul', [x, b.weight('w', makeTensor('float32', [2, 1], Float32Array.of(4, 1)))]));
    const g = b.model({}).graph;
    const stats = calibrate({ graph: g, info: {} }, [[makeTensor('float32', [1, 2], Float32Array.of(0.01, 10))]], { backend: 'reference' }).stats;
    expect(Array.from(pruneWeights(g, { sparsity: 0.5, reconstruct: false }, stats).graph.initializers.get('w')!.data as Float32Array)).toEqual([0, 1]);
    expect(Array.from(pruneWeights(g, { sparsity: 0.5, reconstruct: false }).graph.initializers.get('w')!.data as Float32Array)).toEqual([4, 0]);
  });

  it('the re-fit has a lower least-squares error on correlated calibration inputs than Wanda alone', () => {
    const r = prng(3), N = 300, K = 48, R = 16;
    const mix = Float64Array.from({ length: K * K }, () => r() * 2 - 1);
    const X = new Float32Array(N * K);
    for (let n = 0; n < N; n++) {
      const z = Array.from({ length: K }, () => r() * 2 - 1);
      for (let k = 0; k < K; k++) { let s = 3 * z[k]!; for (let j = 0; j < K; j++) s += 0.3 * z[j]! * mix[j * K + k]!; X[n * K + k] = s; }
    }
    const acc = new ValueAccumulator(1, true);
    acc.add(makeTensor('float32', [N, K], X));
    const gram = acc.result()!.secondMoment!.gram;
    const W = Float32Array.from({ length: K * R }, () => r() * 2 - 1), view = { rows: R, K, rowStride: 1, kStride: R };
    const err = (w: Float32Array): number => {
      let e = 0;
      for (let n = 0; n < N; n++) for (let c = 0; c < R; c++) { let d = 0; for (let k = 0; k < K; k++) d += X[n * K + k]! * (W[k * R + c]! - w[k * R + c]!); e += d * d; }
      return e;
    };
    for (const target of [{ kind: 'unstructured', sparsity: 0.5 } as const, { kind: 'nm', nm: { n: 2, m: 4 } } as const]) {
      const keep = wandaMask(W, view, target, (_r, k) => Math.sqrt(gram[k * K + k]!));
      const wanda = W.map((v, i) => (keep[i] ? v : 0)), obs = obsPrune(W, view, target, gram, 0.01);
      expect(obs.filter((v) => v === 0).length).toBe(K * R / 2);
      expect(err(obs)).toBeLessThan(0.95 * err(wanda));
    }
  });

  it('without a second moment in the statistics, the re-fit collects it from PassContext.calibrationData', () => {
    const { g, samples } = layers(3, 16, 8, 4, 11);
    const o: PruneWeightsOptions = { sparsity: 0.5, reconstruct: true };
    const full = calibrate({ graph: g, info: {} }, samples, { backend: 'reference', secondMoment: pruneWeightsInputs(g, o) }).stats;
    const plain = calibrate({ graph: g, info: {} }, samples, { backend: 'reference' }).stats;
    const want = pruneWeights(g, o, full);
    expect(want.layers.map((l) => l.method)).toEqual(['sparsegpt', 'sparsegpt']);
    expect(pruneWeights(g, o, plain).layers.map((l) => l.method)).toEqual(['wanda', 'wanda']);
    const data = { samples, run: (graph: Graph, inputs: readonly unknown[]) => runGraph(graph, inputs as Tensor[]) };
    const ctx = defaultContext({ options: new Map([['prune-sparsity', '0.5'], ['prune-reconstruct', '1']]), calibration: plain, calibrationData: data });
    const got = getPass('prune-weights')!.run(g, ctx);
    for (const w of ['w1', 'w2']) expect(Array.from(got.initializers.get(w)!.data as Float32Array)).toEqual(Array.from(want.graph.initializers.get(w)!.data as Float32Array));
  });

  it('calibration collects X^T X along the last axis only for the values asked', () => {
    const { g, samples } = layers(3, 8, 4, 2, 5);
    const stats = calibrate({ graph: g, info: {} }, samples, { backend: 'reference', secondMoment: new Set(['x']) }).stats;
    const m = stats.values.get('x')!.secondMoment!;
    expect([m.size, m.rows]).toEqual([8, 12]);
    const want = new Float64Array(64);
    for (const [x] of samples) { const d = x!.data as Float32Array; for (let r = 0; r < 3; r++) for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) want[i * 8 + j]! += d[r * 8 + i]! * d[r * 8 + j]!; }
    m.gram.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 9));
    for (const [name, s] of stats.values) if (name !== 'x') expect(s.secondMoment).toBeUndefined();
  });
});

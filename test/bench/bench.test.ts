// Smoke test of the benchmark harness (the timed benchmark itself is `npm run bench`, kept out of `npm test`):
// mnist through every engine for 2 iterations, the report's structure, and agreement with onnxruntime-node.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNELS } from '../../backends/wasm/kernels/index.js';
import { dawnDevice } from '../../backends/webgpu/dawn.js';
import { ENGINES } from '../../bench/engines/index.js';
import { onnxcWasm } from '../../bench/engines/onnxc-wasm.js';
import { ortNode } from '../../bench/engines/ort-node.js';
import { gemmGflops, runGemmBench } from '../../bench/gemm.js';
import { benchModel, DEFAULT_OPTIONS, timedStepDown, warmupSettled } from '../../bench/harness.js';
import { resolveModel, sharedRoot } from '../../bench/models.js';
import { formatReport, type BenchReport } from '../../bench/report.js';
import { latencyStats, quantile } from '../../bench/stats.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { makeTensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';

const mnist = resolveModel('mnist');

describe('bench stats', () => {
  it('takes quantiles by interpolation', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    const s = latencyStats([5, 1, 4, 2, 3]);
    expect([s.runs, s.medianMs, s.minMs, s.meanMs]).toEqual([5, 3, 1, 3]);
    expect(s.p10Ms).toBeCloseTo(1.4);
    expect(s.p90Ms).toBeCloseTo(4.6);
  });
});

describe('bench warm-up rules', () => {
  it('settles when the last window sets no new low, and sees a tier-up step in timed runs', () => {
    const liftoff = Array.from({ length: 20 }, (_, i) => 1 + 0.05 * Math.sin(i));
    expect(warmupSettled(liftoff.slice(0, 15), 10)).toBe(false); // fewer than two windows
    expect(warmupSettled(liftoff, 10)).toBe(true);
    // a tier-up in the last window: a new low, not settled; once the fast runs fill a window, settled again
    const tiered = [...liftoff, ...Array.from({ length: 5 }, () => 0.3)];
    expect(warmupSettled(tiered, 10)).toBe(false);
    expect(warmupSettled([...tiered, ...Array.from({ length: 10 }, () => 0.31)], 10)).toBe(true);
    expect(warmupSettled([5, 1], 2)).toBe(true); // window under 3: no settle rule (a count-only warm-up)
    expect(timedStepDown([1, 1, 1, 0.3, 0.3, 0.3])).toBe(true);
    expect(timedStepDown([1, 1.1, 0.95, 1, 1.05, 0.98])).toBe(false);
  });
});

describe('gemm microbenchmark', () => {
  it('times the onnxc gemm core at a small size', () => {
    const r = gemmGflops({ label: 'square 16', M: 16, N: 16, K: 16 });
    expect(r.gflops).toBeGreaterThan(0);
    expect(r.medianMs).toBeGreaterThan(0);
  });

  it('times peaks and shapes in every pass and reports each figure as its best pass with the spread', () => {
    const g = runGemmBench([{ label: 'square 16', M: 16, N: 16, K: 16 }, { label: 'row 1', M: 1, N: 24, K: 8 }], () => {}, 2);
    expect(g.passes).toBe(2);
    for (const s of [g.peakSpread, ...g.rows.map((r) => r.spread)]) {
      expect(s.passes).toHaveLength(2);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.max);
    }
    // the figure is the best pass, for the peak and for each shape alike (same statistic), and % peak is their ratio
    expect(g.peakGflops).toBeCloseTo(g.peakSpread.max, 1);
    const [sq, row] = g.rows;
    expect(sq!.gflops).toBeCloseTo(sq!.spread.max, 1);
    expect(sq!.ofPeak).toBeCloseTo(sq!.gflops / g.peakGflops, 6);
    expect(sq!.ceilingGflops).toBeUndefined();
    expect(row!.ceilingGflops).toBeGreaterThan(0); // M = 1 on packed B: its read ceiling timed every pass too
    const text = formatReport({
      machine: { cpu: 'test', cores: 1, node: process.version, platform: 'test', loadAvg: [0] },
      settings: { iterations: 1, warmup: 0, warmupMs: 0, budgetMs: 1, memory: false }, engines: [], models: [], gemm: g, notes: [],
    });
    expect(text).toMatch(/passes min\/med\/max/);
    expect(text).toMatch(/^square 16 .* \d+\.\d\/\d+\.\d\/\d+\.\d /m);
  }, 60_000);
});

describe.skipIf(!mnist)(`bench harness on mnist (needs ${sharedRoot()}/models/mnist)`, () => {
  it('runs every engine interleaved and reports latency, sizes and agreement', async () => {
    const r = await benchModel(mnist!, { ...DEFAULT_OPTIONS, iterations: 2, warmup: 1, warmupMs: 0, memory: false });
    expect(r.error).toBeUndefined();
    expect(r.inputs).toEqual([{ name: 'Input3', dtype: 'float32', dims: [1, 1, 28, 28] }]);
    expect(r.engines.map((e) => e.engine)).toEqual(ENGINES.map((e) => e.name));
    const gpu = typeof (await dawnDevice()) !== 'string';
    for (const e of r.engines) {
      // the WebGPU engines need an adapter (CI installs lavapipe); without one they say so and the rest still run
      if (e.engine.endsWith('webgpu') && !gpu) { expect(e.error, e.engine).toMatch(/adapter|webgpu/i); continue; }
      expect(e.error, e.engine).toBeUndefined();
      expect(e.latency?.runs, e.engine).toBe(2);
      expect(e.latency!.medianMs).toBeGreaterThan(0);
      expect(e.info!.loadMs).toBeGreaterThanOrEqual(0);
      // the other engines agree with the native reference (mnist outputs are ~1e0)
      if (e.engine !== 'ort-node-cpu') expect(e.maxAbsError!, e.engine).toBeLessThan(1e-4);
    }
    const onnxc = r.engines.find((e) => e.engine === 'onnxc-wasm')!.info!;
    expect(onnxc.compileMs).toBeGreaterThan(0);
    expect(onnxc.codeBytes).toBeGreaterThan(0);
    expect(onnxc.codeBytes).toBeLessThan(200 * 1024);
    // mnist has 5998 f32 parameters; the wasm backend may fold or pre-pack some, so only a loose floor
    expect(onnxc.weightBytes).toBeGreaterThanOrEqual(5000 * 4);
    expect(r.onnxcOverOrtWeb).toBeGreaterThan(0);
    const report: BenchReport = {
      machine: { cpu: 'test', cores: 1, node: process.version, platform: 'test', loadAvg: [0, 0, 0] },
      settings: { iterations: 2, warmup: 1, warmupMs: 0, budgetMs: 1000, memory: false },
      engines: ENGINES.map((e) => ({ name: e.name, summary: e.summary })), models: [r], notes: [],
    };
    const text = formatReport(report);
    expect(text).toMatch(/^mnist .*x$/m);
    expect(JSON.parse(JSON.stringify(report)).models[0].engines).toHaveLength(ENGINES.length);
    if (gpu) expect(r.webgpuOverOrtWebGpu).toBeGreaterThan(0);
  }, 60_000);

  it('reports a model whose inputs cannot be read and carries on', async () => {
    const bad = { name: 'missing-model', path: `${mnist!.path}.absent`, dataSet: mnist!.dataSet! };
    const r = await benchModel(bad, { ...DEFAULT_OPTIONS, iterations: 1, warmup: 0, warmupMs: 0, memory: false });
    expect(r.error).toMatch(/cannot read inputs/);
    expect(r.engines).toEqual([]);
  });
});

describe('bench harness on a model onnxc cannot compile', () => {
  it('marks onnxc failed with the reason and still runs onnxruntime', async () => {
    // an op the wasm backend has no kernel for (picked from a few, so new kernels do not break the test)
    const op = (['Det', 'Hardmax', 'LpNormalization'] as const).find((o) => !KERNELS[o]);
    if (!op) return;
    const b = new GraphBuilder('no_kernel');
    const x = b.input('x', 'float32', [2, 3, 3]);
    b.output(b.node(op, [x], {}, 1, 'y')[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-bench-test-'));
    try {
      mkdirSync(join(dir, 'test_data_set_0'));
      writeFileSync(join(dir, 'model.onnx'), exportModel(b.model({ source: 'no_kernel' })));
      const t = makeTensor('float32', [2, 3, 3], Float32Array.from({ length: 18 }, (_, i) => Math.sin(i + 1)));
      writeFileSync(join(dir, 'test_data_set_0', 'input_0.pb'), encodeTensorProto(t, 'x'));
      const m = resolveModel(dir)!;
      const r = await benchModel(m, { ...DEFAULT_OPTIONS, iterations: 1, warmup: 0, warmupMs: 0, memory: false, engines: [onnxcWasm, ortNode] });
      const [onnxc, ort] = r.engines;
      expect(onnxc).toMatchObject({ engine: 'onnxc-wasm', ok: false });
      expect(onnxc!.error).toMatch(new RegExp(`cannot compile.*${op}`));
      expect(ort).toMatchObject({ engine: 'ort-node-cpu', ok: true });
      expect(r.onnxcOverOrtWeb).toBeUndefined();
      expect(formatReport({
        machine: { cpu: 'test', cores: 1, node: process.version, platform: 'test', loadAvg: [0] },
        settings: { iterations: 1, warmup: 0, warmupMs: 0, budgetMs: 1, memory: false },
        engines: [onnxcWasm, ortNode].map((e) => ({ name: e.name, summary: e.summary })), models: [r], notes: [],
      })).toMatch(/Not run:\n.*onnxc-wasm: onnxc cannot compile it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

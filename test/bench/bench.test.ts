// Smoke test of the benchmark harness (the timed benchmark itself is `npm run bench`, kept out of `npm test`):
// mnist through every engine for 2 iterations, the report's structure, and agreement with onnxruntime-node.

import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../bench/engines/index.js';
import { gemmGflops } from '../../bench/gemm.js';
import { benchModel, DEFAULT_OPTIONS } from '../../bench/harness.js';
import { resolveModel, sharedRoot } from '../../bench/models.js';
import { formatReport, type BenchReport } from '../../bench/report.js';
import { latencyStats, quantile } from '../../bench/stats.js';

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

describe('gemm microbenchmark', () => {
  it('times the onnxc gemm core at a small size', () => {
    const r = gemmGflops({ label: 'square 16', M: 16, N: 16, K: 16 });
    expect(r.gflops).toBeGreaterThan(0);
    expect(r.medianMs).toBeGreaterThan(0);
  });
});

describe.skipIf(!mnist)(`bench harness on mnist (needs ${sharedRoot()}/models/mnist)`, () => {
  it('runs every engine interleaved and reports latency, sizes and agreement', async () => {
    const r = await benchModel(mnist!, { ...DEFAULT_OPTIONS, iterations: 2, warmup: 1, warmupMs: 0, memory: false });
    expect(r.error).toBeUndefined();
    expect(r.inputs).toEqual([{ name: 'Input3', dtype: 'float32', dims: [1, 1, 28, 28] }]);
    expect(r.engines.map((e) => e.engine)).toEqual(ENGINES.map((e) => e.name));
    for (const e of r.engines) {
      expect(e.error, e.engine).toBeUndefined();
      expect(e.latency?.runs, e.engine).toBe(2);
      expect(e.latency!.medianMs).toBeGreaterThan(0);
      expect(e.info!.loadMs).toBeGreaterThanOrEqual(0);
      // both wasm engines agree with the native reference (mnist outputs are ~1e0)
      if (e.engine !== 'ort-node-cpu') expect(e.maxAbsError!, e.engine).toBeLessThan(1e-4);
    }
    const onnxc = r.engines.find((e) => e.engine === 'onnxc-wasm')!.info!;
    expect(onnxc.compileMs).toBeGreaterThan(0);
    expect(onnxc.codeBytes).toBeGreaterThan(0);
    expect(onnxc.codeBytes).toBeLessThan(200 * 1024);
    expect(onnxc.weightBytes).toBe(5998 * 4 + 8 * 0 + (onnxc.weightBytes! - 5998 * 4)); // f32 params at least
    expect(onnxc.weightBytes).toBeGreaterThanOrEqual(5998 * 4 - 16);
    expect(r.onnxcOverOrtWeb).toBeGreaterThan(0);
    const report: BenchReport = {
      machine: { cpu: 'test', cores: 1, node: process.version, platform: 'test', loadAvg: [0, 0, 0] },
      settings: { iterations: 2, warmup: 1, warmupMs: 0, budgetMs: 1000, memory: false },
      engines: ENGINES.map((e) => ({ name: e.name, summary: e.summary })), models: [r], notes: [],
    };
    const text = formatReport(report);
    expect(text).toMatch(/^mnist .*x$/m);
    expect(JSON.parse(JSON.stringify(report)).models[0].engines).toHaveLength(3);
  }, 60_000);

  it('reports a model onnxc cannot compile and carries on', async () => {
    const bad = { name: 'missing-model', path: `${mnist!.path}.absent`, dataSet: mnist!.dataSet! };
    const r = await benchModel(bad, { ...DEFAULT_OPTIONS, iterations: 1, warmup: 0, warmupMs: 0, memory: false });
    expect(r.error).toMatch(/cannot read inputs/);
    expect(r.engines).toEqual([]);
  });
});

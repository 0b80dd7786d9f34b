// Smoke test of the benchmark harness (the timed benchmark itself is `npm run bench`, kept out of `npm test`):
// mnist through every engine for 2 iterations, the report's structure, and agreement with onnxruntime-node.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KERNELS } from '../../backends/wasm/kernels/index.js';
import { dawnDevice } from '../../backends/webgpu/dawn.js';
import { ENGINES } from '../../bench/engines/index.js';
import { onnxcWasm } from '../../bench/engines/onnxc-wasm.js';
import { ortNode } from '../../bench/engines/ort-node.js';
import type { Engine } from '../../bench/engines/types.js';
import { gemmGflops, runGemmBench } from '../../bench/gemm.js';
import { benchModel, DEFAULT_OPTIONS, warmupSettled } from '../../bench/harness.js';
import { resolveModel, sharedRoot } from '../../bench/models.js';
import { formatReport, type BenchReport } from '../../bench/report.js';
import { latencyStats, pairedRatio, passStats, quantile } from '../../bench/stats.js';
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

  it('takes the fastest run as the figure and keeps the raw spread over all runs and the pass medians', () => {
    // a slow spell (2x) over the first pass and half the second: the figure is the fastest run, in the clean third pass
    const s = passStats([[20, 21, 19, 20, 22], [20, 10.5, 21, 10, 10.2], [10, 10.4, 10.1, 9.9, 10.3]]);
    expect(s.figureMs).toBe(9.9);
    expect(s.passMediansMs).toEqual([20, 10.5, 10.1]);
    expect(s.runs).toBe(15);
    expect(s.medianMs).toBeCloseTo(10.5); // the old statistic, dragged up by the spell
    expect(s.p90Ms).toBeGreaterThan(20);
    expect(s.clean).toBe(true);
    expect(passStats([[3], []]).passMediansMs).toEqual([3]); // an empty pass (budget, failure) is left out
    // every pass hit: the fastest run is a lone one, not backed by a pass's median within 1.1x
    expect(passStats([[20, 10, 21], [19, 22, 20]]).clean).toBe(false);
  });

  it('pairs runs of the same iteration for the paired ratio', () => {
    // the spell hits both engines in the same iterations: every paired ratio is 0.5
    const a = passStats([[10, 20, 10], [20, 10]]), b = passStats([[20, 40, 20], [40, 20]]);
    expect(pairedRatio(a, b)).toBeCloseTo(0.5);
    expect(a.figureMs / b.figureMs).toBeCloseTo(0.5);
    // a shorter pass on one side pairs only the iterations both ran
    expect(pairedRatio(passStats([[1, 2, 3]]), passStats([[2, 4]]))).toBeCloseTo(0.5);
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
  it('runs every engine interleaved in passes and reports latency, sizes and agreement', async () => {
    const r = await benchModel(mnist!, { ...DEFAULT_OPTIONS, iterations: 2, warmup: 1, warmupMs: 0, memory: false, passGapMs: 10 });
    expect(r.error).toBeUndefined();
    expect(r.inputs).toEqual([{ name: 'Input3', dtype: 'float32', dims: [1, 1, 28, 28] }]);
    expect(r.engines.map((e) => e.engine)).toEqual(ENGINES.map((e) => e.name));
    const gpu = typeof (await dawnDevice()) !== 'string';
    for (const e of r.engines) {
      // the WebGPU engines need an adapter (CI installs lavapipe); without one they say so and the rest still run
      if (e.engine.endsWith('webgpu') && !gpu) { expect(e.error, e.engine).toMatch(/adapter|webgpu/i); continue; }
      expect(e.error, e.engine).toBeUndefined();
      // 2 passes of one iteration, and up to 2 more when an engine's last pass is the fastest by 10%
      expect(e.latency?.runs, e.engine).toBe(r.passes!.count);
      expect(e.latency!.passMediansMs, e.engine).toHaveLength(r.passes!.count);
      expect(e.latency!.figureMs).toBe(e.latency!.minMs);
      expect(e.latency!.figureMs).toBeLessThanOrEqual(Math.min(...e.latency!.passMediansMs) + 1e-3);
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
    expect(r.passes!.count - r.passes!.extra).toBe(2);
    expect(r.onnxcOverOrtWeb).toBeGreaterThan(0);
    expect(r.paired?.onnxcOverOrtWeb).toBeGreaterThan(0);
    // the relaxed-SIMD build runs by default beside the strict one
    const relaxed = r.engines.find((e) => e.engine === 'onnxc-wasm-relaxed');
    expect(relaxed?.error).toBeUndefined();
    expect(relaxed!.maxAbsError!).toBeLessThan(1e-4);
    expect(r.relaxedOverStrict).toBeCloseTo(relaxed!.latency!.figureMs / r.engines.find((e) => e.engine === 'onnxc-wasm')!.latency!.figureMs, 6);
    const report: BenchReport = {
      machine: { cpu: 'test', cores: 1, node: process.version, platform: 'test', loadAvg: [0, 0, 0] },
      settings: { iterations: 2, warmup: 1, warmupMs: 0, budgetMs: 1000, memory: false, passes: 2, passGapMs: 10 },
      engines: ENGINES.map((e) => ({ name: e.name, summary: e.summary })), models: [r], notes: [],
    };
    const text = formatReport(report);
    expect(text).toMatch(/^mnist .*x$/m);
    expect(text).toMatch(/relaxed\/strict/);
    expect(text).toMatch(/^model +warm-up .* ratio .* relaxed\/strict$/m);
    expect(text).toMatch(/pass medians/);
    expect(text).toMatch(/^mnist( +([\d.]+ \| [\d.]+\/[\d.]+\/[\d.]+|-))+$/m); // each engine: median | pass medians min/med/max
    expect(JSON.parse(JSON.stringify(report)).models[0].engines).toHaveLength(ENGINES.length);
    if (gpu) expect(r.webgpuOverOrtWebGpu).toBeGreaterThan(0);
  }, 60_000);

  it('adds a pass while an engine has no clean pass, and takes its fastest pass', async () => {
    // a stand-in engine on a virtual clock (no real timing): 4 ms a run for its first 4 runs (pass 1's two timed
    // runs, pass 2's untimed one and its first timed one), then 1 ms
    let calls = 0, clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const stepping: Engine = {
      name: 'onnxc-wasm', summary: 'test',
      async prepare() {
        return { info: { loadMs: 0 }, async run() { clock += ++calls <= 4 ? 4 : 1; return []; }, async dispose() {} };
      },
    };
    const r = await benchModel(mnist!, { ...DEFAULT_OPTIONS, iterations: 4, passes: 2, passGapMs: 0, warmup: 0, warmupMs: 0, memory: false, engines: [stepping] })
      .finally(() => now.mockRestore());
    // pass 2 holds one 4 ms run and one 1 ms one: its median 2.5 ms is not within 1.1x of the fastest run; pass 3 is
    expect(r.passes).toEqual({ count: 3, extra: 1 });
    const l = r.engines[0]!.latency!;
    expect(l.passSamplesMs.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(l.passMediansMs).toEqual([4, 2.5, 1]);
    expect(l.figureMs).toBe(1);
    expect(calls).toBe(2 + 3 + 3);
  });

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

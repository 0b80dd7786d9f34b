// Calibration: the statistics accumulators (ranges, histograms that widen exactly, per-channel energy), the
// clipping methods, reading calibration sets (batch split, folders of folders) and running a model on the wasm
// backend and the reference interpreter with the same statistics.

import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../compiler/calibrate.js';
import { readCalibrationSet, splitBatch } from '../../compiler/calibrate-data.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { makeTensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { HISTOGRAM_BINS, ValueAccumulator } from '../../passes/quant/calibration.js';
import { absPercentile, clipRange, entropyThreshold } from '../../passes/quant/ranges.js';
import { randTensor } from '../wasm/helpers.js';

const t = (dims: number[], v: number[]) => makeTensor('float32', dims, Float32Array.from(v));

describe('ValueAccumulator', () => {
  it('tracks min, max and count; the histogram holds every element as the range doubles', () => {
    const a = new ValueAccumulator();
    a.add(t([4], [0.5, -1, 0.25, 1]));
    a.add(t([2], [3, -0.5]));
    const s = a.result()!;
    expect([s.min, s.max, s.count]).toEqual([-1, 3, 6]);
    expect(s.histogram.range).toBe(4); // 1 doubled twice to cover 3
    expect(s.histogram.bins.reduce((x, y) => x + y, 0)).toBe(6);
    expect(s.histogram.bins.length).toBe(HISTOGRAM_BINS);
    // 3 lands in the bin of [2.99.., 3.0); the merge kept -1 in a bin whose range holds -1
    const w = (2 * s.histogram.range) / HISTOGRAM_BINS;
    const binOf = (x: number): number => Math.floor((x + s.histogram.range) / w);
    expect(s.histogram.bins[binOf(3)]).toBe(1);
    expect(s.histogram.bins[binOf(-1)]).toBe(1);
  });

  it('an all-zero first sample, then real values: still exact', () => {
    const a = new ValueAccumulator();
    a.add(t([3], [0, 0, 0]));
    a.add(t([1], [5]));
    const s = a.result()!;
    expect(s.histogram.range).toBeGreaterThanOrEqual(5);
    expect(s.histogram.bins.reduce((x, y) => x + y, 0)).toBe(4);
  });

  it('per-channel min, max and sum of squares along axis 1', () => {
    const a = new ValueAccumulator(1);
    a.add(t([1, 2, 2], [1, -2, 3, 4]));
    const c = a.result()!.channels!;
    expect(Array.from(c.min)).toEqual([-2, 3]);
    expect(Array.from(c.max)).toEqual([1, 4]);
    expect(Array.from(c.sumSq)).toEqual([5, 25]);
    expect(c.count).toBe(2);
  });
});

describe('clipping ranges', () => {
  const many = (): ValueAccumulator => {
    const a = new ValueAccumulator();
    const v = Array.from({ length: 10000 }, (_, i) => Math.sin(i) * 1);
    v.push(100);
    a.add(t([v.length], v));
    return a;
  };
  it('minmax keeps the whole range (and 0)', () => {
    const s = many().result()!;
    expect(clipRange(s, 'minmax')).toEqual({ min: s.min, max: 100 });
    expect(clipRange({ ...s, min: 2 }, 'minmax').min).toBe(0);
  });
  it('percentile and entropy clip a lone outlier', () => {
    const s = many().result()!;
    const p = absPercentile(s.histogram, 99.9);
    expect(p).toBeGreaterThan(0.9);
    expect(p).toBeLessThan(2);
    const e = entropyThreshold(s.histogram);
    expect(e).toBeLessThan(50);
    expect(e).toBeGreaterThan(0.5);
    expect(clipRange(s, 'percentile', 99.9).max).toBeCloseTo(p, 6);
  });
  it('entropy models 256 levels where asked (a uint8 ReLU output): a threshold of at least 256 of the 1024 bins', () => {
    const a = new ValueAccumulator();
    // a ReLU-like long tail: exponential magnitudes, never negative
    a.add(t([20000], Array.from({ length: 20000 }, (_, i) => -Math.log(1 - ((i * 0.61803398875) % 1)))));
    const s = a.result()!;
    const e128 = entropyThreshold(s.histogram), e256 = entropyThreshold(s.histogram, 256);
    expect(e128).toBeGreaterThanOrEqual(s.histogram.range / 8);
    expect(e256).toBeGreaterThanOrEqual(s.histogram.range / 4);
    expect(e256).toBeLessThanOrEqual(s.histogram.range);
    expect(e256).not.toBe(e128);
    expect(clipRange(s, 'entropy', undefined, 256).max).toBe(e256);
  });
});

function model() {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', ['batch', 8]);
  const w = b.weight('w', randTensor([8, 4], 3));
  const h = b.op('MatMul', [x, w]);
  b.output(b.op('Relu', [h]));
  return b.model({ source: 'calib.onnx' });
}

describe('calibration sets', () => {
  it('a leading batch dim the model leaves symbolic is split into samples of one', () => {
    const m = model();
    const s = splitBatch([randTensor([5, 8], 1)], m.graph);
    expect(s.length).toBe(5);
    expect((s[2]![0] as unknown as { dims: number[] }).dims).toEqual([1, 8]);
  });

  it('reads a folder of test_data_set folders', () => {
    const m = model();
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-calib-'));
    for (const k of [0, 1]) {
      mkdirSync(join(dir, `test_data_set_${k}`));
      writeFileSync(join(dir, `test_data_set_${k}`, 'input_0.pb'), encodeTensorProto(randTensor([3, 8], k + 1), 'x'));
    }
    expect(readCalibrationSet(dir, m.graph).length).toBe(6);
    expect(() => readCalibrationSet(join(dir, 'nope'), m.graph)).toThrow(/does not exist/);
  });
});

describe('calibrate', () => {
  it('the wasm backend and the reference interpreter give the same statistics', () => {
    const m = model();
    const samples = [1, 2, 3].map((k) => [randTensor([1, 8], k)]);
    let seen = 0;
    const w = calibrate(m, samples, { backend: 'wasm', progress: () => { seen++; } });
    const r = calibrate(m, samples, { backend: 'reference' });
    expect(w.stats.backend).toBe('wasm');
    expect(r.stats.backend).toBe('reference');
    expect(seen).toBe(3);
    expect([...w.stats.values.keys()].sort()).toEqual([...r.stats.values.keys()].sort());
    for (const [k, v] of w.stats.values) {
      const e = r.stats.values.get(k)!;
      expect(v.min).toBeCloseTo(e.min, 5);
      expect(v.max).toBeCloseTo(e.max, 5);
      expect(v.count).toBe(e.count);
    }
    expect(w.outputs.length).toBe(3);
  });
});

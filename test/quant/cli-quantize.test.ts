// `onnxc quantize` end to end on the bundled CNN: each mode writes a model that loads, the report names size,
// drift and top-1 agreement (JSON for CI), and misuse is a usage error (exit 2).

import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { buildExamples } from '../../models/build-examples.js';
import { randTensor } from '../wasm/helpers.js';

let dir: string, model: string, calib: string;

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onnxc-quantize-'));
  model = buildExamples(dir)[0]!;
  calib = join(dir, 'calib');
  mkdirSync(calib);
  // 6 samples stacked along the (symbolic) batch dim: split into 6 samples of one
  writeFileSync(join(calib, 'input_0.pb'), encodeTensorProto(randTensor([6, 3, 32, 32], 9), 'image'));
});
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

describe('onnxc quantize', () => {
  for (const mode of ['static', 'dynamic', 'weights-int8', 'weights-int4', 'fp16']) {
    it(`--mode ${mode}`, async () => {
      const c = capture();
      const out = join(dir, `q_${mode}.onnx`);
      expect(await main(['quantize', model, '-o', out, '--mode', mode, '--calibration', calib, '--json'])).toBe(0);
      expect(existsSync(out)).toBe(true);
      loadModel(out);
      const r = JSON.parse(c.out()) as { bytesBefore: number; bytesAfter: number; calibrationSet: { samples: number; drift: Record<string, number>; top1: Record<string, number> } };
      expect(r.calibrationSet.samples).toBe(6);
      // dynamic takes MatMul/Gemm weights only: the CNN's one small Gemm does not pay for its extra nodes
      if (mode !== 'dynamic') expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
      expect(r.calibrationSet.drift['probs']).toBeLessThan(0.1);
      expect(r.calibrationSet.top1['probs']).toBeGreaterThanOrEqual(0.5);
    });
  }

  it('static without a calibration set, and an unknown mode, are usage errors', async () => {
    const c = capture();
    expect(await main(['quantize', model, '-o', join(dir, 'x.onnx'), '--mode', 'static'])).toBe(2);
    expect(c.err()).toMatch(/--calibration/);
    expect(await main(['quantize', model, '-o', join(dir, 'x.onnx'), '--mode', 'int3'])).toBe(2);
  });

  it('--dim writes the fixed size into the output model; a dim the model lacks is refused', async () => {
    const c = capture();
    const out = join(dir, 'q_dim.onnx');
    expect(await main(['quantize', model, '-o', out, '--mode', 'fp16', '--dim', 'batch=2', '--random-samples', '1', '--json'])).toBe(0);
    const g = loadModel(out).graph;
    expect(g.types.get(g.inputs[0]!)).toMatchObject({ shape: [2, 3, 32, 32] });
    expect(g.types.get(g.outputs[0]!)).toMatchObject({ shape: [2, 10] });
    expect(await main(['quantize', model, '-o', join(dir, 'x.onnx'), '--mode', 'fp16', '--dim', 'seq=4'])).toBe(2);
    expect(c.err()).toMatch(/no symbolic dim 'seq'.*batch/);
  });

  it('--reduce-range: static weights in [-64, 63]; other modes refuse it', async () => {
    const c = capture();
    const out = join(dir, 'q_static7.onnx');
    expect(await main(['quantize', model, '-o', out, '--mode', 'static', '--calibration', calib, '--reduce-range', '--json'])).toBe(0);
    const g = loadModel(out).graph;
    const weights = g.nodes.filter((n) => n.op === 'DequantizeLinear').map((n) => g.initializers.get(n.inputs[0]!)).filter((t) => t?.dtype === 'int8' && t.dims.length >= 2);
    expect(weights.length).toBeGreaterThanOrEqual(3);
    for (const w of weights) {
      const v = Array.from(w!.data as Int8Array);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-64);
      expect(Math.max(...v)).toBeLessThanOrEqual(63);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThanOrEqual(60);
    }
    const r = JSON.parse(c.out()) as { calibrationSet: { drift: Record<string, number> } };
    expect(r.calibrationSet.drift['probs']).toBeLessThan(0.1);
    expect(await main(['quantize', model, '-o', join(dir, 'x.onnx'), '--mode', 'dynamic', '--reduce-range'])).toBe(2);
    expect(c.err()).toMatch(/--reduce-range applies to --mode static/);
  });
});

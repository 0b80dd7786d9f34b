// `onnxc prune` end to end on the bundled CNN: the pruned model is standard ONNX that onnxruntime-node runs and
// agrees with onnxc's reference on; the JSON report names per-layer channels, params and FLOPs, drift and top-1
// agreement (calibration and eval sets, accuracy against an eval set's output_K.pb); refit beats no refit on the
// drift; the drift budget holds; misuse is a usage error (exit 2).

import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { main } from '../../compiler/cli.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { runOrt } from '../../compiler/ort.js';
import type { Tensor } from '../../ir/tensor.js';
import { buildExamples } from '../../models/build-examples.js';
import { randTensor } from '../wasm/helpers.js';

let dir: string, model: string, calib: string, evalDir: string;

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

interface Report {
  flopsBefore: number; flopsAfter: number; paramsBefore: number; paramsAfter: number;
  layers: { node: string; channelsBefore: number; channelsAfter: number }[];
  refits?: { errorBefore: number; errorAfter: number; skipped?: string }[];
  calibrationSet: { samples: number; drift: Record<string, number>; top1: Record<string, number> };
  evalSet?: { samples: number; top1: Record<string, number>; accuracyBefore?: Record<string, number>; accuracyAfter?: Record<string, number> };
  budget?: { drift: number };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onnxc-prune-'));
  model = buildExamples(dir)[0]!;
  calib = join(dir, 'calib');
  mkdirSync(calib);
  // 24 samples stacked along the (symbolic) batch dim: split into 24 samples of one
  writeFileSync(join(calib, 'input_0.pb'), encodeTensorProto(randTensor([24, 3, 32, 32], 9), 'image'));
  // an eval set with expected outputs: the unpruned model's own, so its accuracy is 100% by construction
  evalDir = join(dir, 'eval');
  mkdirSync(evalDir);
  const x = randTensor([8, 3, 32, 32], 21);
  const m = loadModel(model, { dims: { batch: 8 } });
  writeFileSync(join(evalDir, 'input_0.pb'), encodeTensorProto(x, 'image'));
  writeFileSync(join(evalDir, 'output_0.pb'), encodeTensorProto(runGraph(m.graph, [x])[0] as Tensor, 'probs'));
});

afterEach(() => { vi.restoreAllMocks(); });

async function prune(args: string[]): Promise<{ code: number; report: Report; out: string }> {
  const c = capture();
  const out = join(dir, `p${Math.random().toString(36).slice(2)}.onnx`);
  const code = await main(['prune', model, '-o', out, '--calibration', calib, '--json', ...args]);
  return { code, report: code === 0 ? JSON.parse(c.out()) as Report : ({} as Report), out };
}

describe('onnxc prune', () => {
  it('channels at 50%: a smaller ONNX model that onnxruntime runs, with the report', async () => {
    const { code, report: r, out } = await prune(['--sparsity', '0.5', '--eval', evalDir]);
    expect(code).toBe(0);
    expect(r.flopsAfter * 2).toBeLessThanOrEqual(r.flopsBefore);
    expect(r.paramsAfter * 1.8).toBeLessThanOrEqual(r.paramsBefore);
    // 50% of the prunable channels (8 + 16; the classifier's 10 are the output), spread by sensitivity
    expect(r.layers.map((l) => l.channelsBefore)).toEqual([8, 16, 10]);
    expect(r.layers[0]!.channelsAfter + r.layers[1]!.channelsAfter).toBe(12);
    expect(r.layers[2]!.channelsAfter).toBe(10);
    expect(r.calibrationSet.samples).toBe(24);
    expect(r.refits?.some((f) => !f.skipped && f.errorAfter < f.errorBefore)).toBe(true);
    expect(r.evalSet?.samples).toBe(8);
    expect(r.evalSet?.accuracyBefore?.['probs']).toBe(1);
    expect(r.evalSet?.accuracyAfter?.['probs']).toBeGreaterThanOrEqual(0);
    // the written model loads and runs in onnxruntime and agrees with onnxc's reference on it
    const pruned = loadModel(out, { dims: { batch: 2 } });
    const x = randTensor([2, 3, 32, 32], 5);
    const want = runGraph(pruned.graph, [x])[0] as Tensor;
    const got = (await runOrt(readFileSync(out), { image: x })).values[0]!;
    expect(got.dims).toEqual(want.dims);
    (got.data as Float32Array).forEach((v, i) => expect(Math.abs(v - (want.data as Float32Array)[i]!)).toBeLessThan(1e-5));
  }, 120_000);

  it('the re-fit drifts less than plain slicing on the calibration set', async () => {
    const a = await prune(['--sparsity', '0.5']), b = await prune(['--sparsity', '0.5', '--no-refit']);
    expect(a.report.calibrationSet.drift['probs']!).toBeLessThan(b.report.calibrationSet.drift['probs']!);
    expect(b.report.refits ?? []).toEqual([]);
  }, 120_000);

  it('--max-drift keeps the drift under the budget', async () => {
    const { code, report: r } = await prune(['--max-drift', '0.02']);
    expect(code).toBe(0);
    expect(r.calibrationSet.drift['probs']!).toBeLessThanOrEqual(0.02);
    expect(r.budget).toBeDefined();
  }, 240_000);

  it('--exclude leaves a layer (by node name or op type) whole', async () => {
    const byName = await prune(['--sparsity', '0.5', '--exclude', 'conv_0']);
    expect(byName.report.layers.map((l) => l.channelsAfter)).toEqual([8, 8, 10]);
    const byOp = await prune(['--sparsity', '0.5', '--exclude', 'Conv']);
    expect(byOp.code).toBe(0);
    expect(byOp.report.flopsAfter).toBe(byOp.report.flopsBefore);
  }, 120_000);

  it('onnxc diff --calibration shows prune-channels and quantize-static as passes with their drift', async () => {
    const chunks: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { chunks.push(String(c)); return true; });
    const code = await main(['diff', model, '--dim', 'batch=1', '--passes', 'prune-channels,quantize-static', '--pass-option', 'prune-sparsity=0.5',
      '--calibration', calib, '--no-ort', '--format', 'json']);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const r = JSON.parse(chunks.join('')) as { passes: { pass: string; changed: boolean; maxDrift: number }[] };
    expect(r.passes.map((p) => [p.pass, p.changed])).toEqual([['prune-channels', true], ['quantize-static', true]]);
    expect(r.passes[0]!.maxDrift).toBeGreaterThan(0);
  }, 120_000);

  it('misuse is a usage error', async () => {
    const c = capture();
    expect(await main(['prune', model, '-o', join(dir, 'x.onnx'), '--calibration', calib])).toBe(2);
    expect(c.err()).toMatch(/--sparsity S or --max-drift X/);
    expect(await main(['prune', model, '-o', join(dir, 'x.onnx'), '--calibration', calib, '--sparsity', '0.5', '--max-drift', '0.1'])).toBe(2);
    expect(await main(['prune', model, '-o', join(dir, 'x.onnx'), '--calibration', join(dir, 'nope'), '--sparsity', '0.5'])).toBe(2);
    expect(await main(['prune', model, '-o', join(dir, 'x.onnx'), '--calibration', calib, '--sparsity', '1.5'])).toBe(2);
  });
});

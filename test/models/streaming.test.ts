// The streaming VAD example (models/streaming-vad.ts): If on a sample-rate input with a nested If on the chunk
// length, and LSTM state carried from call to call. Checked over 20 consecutive chunks against onnxruntime on the
// reference backend, and on wasm-O3 (the pipeline folds the sample rate once it is fixed, so the If disappears).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { getBackend } from '../../compiler/compile.js';
import { compileToDir } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import { prng } from '../../ir/random.js';
import { fromValues, makeTensor, scalar, type Tensor } from '../../ir/tensor.js';
import { streamingVad, VAD_HIDDEN } from '../../models/streaming-vad.js';

const CHUNKS = 20;
const model = streamingVad();
const exported = exportModel(model);

/** 20 chunks of a seeded signal (a tone switching on and off, plus noise). */
function chunks(len: number, seed: number): Tensor[] {
  const rand = prng(seed);
  return Array.from({ length: CHUNKS }, (_, k) => {
    const t = makeTensor('float32', [1, len]);
    for (let i = 0; i < len; i++) t.data[i] = (k % 4 < 2 ? Math.sin((k * len + i) * 0.07) : 0) + (rand() - 0.5) * 0.1;
    return t;
  });
}

type Step = (audio: Tensor, h: Tensor, c: Tensor) => Promise<Tensor[]> | Tensor[];

/** Run every chunk through `step`, feeding hn/cn back as h/c; returns the probabilities and the final state. */
async function stream(step: Step, audio: readonly Tensor[]): Promise<{ probs: number[]; h: Tensor }> {
  let h: Tensor = makeTensor('float32', [1, 1, VAD_HIDDEN]);
  let c: Tensor = makeTensor('float32', [1, 1, VAD_HIDDEN]);
  const probs: number[] = [];
  for (const a of audio) {
    const [p, hn, cn] = await step(a, h, c);
    probs.push((p!.data as Float32Array)[0]!);
    h = hn!; c = cn!;
  }
  return { probs, h };
}

const closeTo = (got: readonly number[], want: readonly number[], tol: number): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `chunk ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol));
};

describe('streaming VAD: If on the sample rate, nested If, LSTM state over 20 chunks', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  for (const [rate, len] of [[16000, 512], [16000, 256], [8000, 256]] as const) {
    const audio = chunks(len, rate + len);
    const sr = scalar('int64', BigInt(rate));

    it(`${rate} Hz, chunks of ${len}: reference matches onnxruntime with the state carried`, async () => {
      const ref = await stream((a, h, c) => runGraph(model.graph, [a, sr, h, c]) as Tensor[], audio);
      const ort = await stream(async (a, h, c) => (await runOrt(exported, { audio: a, sr, h, c })).values, audio);
      closeTo(ref.probs, ort.probs, 1e-4);
      closeTo(Array.from(ref.h.data as Float32Array), Array.from(ort.h.data as Float32Array), 1e-4);
      // the state matters: the same chunk gives another answer once the LSTM has seen the ones before it
      const fresh = runGraph(model.graph, [audio[CHUNKS - 1]!, sr, makeTensor('float32', [1, 1, VAD_HIDDEN]), makeTensor('float32', [1, 1, VAD_HIDDEN])]) as Tensor[];
      expect(Math.abs((fresh[0]!.data as Float32Array)[0]! - ref.probs[CHUNKS - 1]!)).toBeGreaterThan(1e-4);
    });

    it(`${rate} Hz, chunks of ${len}: wasm-O3 specialises on the rate and matches onnxruntime`, async () => {
      const prepared = getBackend('wasm-O3').prepare(importModel(exported, { source: 'streaming_vad.onnx' }));
      const ours = await stream((a, h, c) => prepared.run([a, sr, h, c]) as Tensor[], audio);
      const ort = await stream(async (a, h, c) => (await runOrt(exported, { audio: a, sr, h, c })).values, audio);
      closeTo(ours.probs, ort.probs, 1e-4);
    });
  }

  it('compile with the rate fixed writes one artifact without If, and the manifest records the fixed input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-vad-'));
    dirs.push(dir);
    const r = compileToDir(model, 'wasm', dir, {
      inputShapes: { audio: [1, 512] }, fixedInputs: { sr: fromValues('int64', [], [16000n]) },
    });
    expect(r.artifact.kernels.some((k) => k.op === 'If')).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { inputs: { name: string; fixed?: string[] }[] };
    expect(manifest.inputs.find((i) => i.name === 'sr')?.fixed).toEqual(['16000']);
  });
});

// The streaming VAD example (models/streaming-vad.ts): If on a sample-rate input with a nested If on the chunk
// length, and LSTM state carried from call to call. Checked over 20 consecutive chunks against onnxruntime on the
// reference backend, on wasm-O3 (the pipeline folds the sample rate once it is fixed, so the If disappears), and as
// one compiled artifact whose runtime carries the state: the If on the rate chosen at run time (chunks of 256 serve
// both rates), or the rate fixed (chunks of 512, where the two rates give different frame counts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { getBackend } from '../../compiler/compile.js';
import { compileToDir, compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { UnsupportedNodesError } from '../../lowering/support.js';
import { createSessionSync, type Session } from '../../runtime/wasm/session.js';
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

  /** One artifact, the state carried by the session: max |error| of prob, hn and cn against onnxruntime. */
  async function carried(len: number, rate: number, opts: { fix?: boolean; compiledCarry: boolean }): Promise<{ err: number; ops: string[] }> {
    const { artifact } = compileWasmGraph(model.graph, {
      source: 'streaming_vad', inputShapes: { audio: [1, len] },
      ...(opts.fix ? { fixedInputs: { sr: scalar('int64', BigInt(rate)) } } : {}),
      ...(opts.compiledCarry ? { carry: { h: 'hn', c: 'cn' } } : {}),
    });
    const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
    const sr = scalar('int64', BigInt(rate));
    const zero = makeTensor('float32', [1, 1, VAD_HIDDEN]);
    let h: Tensor = zero, c: Tensor = zero, err = 0;
    for (const [k, a] of chunks(len, rate + len).entries()) {
      const want = (await runOrt(exported, { audio: a, sr, h, c })).values;
      // only the first call feeds the state; later calls take the previous call's hn/cn inside the session
      const got = s.runSync({ audio: toTensorValue(a), sr: toTensorValue(sr), ...(k === 0 ? { h: toTensorValue(h), c: toTensorValue(c) } : {}) }, { carry: { h: 'hn', c: 'cn' } });
      ['prob', 'hn', 'cn'].forEach((name, i) => {
        const w = want[i]!.data as Float32Array;
        (got[name]!.data as Float32Array).forEach((v, j) => { err = Math.max(err, Math.abs(v - w[j]!)); });
      });
      h = want[1]!; c = want[2]!;
    }
    return { err, ops: artifact.kernels.map((k) => k.op) };
  }

  it('chunks of 256: ONE artifact, the If on the rate chosen at run time, serves 16 kHz and 8 kHz with the state carried by the runtime', async () => {
    for (const rate of [16000, 8000]) {
      for (const compiledCarry of [true, false]) {
        const r = await carried(256, rate, { compiledCarry });
        expect(r.ops).toContain('If');
        expect(r.err, `${rate} Hz, compiled carry ${compiledCarry}`).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it('chunks of 512: without --fix the If is refused as data-dependent (32 frames at 8 kHz, 16 at 16 kHz); with sr fixed, one artifact carries the state', async () => {
    try {
      compileWasmGraph(model.graph, { source: 'streaming_vad', inputShapes: { audio: [1, 512] } });
      expect.unreachable('compiled');
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedNodesError);
      expect((e as UnsupportedNodesError).nodes[0]).toMatchObject({ op: 'If', reason: 'data-dependent' });
    }
    const r = await carried(512, 16000, { fix: true, compiledCarry: true });
    expect(r.ops).not.toContain('If');
    expect(r.err).toBeLessThanOrEqual(1e-4);
  });

  it('the runtime checks the first call\'s state as any feed, and reset() asks for it again', () => {
    const { artifact } = compileWasmGraph(model.graph, { source: 'streaming_vad', inputShapes: { audio: [1, 256] }, carry: { h: 'hn', c: 'cn' } });
    expect(artifact.manifest.carry).toEqual([{ input: 'h', output: 'hn' }, { input: 'c', output: 'cn' }]);
    const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
    const base = { audio: toTensorValue(makeTensor('float32', [1, 256])), sr: toTensorValue(scalar('int64', 16000n)) };
    const carry = { h: 'hn', c: 'cn' };
    expect(() => s.runSync(base, { carry })).toThrow(/input 'h' has no feed/);
    expect(() => s.runSync({ ...base, h: { type: 'float32', dims: [1, 16], data: new Float32Array(16) }, c: toTensorValue(makeTensor('float32', [1, 1, VAD_HIDDEN])) }, { carry })).toThrow(/input 'h'/);
    const z = toTensorValue(makeTensor('float32', [1, 1, VAD_HIDDEN]));
    const first = s.runSync({ ...base, h: z, c: z }, { carry });
    const second = s.runSync(base, { carry });
    expect(Array.from(second['hn']!.data as Float32Array)).not.toEqual(Array.from(first['hn']!.data as Float32Array));
    s.reset();
    expect(() => s.runSync(base, { carry })).toThrow(/input 'h' has no feed/);
    // after reset, the same first feeds give the same first answer
    expect(Array.from(s.runSync({ ...base, h: z, c: z }, { carry })['hn']!.data as Float32Array)).toEqual(Array.from(first['hn']!.data as Float32Array));
    expect(() => s.runSync(base, { carry: { h: 'prob' } })).toThrow(/carry: input 'h' is float32\[1,1,16\] but output 'prob' is float32\[1,1\]/);
    expect(() => s.runSync(base, { carry: { nope: 'hn' } })).toThrow(/carry: 'nope' is not an input/);
  });

  it('the shipped loader.js carries the state as the typed runtime does (compiled pairs: run_swapped)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-vad-carry-'));
    dirs.push(dir);
    compileToDir(model, 'wasm', dir, { inputShapes: { audio: [1, 256] }, carry: { h: 'hn', c: 'cn' } });
    const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as { createSession(src: URL): Promise<Session> };
    const s = await loader.createSession(pathToFileURL(`${dir}/`));
    const { artifact } = compileWasmGraph(model.graph, { source: 'streaming_vad', inputShapes: { audio: [1, 256] } });
    const plain = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
    const sr = toTensorValue(scalar('int64', 8000n));
    const z = toTensorValue(makeTensor('float32', [1, 1, VAD_HIDDEN]));
    let h = z, c = z;
    for (const [k, a] of chunks(256, 3).slice(0, 6).entries()) {
      const got = await s.run({ audio: toTensorValue(a), sr, ...(k === 0 ? { h: z, c: z } : {}) }, { carry: { h: 'hn', c: 'cn' } });
      // the same model without carrying: the caller feeds hn/cn back by hand
      const want = plain.runSync({ audio: toTensorValue(a), sr, h, c });
      expect(Array.from(got['hn']!.data as Float32Array)).toEqual(Array.from(want['hn']!.data as Float32Array));
      expect(Array.from(got['prob']!.data as Float32Array)).toEqual(Array.from(want['prob']!.data as Float32Array));
      h = want['hn']!; c = want['cn']!;
    }
  });

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

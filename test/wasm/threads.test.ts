// compile --threads N: the module on N threads gives the 1-thread build's bits (every split keeps each output
// element's instructions and K order), on small graphs that reach every split path (GEMM rows and columns, batched
// MatMul, NHWC 1x1 / im2col / depthwise conv) and on shared models; a trap in a serial kernel leaves the session
// usable; the shipped loader.js runs threads in Node, falls back to one thread (saying so) without
// SharedArrayBuffer, and a session never keeps the process alive.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { THREAD_CTRL } from '../../backends/wasm/abi.js';
import { compileCommand } from '../../compiler/cli-compile.js';
import { compileToDir, compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import type { Graph } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { tinyCnn } from '../../models/tiny-cnn.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import { THREAD_CTRL as RUNTIME_CTRL } from '../../runtime/wasm/threads.js';
import { createSession, createSessionSync, type TensorValue } from '../../runtime/wasm/index.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { randTensor } from './helpers.js';
import { SHARED } from '../helpers/shared.js';


/** Outputs of `g` compiled (-O3) for `threads` threads and run through createSession, as raw arrays by name. */
async function runThreads(g: Graph, inputs: Readonly<Record<string, Tensor>>, threads: number): Promise<{ outs: Record<string, TensorValue>; used: number }> {
  const shapes = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, t.dims]));
  const { artifact } = compileWasmGraph(g, { inputShapes: shapes, embedLimit: Infinity, ...(threads > 1 ? { threads } : {}) }, { level: 3 });
  const s = await createSession({ wasm: artifact.wasm, manifest: artifact.manifest });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, toTensorValue(t)]));
    const outs = await s.run(feeds);
    // a second run on the same session: workers go back to waiting and join again
    const again = await s.run(feeds);
    for (const n of Object.keys(outs)) expect(bitsEqual(outs[n]!, again[n]!)).toBe(true);
    return { outs, used: s.threads };
  } finally {
    await s.release();
  }
}

const bitsEqual = (a: TensorValue, b: TensorValue): boolean => {
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** A graph whose -O3 build has every split path: im2col 3x3, depthwise 3x3, 1x1 and a residual, a wide Gemm, a
 *  batched MatMul. */
function mixedGraph(): { g: Graph; inputs: Record<string, Tensor> } {
  const b = new GraphBuilder('threads_mixed');
  const x = b.input('x', 'float32', [1, 8, 22, 22]);
  const q = b.input('q', 'float32', [4, 24, 40]);
  const w = (name: string, dims: number[], seed: number): string => b.weight(name, randTensor(dims, seed));
  let h = b.op('Conv', [x, w('c1', [16, 8, 3, 3], 2), w('b1', [16], 3)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  h = b.op('Relu', [h]);
  const d = b.op('Conv', [h, w('dw', [16, 1, 3, 3], 4)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 16 });
  h = b.op('Add', [b.op('Conv', [d, w('pw', [16, 16, 1, 1], 5)], { kernel_shape: [1, 1] }), h]);
  h = b.op('Conv', [h, w('c3', [24, 16, 3, 3], 6)], { kernel_shape: [3, 3], strides: [2, 2] });
  const flat = b.op('Flatten', [h], { axis: 1 });
  const fc = b.op('Gemm', [flat, w('fc', [24 * 10 * 10, 72], 7), w('fcb', [72], 8)]);
  const mm = b.op('MatMul', [q, w('k', [40, 36], 9)]);
  const bm = b.op('MatMul', [mm, b.op('Transpose', [mm], { perm: [0, 2, 1] })]);
  b.output(fc, bm);
  return { g: b.build(), inputs: { x: randTensor([1, 8, 22, 22], 1), q: randTensor([4, 24, 40], 11) } };
}

describe('compile --threads', () => {
  it('keeps the ABI control words in step with the runtime', () => {
    expect(RUNTIME_CTRL).toEqual(THREAD_CTRL);
  });

  it('gives the 1-thread bits on 2 and 3 threads, and the reference within 1e-5', async () => {
    const { g, inputs } = mixedGraph();
    const one = await runThreads(g, inputs, 1);
    const ref = runGraph(g, g.inputs.map((n) => inputs[n]!)) as Tensor[];
    const mine = g.outputs.map((n) => makeTensor('float32', one.outs[n]!.dims, one.outs[n]!.data as Float32Array));
    expect(worstRelativeError(mine, ref)).toBeLessThan(1e-5);
    for (const t of [2, 3]) {
      const r = await runThreads(g, inputs, t);
      expect(r.used).toBe(t);
      for (const n of g.outputs) expect(bitsEqual(r.outs[n]!, one.outs[n]!), `${n} on ${t} threads`).toBe(true);
    }
  }, 240_000);

  it('recovers from a trap in an unsplit kernel: the next run is right; createSessionSync runs it on one thread', async () => {
    const b = new GraphBuilder('threads_trap');
    const x = b.input('x', 'float32', [64, 96]);
    const i = b.input('i', 'int64', [4]);
    const y = b.op('MatMul', [x, b.weight('w', randTensor([96, 64], 5))]);
    b.output(b.op('Gather', [y, i], { axis: 0 }));
    const g = b.build();
    const { artifact } = compileWasmGraph(g, { inputShapes: { x: [64, 96], i: [4] }, threads: 2 }, { level: 3 });
    const s = await createSession({ wasm: artifact.wasm, manifest: artifact.manifest });
    try {
      const xin = toTensorValue(randTensor([64, 96], 3));
      const idx = (v: bigint[]): TensorValue => ({ type: 'int64', dims: [4], data: BigInt64Array.from(v) });
      const good = await s.run({ x: xin, i: idx([0n, 5n, 63n, -1n]) });
      await expect(s.run({ x: xin, i: idx([0n, 64n, 1n, 2n]) })).rejects.toMatchObject({ code: 'index-out-of-range' });
      const after = await s.run({ x: xin, i: idx([0n, 5n, 63n, -1n]) });
      expect(bitsEqual(after[g.outputs[0]!]!, good[g.outputs[0]!]!)).toBe(true);
      // the synchronous path runs the same artifact on one thread, and says so
      const sync = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      expect(sync.threads).toBe(1);
      expect(sync.threadsNote).toMatch(/createSessionSync runs a threaded artifact on one thread/);
      expect(bitsEqual(sync.runSync({ x: xin, i: idx([0n, 5n, 63n, -1n]) })[g.outputs[0]!]!, good[g.outputs[0]!]!)).toBe(true);
    } finally {
      await s.release();
    }
  }, 120_000);

  const models = ['mobilenet_v2', 'squeezenet1_1', 'gpt2_tiny'];
  for (const name of models) {
    const dir = join(SHARED, 'models', name);
    it.skipIf(!existsSync(join(dir, 'model.onnx')))(`${name}: 2 threads give the 1-thread bits (skipped without ${dir})`, async () => {
      const model = loadModel(join(dir, 'model.onnx'));
      const inputs: Record<string, Tensor> = {};
      model.graph.inputs.forEach((n, k) => {
        const f = join(dir, 'test_data_set_0', `input_${k}.pb`);
        if (existsSync(f)) inputs[n] = readValueFile(f) as Tensor;
      });
      const one = await runThreads(model.graph, inputs, 1);
      const two = await runThreads(model.graph, inputs, 2);
      expect(two.used).toBe(2);
      for (const n of model.graph.outputs) expect(bitsEqual(two.outs[n]!, one.outs[n]!), n).toBe(true);
    }, 600_000);
  }
});

describe('onnxc compile --threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-threads-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tiny.onnx');
  writeFileSync(file, exportModel(tinyCnn()));
  const opts = (threads: string): Parameters<typeof compileCommand>[1] => ({ target: 'wasm', output: join(dir, `out${threads}`), dim: ['batch=1'], optimize: true, embedLimit: String(1 << 20), threads });

  it('writes a threaded artifact; a thread count outside [1, 64] is a usage error', async () => {
    await compileCommand(file, opts('2'));
    expect((JSON.parse(readFileSync(join(dir, 'out2', 'manifest.json'), 'utf8')) as { threads?: number }).threads).toBe(2);
    await expect(compileCommand(file, opts('0'))).rejects.toThrow(/--threads expects an integer in \[1, 64\], got '0'/);
    await expect(compileCommand(file, opts('two'))).rejects.toThrow(/--threads expects an integer/);
  }, 120_000);
});

describe('a threaded artifact through its shipped loader.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-threads-'));
  const dir1 = mkdtempSync(join(tmpdir(), 'onnxc-threads1-'));
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); rmSync(dir1, { recursive: true, force: true }); });
  compileToDir(tinyCnn(), 'wasm', dir, { threads: 2, dims: { batch: 4 } });
  compileToDir(tinyCnn(), 'wasm', dir1, { dims: { batch: 4 } });

  /** Run both artifacts in a child Node process (`pre` runs first); the session is never released, so the child
   *  exits only if the workers do not hold it. */
  function child(pre: string): { same: boolean; threads: number; note?: string } {
    const script = `${pre}
      const load = async (d) => (await import(d + '/loader.js')).createSession(d);
      const [a, b] = [await load(${JSON.stringify(dir)}), await load(${JSON.stringify(dir1)})];
      const spec = a.inputMetadata[0], n = spec.shape.reduce((x, y) => x * y, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const feeds = { [spec.name]: { type: 'float32', dims: spec.shape, data } };
      const [x, y] = [Object.values(await a.run(feeds))[0].data, Object.values(await b.run(feeds))[0].data];
      console.log(JSON.stringify({ same: x.length === y.length && x.every((v, i) => Object.is(v, y[i])), threads: a.threads, note: a.threadsNote }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').at(-1)!) as { same: boolean; threads: number; note?: string };
  }

  it('runs on 2 threads in Node with the 1-thread bits, and the process exits without release()', () => {
    const r = child('');
    expect(r).toMatchObject({ same: true, threads: 2 });
    expect(r.note).toBeUndefined();
  }, 120_000);

  it('runs on one thread, saying why, where SharedArrayBuffer is missing (a page without cross-origin isolation)', () => {
    const r = child('delete globalThis.SharedArrayBuffer;');
    expect(r).toMatchObject({ same: true, threads: 1 });
    expect(r.note).toMatch(/one thread.*SharedArrayBuffer.*cross-origin isolated/);
  }, 120_000);
});

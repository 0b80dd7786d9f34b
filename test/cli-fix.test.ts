// `onnxc compile --fix NAME=VALUE`: a streaming model compiled for one sample rate. The If on the rate (and the If
// nested in its branch) fold away, the artifact records the fixed value, and its loader refuses any other.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runGraph } from '../backends/reference/interpreter.js';
import { main } from '../compiler/cli.js';
import { exportModel } from '../compiler/onnx/export.js';
import { makeTensor, scalar, type Tensor } from '../ir/tensor.js';
import { streamingVad, VAD_HIDDEN } from '../models/streaming-vad.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-fix-'));
const modelPath = join(dir, 'vad.onnx');
const model = streamingVad();
writeFileSync(modelPath, exportModel(model));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

function capture(): { err: () => string } {
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err.push(String(s)); return true; });
  return { err: () => err.join('\n') };
}

describe('compile --fix', () => {
  it('compiles the 16 kHz path only; the artifact matches the reference and refuses another rate', async () => {
    const out = join(dir, 'vad16k');
    const c = capture();
    expect(await main(['compile', modelPath, '--dim', 'chunk=512', '--fix', 'sr=16000', '-o', out]), c.err()).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { inputs: { name: string; fixed?: string[] }[]; kernels?: unknown };
    expect(manifest.inputs.find((i) => i.name === 'sr')?.fixed).toEqual(['16000']);
    expect(JSON.stringify(manifest.kernels ?? [])).not.toContain('"If"');

    const { createSession } = await import(join(out, 'loader.js')) as { createSession: (src?: string) => Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }> };
    const session = await createSession(out);
    const audio = makeTensor('float32', [1, 512]);
    for (let i = 0; i < 512; i++) audio.data[i] = Math.sin(i * 0.05);
    const state = (): Tensor => makeTensor('float32', [1, 1, VAD_HIDDEN]);
    const feeds = (rate: bigint): Record<string, unknown> => ({
      audio: { type: 'float32', dims: [1, 512], data: audio.data },
      sr: { type: 'int64', dims: [], data: BigInt64Array.of(rate) },
      h: { type: 'float32', dims: [1, 1, VAD_HIDDEN], data: state().data },
      c: { type: 'float32', dims: [1, 1, VAD_HIDDEN], data: state().data },
    });
    const got = await session.run(feeds(16000n));
    const want = runGraph(model.graph, [audio, scalar('int64', 16000n), state(), state()]) as Tensor[];
    expect(Math.abs(got['prob']!.data[0]! - (want[0]!.data as Float32Array)[0]!)).toBeLessThan(1e-5);
    await expect(session.run(feeds(8000n))).rejects.toThrow(/sr/);
  });

  it('a name the model lacks, or a value its dtype cannot hold, is a usage error (exit 2)', async () => {
    for (const fix of ['rate=16000', 'sr=16k', 'sr=1.5', 'sr']) {
      const c = capture();
      expect(await main(['compile', modelPath, '--dim', 'chunk=512', '--fix', fix, '-o', join(dir, 'bad')]), fix).toBe(2);
      expect(c.err().trim().split('\n')).toHaveLength(1);
      vi.restoreAllMocks();
    }
  });
});

describe('compile --carry', () => {
  it('records the state pairs; the loader carries the state across chunks as feeding it back by hand does', async () => {
    const out = join(dir, 'vad-carry');
    const c = capture();
    expect(await main(['compile', modelPath, '--dim', 'chunk=512', '--fix', 'sr=16000', '--carry', 'h=hn', '--carry', 'c=cn', '-o', out]), c.err()).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { carry?: { input: string; output: string }[] };
    expect(manifest.carry).toEqual([{ input: 'h', output: 'hn' }, { input: 'c', output: 'cn' }]);
    type Feed = { type: string; dims: number[]; data: unknown };
    type S = { run(f: Record<string, Feed>, o?: { carry: Record<string, string> }): Promise<Record<string, { data: Float32Array }>> };
    const { createSession } = await import(join(out, 'loader.js')) as { createSession: (src?: string) => Promise<S> };
    const [carried, byHand] = [await createSession(out), await createSession(out)];
    let h = new Float32Array(VAD_HIDDEN), cs = new Float32Array(VAD_HIDDEN);
    for (let k = 0; k < 5; k++) {
      const audio = Float32Array.from({ length: 512 }, (_, i) => Math.sin((i + 512 * k) * 0.05));
      const base = { audio: { type: 'float32', dims: [1, 512], data: audio }, sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) } };
      const st = (d: Float32Array): Feed => ({ type: 'float32', dims: [1, 1, VAD_HIDDEN], data: d });
      const a = await carried.run(k === 0 ? { ...base, h: st(new Float32Array(VAD_HIDDEN)), c: st(new Float32Array(VAD_HIDDEN)) } : base, { carry: { h: 'hn', c: 'cn' } });
      const b = await byHand.run({ ...base, h: st(h), c: st(cs) });
      expect(a['prob']!.data[0]).toBe(b['prob']!.data[0]);
      h = Float32Array.from(b['hn']!.data); cs = Float32Array.from(b['cn']!.data);
    }
  });

  it('a malformed pair, or one the model does not have, is a usage error (exit 2)', async () => {
    for (const pair of ['h', 'h=hn=x', 'nope=hn', 'h=nope']) {
      const c = capture();
      expect(await main(['compile', modelPath, '--dim', 'chunk=512', '--fix', 'sr=16000', '--carry', pair, '-o', join(dir, 'bad-carry')]), pair).toBe(2);
      expect(c.err().trim().split('\n')).toHaveLength(1);
      vi.restoreAllMocks();
    }
  });
});

// The case that found the hole: gpt2_tiny (vocabulary 8192) fed token ids out of range used to return output on
// the wasm backends and in its artifact (-8193 gave NaN, 2^32 + 5 acted as 5). Each is now a typed error naming the
// embedding's Gather node, as on the reference backend.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadBackend } from '../../compiler/backends.js';
import { compileToDir, toTensorValue } from '../../compiler/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { main } from '../../compiler/cli.js';
import { encodeTensorProto, readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { KernelError } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import type { TensorValue } from '../../runtime/wasm/session.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

const modelPath = sharedPath('models', 'gpt2_tiny', 'model.onnx');
const dataPath = sharedPath('models', 'gpt2_tiny', 'test_data_set_0', 'input_0.pb');
const BAD = [8192n, 8193n, -8193n, 2n ** 32n, 2n ** 32n + 5n, 2n ** 63n - 1n];

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe.skipIf(!modelPath || !dataPath)(`gpt2_tiny with token ids out of range (${modelPath && dataPath ? 'shared model' : missingReason('models', 'gpt2_tiny')})`, () => {
  const model = loadModel(modelPath!);
  const good = readValueFile(dataPath!) as Tensor<'int64'>;
  const withId = (v: bigint): Tensor<'int64'> => {
    const data = BigInt64Array.from(good.data);
    data[5] = v;
    return { ...good, data };
  };
  const gathers = new Set(model.graph.nodes.filter((n) => n.op === 'Gather').map((n) => n.name));

  it('reference: a KernelError naming the embedding Gather', async () => {
    const p = (await loadBackend('reference')).prepare(model);
    expect(() => p.run([withId(8192n)])).toThrow(/Gather index 8192 is out of range for a dim of 8192/);
  }, 120_000);

  for (const backend of ['wasm', 'wasm-O3']) {
    it(`${backend}: every out-of-range id is a KernelError naming the Gather node, with the exact id`, async () => {
      const p = (await loadBackend(backend)).prepare(model);
      for (const v of backend === 'wasm' ? [8192n, 2n ** 32n + 5n] : BAD) {
        let err: unknown;
        try { await p.run([withId(v)]); } catch (e) { err = e; }
        expect(err, `id ${v}`).toBeInstanceOf(KernelError);
        const k = err as KernelError;
        expect(k.site.op).toBe('Gather');
        expect(gathers.has(k.site.node!)).toBe(true);
        expect(k.message).toBe(`index ${v} is out of range [-8192, 8191] (axis size 8192)`);
      }
    }, 300_000);
  }

  it('compiled artifact through its loader.js: OnnxcRuntimeError index-out-of-range, then correct runs again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-gpt2-'));
    dirs.push(dir);
    compileToDir(model, 'wasm', dir, {});
    const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as {
      createSession(): Promise<{ run(f: object): Promise<Record<string, TensorValue>> }>;
    };
    const s = await loader.createSession();
    const name = model.graph.inputs[0]!, out = model.graph.outputs[0]!;
    const before = (await s.run({ [name]: toTensorValue(good) }))[out]!;
    for (const v of BAD) {
      const e = await s.run({ [name]: toTensorValue(withId(v)) }).then(() => undefined, (x: unknown) => x);
      expect(e, `id ${v}`).toMatchObject({ name: 'OnnxcRuntimeError', code: 'index-out-of-range' });
      expect(gathers.has((e as { node: string }).node)).toBe(true);
      expect((e as Error).message).toContain(`index ${v} is out of range [-8192, 8191]`);
    }
    const after = (await s.run({ [name]: toTensorValue(good) }))[out]!;
    expect(Array.from(after.data as Float32Array)).toEqual(Array.from(before.data as Float32Array));
  }, 300_000);

  describe('onnxc run', () => {
    afterEach(() => { vi.restoreAllMocks(); });
    it('--backend wasm-O3 with token id 8192: exit 1 and one line naming the node (was exit 0 with output)', async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'onnxc-gpt2-')), 'in');
      dirs.push(dir);
      mkdirSync(dir);
      writeFileSync(join(dir, 'input_0.pb'), encodeTensorProto(withId(8192n), model.graph.inputs[0]!));
      const err: string[] = [];
      vi.spyOn(console, 'log').mockImplementation(() => {});
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
      expect(await main(['run', modelPath!, '--backend', 'wasm-O3', '--inputs', dir])).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^onnxc: KernelError: .*model\.onnx: node '[^']+' \(Gather\): index 8192 is out of range \[-8192, 8191\] \(axis size 8192\)$/);
    }, 300_000);
  });
});

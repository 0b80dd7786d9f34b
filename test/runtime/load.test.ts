// createSession's sources and options: a folder path or URL (file: here; http in test/browser), the parts in
// memory, model.wasm's bytes with a manifest; progress for the weights; a broken artifact is one clear error.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileToDir } from '../../compiler/compile.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSession, OnnxcRuntimeError, type LoadProgress, type WasmManifest } from '../../runtime/wasm/index.js';
import { randTensor } from '../wasm/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b = new GraphBuilder('load');
b.output(b.op('MatMul', [b.input('x', 'float32', [1, 8]), b.weight('w', randTensor([8, 4], 3))]));
compileToDir(b.model({ source: 'load' }), 'wasm', dir, { embedLimit: 0 }); // weights in weights.bin
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WasmManifest;
const feeds = { x: { type: 'float32', dims: [1, 8], data: new Float32Array(8).fill(1) } };

describe('createSession', () => {
  it('loads a folder by path or file: URL (or its manifest.json) and reports progress for each file', async () => {
    const seen: LoadProgress[] = [];
    const a = await createSession(dir, { onProgress: (p) => seen.push(p) });
    const c = await createSession(pathToFileURL(join(dir, 'manifest.json')));
    const want = await a.run(feeds);
    expect(Array.from((await c.run(feeds))[a.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(want[a.outputNames[0]!]!.data as Float32Array));
    expect(seen.map((p) => p.file).sort()).toEqual(['manifest.json', 'model.wasm', 'weights.bin']);
    expect(seen.find((p) => p.file === 'weights.bin')).toMatchObject({ loaded: manifest.weights.bytes, total: manifest.weights.bytes });
  });

  it('takes model.wasm\'s bytes with the manifest and the weights as options', async () => {
    const s = await createSession(readFileSync(join(dir, 'model.wasm')), { manifest, weights: readFileSync(join(dir, 'weights.bin')) });
    expect(s.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: [1, 8] }]);
  });

  const refuses: [string, () => Promise<unknown>, RegExp][] = [
    ['bytes without a manifest', () => createSession(readFileSync(join(dir, 'model.wasm'))), /needs options\.manifest/],
    ['weights of the wrong size', () => createSession({ wasm: readFileSync(join(dir, 'model.wasm')), manifest, weights: new Uint8Array(3) }), /weights file 'weights\.bin' missing or of the wrong size/],
    ['a folder that is not there', () => createSession(join(dir, 'nope')), /cannot read .*nope\/manifest\.json/],
    ['a manifest that is not JSON', () => { const d = mkdtempSync(join(tmpdir(), 'onnxc-bad-')); writeFileSync(join(d, 'manifest.json'), '{'); return createSession(d); }, /manifest\.json is not JSON/],
    ['a manifest of another format', () => { const d = mkdtempSync(join(tmpdir(), 'onnxc-bad-')); writeFileSync(join(d, 'manifest.json'), '{"format":"x"}'); return createSession(d); }, /not an onnxc-wasm\/1 manifest/],
  ];
  for (const [what, load, message] of refuses) {
    it(`refuses ${what} with one OnnxcRuntimeError (code 'artifact')`, async () => {
      const err = await load().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(OnnxcRuntimeError);
      expect((err as OnnxcRuntimeError).code).toBe('artifact');
      expect((err as Error).message).toMatch(message);
    });
  }
});

// Issue 14 item 3: only regular files are read. A model path, an external-data `location` or an input .pb that
// is a FIFO or a device used to hang `inspect`/`run` (open() of a FIFO waits for a writer; /dev/zero never ends).
// Each check runs in a child process with a timeout, since a hang in this process could not be interrupted.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../compiler/onnx/proto.js';
import { fromValues } from '../../ir/tensor.js';
import { graph, model, node, vi } from '../onnx/build.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasFifo = spawnSync('mkfifo', ['--version']).status === 0 && process.platform !== 'win32';
const hasDevZero = existsSync('/dev/zero');

/** Run `calls` (expressions over loadModel/readValueFile) in a child; each prints its error class and message. */
function probe(calls: Record<string, string>): Record<string, string> {
  const script = `
import { loadModel } from ${JSON.stringify(join(repo, 'compiler/onnx/import.ts'))};
import { readValueFile } from ${JSON.stringify(join(repo, 'compiler/onnx/tensor-proto.ts'))};
const out = {};
for (const [k, f] of Object.entries({ ${Object.entries(calls).map(([k, v]) => `${JSON.stringify(k)}: () => ${v}`).join(', ')} })) {
  try { f(); out[k] = 'ok'; } catch (e) { out[k] = (e?.constructor?.name ?? 'Error') + ': ' + (e?.describe?.() ?? e?.message); }
}
console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, timeout: 60_000, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`the probe did not finish (${r.error?.message ?? `exit ${r.status}`}): a read hung or crashed\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
}

describe.skipIf(!hasFifo || !hasDevZero)('non-regular files are refused, not read', () => {
  it('model path, external data and input .pb that are FIFOs, /dev/zero or a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-files-'));
    spawnSync('mkfifo', [join(dir, 'model.onnx'), join(dir, 'weights.bin'), join(dir, 'input_0.pb')]);
    symlinkSync('/dev/zero', join(dir, 'zero.onnx'));
    const ext = (location: string) => encodeMessage('ModelProto', {
      ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [node('Relu', ['w'], ['y'])], input: [], output: [vi('y', 1)],
        initializer: [{ name: 'w', dims: [4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: location }] }] },
    });
    writeFileSync(join(dir, 'ext-fifo.onnx'), ext('weights.bin'));
    writeFileSync(join(dir, 'ok.onnx'), model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])));
    void fromValues;
    const r = probe({
      fifoModel: `loadModel(${JSON.stringify(join(dir, 'model.onnx'))})`,
      devZeroModel: `loadModel(${JSON.stringify(join(dir, 'zero.onnx'))})`,
      devZeroDirect: `loadModel('/dev/zero')`,
      folderModel: `loadModel(${JSON.stringify(dir)})`,
      fifoExternal: `loadModel(${JSON.stringify(join(dir, 'ext-fifo.onnx'))})`,
      fifoInput: `readValueFile(${JSON.stringify(join(dir, 'input_0.pb'))})`,
      urandomInput: `readValueFile('/dev/urandom')`,
      regular: `loadModel(${JSON.stringify(join(dir, 'ok.onnx'))})`,
    });
    expect(r['regular']).toBe('ok');
    for (const k of ['fifoModel', 'devZeroModel', 'devZeroDirect', 'folderModel', 'fifoExternal', 'fifoInput', 'urandomInput']) {
      expect(r[k], k).toMatch(/^OnnxImportError: .*(not a regular file)/);
    }
    expect(r['fifoModel']).toContain('a FIFO');
    expect(r['devZeroDirect']).toContain('a character device');
  }, 90_000);
});

// Issue 14: errors outside the CLI that used to end in "onnxc: internal error: ...": onnxruntime's own message
// (check with a rank-1 input), a non-JSON conformance manifest (its raw bytes in the message), integer division
// by zero (a wasm trap). Each is now a typed one-line OnnxcError; reference and wasm agree on Div/Mod by zero.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runModel } from '../../backends/reference/interpreter.js';
import { readManifest } from '../../compiler/conformance.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import { KernelError, OnnxcError, OracleError, UsageError } from '../../ir/errors.js';
import { fromValues } from '../../ir/tensor.js';
import { graph, model, node, vi } from '../onnx/build.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f]/;

describe('conformance manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-manifest-'));
  it('a non-JSON manifest is a UsageError that does not quote the file', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, 'SECRET\u001b[31m{not json\n');
    let err: unknown;
    try { readManifest(path); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('SECRET');
    expect((err as OnnxcError).describe()).not.toMatch(UNSAFE);
  });
  it('JSON of the wrong shape is refused too; a good one reads', () => {
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, '{"expectedFailures": {"test_a": 3}}');
    expect(() => readManifest(wrong)).toThrow(UsageError);
    const good = join(dir, 'good.json');
    writeFileSync(good, '{"expectedFailures": {"test_a": "why"}}');
    expect(readManifest(good).expectedFailures).toEqual({ test_a: 'why' });
  });
});

describe('onnxruntime errors', () => {
  it('an input onnxruntime refuses (rank 1 for a rank-2 input) is an OracleError of one line', async () => {
    const bytes = model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, [1, 4])], [vi('y', 1, [1, 4])]));
    let err: unknown;
    try { await runOrt(bytes, { x: fromValues('float32', [4], [1, 2, 3, 4]) }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OracleError);
    expect((err as OnnxcError).describe()).not.toMatch(UNSAFE);
    expect((err as Error).message).toMatch(/^onnxruntime failed to run the model: /);
  }, 60_000);
  it('a model onnxruntime cannot load is an OracleError', async () => {
    let err: unknown;
    try { await runOrt(new Uint8Array([1, 2, 3, 4]), {}); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OracleError);
  }, 60_000);
});

describe('integer division by zero', () => {
  for (const op of ['Div', 'Mod']) {
    it(`${op}: the reference and both wasm backends give a KernelError naming the node`, async () => {
      const m = importModel(model(graph([node(op, ['x', 'z'], ['y'], [], { name: 'd' })], [vi('x', 6, [4]), vi('z', 6, [4])], [vi('y', 6, [4])])));
      const inputs = [fromValues('int32', [4], [1, 2, 3, 4]), fromValues('int32', [4], [1, 0, 1, 1])];
      const errors: unknown[] = [];
      try { runModel(m, { x: inputs[0]!, z: inputs[1]! }); } catch (e) { errors.push(e); }
      const { wasmBackend, wasmO3Backend } = await import('../../compiler/compile.js');
      for (const b of [wasmBackend, wasmO3Backend]) {
        try { b.prepare(m).run(inputs); } catch (e) { errors.push(e); }
      }
      expect(errors).toHaveLength(3);
      for (const e of errors) {
        expect(e).toBeInstanceOf(KernelError);
        expect((e as KernelError).site.node).toBe('d');
      }
    }, 60_000);
  }
});

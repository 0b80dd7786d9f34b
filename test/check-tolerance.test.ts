// `onnxc check`'s default tolerance follows the precision the model computes in: 1e-4 for float32, float16's and
// bfloat16's epsilon where the outputs are 16-bit floats or are computed from them (a float16 model's float32
// outputs); an explicit --tolerance replaces it.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../compiler/cli.js';
import { defaultTolerance } from '../compiler/cli-run.js';
import { exportModel } from '../compiler/onnx/export.js';
import { makeTensor } from '../ir/tensor.js';
import { onnxCode, type DType } from '../ir/dtype.js';
import { GraphBuilder } from '../models/builder.js';

/** y = x * w (+ Cast back to float32 when `out` is float32 and the product is not), x float32 [2, 8]. */
function model(inner: DType, out: DType) {
  const b = new GraphBuilder(`mul_${inner}_${out}`);
  const x = b.input('x', 'float32', [2, 8]);
  const xi = inner === 'float32' ? x : b.op('Cast', [x], { to: onnxCode(inner) });
  const w = b.weight('w', makeTensor(inner, [8], Float32Array.from({ length: 8 }, (_, i) => 0.25 * i - 1)));
  const y = b.op('Mul', [xi, w]);
  b.output(out === inner ? y : b.op('Cast', [y], { to: onnxCode(out) }));
  return b.model({ source: 'mul' });
}

afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

describe('check default tolerance', () => {
  it('is float32\'s for a float32 model, the 16-bit format\'s where the output or what it is computed from is one', () => {
    const tol = (inner: DType, out: DType): number => { const g = model(inner, out).graph; return defaultTolerance(g, g.outputs[0]!); };
    expect(tol('float32', 'float32')).toBe(1e-4);
    expect(tol('float16', 'float16')).toBe(1e-3);
    expect(tol('float16', 'float32')).toBe(1e-3);
    expect(tol('bfloat16', 'bfloat16')).toBe(1e-2);
    expect(tol('bfloat16', 'float32')).toBe(1e-2);
    // an integer output keeps the strict default whatever the graph computes in
    expect(tol('float16', 'int32')).toBe(1e-4);
  });

  it('onnxc check passes a float16 model by default and applies an explicit --tolerance instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-check-tol-'));
    const file = join(dir, 'half.onnx');
    writeFileSync(file, exportModel(model('float16', 'float32')));
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    expect(await main(['check', file])).toBe(0);
    expect(out.join('\n')).toMatch(/ ok$/m);
    out.length = 0;
    // --tolerance 0: only an exact result passes, and a failing line reports a limit of 0
    await main(['check', file, '--tolerance', '0']);
    expect(out.join('\n')).toMatch(/max abs 0\.000e\+0 .* ok$|ABOVE TOLERANCE 0\.000e\+0$/m);
  });
});

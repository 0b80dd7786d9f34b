// Per backend, the kernels no test case names: a kernel is covered when a test under test/wasm/ names its op
// (a case of kernels.test.ts, a graph built in a test, ...). The list below is what is left, each checked only by
// the node conformance suite (npm run conformance); a new kernel without a test case fails here.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNELS } from '../../backends/wasm/kernels/index.js';

/** Kernels tested only through the conformance suite and the shared models (test/conformance, test/models). */
const UNTESTED_HERE: readonly string[] = [
  'And', 'BitCast', 'BitShift', 'BitwiseAnd', 'BitwiseNot', 'BitwiseOr', 'BitwiseXor', 'CastLike', 'Ceil', 'Cosh', 'EyeLike',
  'GreaterOrEqual', 'IsInf', 'IsNaN', 'LessOrEqual', 'Mean', 'Mish', 'Not', 'Or', 'PRelu', 'Range', 'Reciprocal', 'ReduceL1',
  'ReduceL2', 'ReduceLogSum', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'Round', 'Scatter', 'Selu', 'Shrink', 'Sign',
  'Squeeze', 'Unsqueeze', 'Upsample', 'Xor', 'onnxc.DequantMatMul', 'onnxc.NhwcAveragePool', 'onnxc.NhwcGlobalAveragePool',
  'onnxc.NhwcGlobalMaxPool', 'onnxc.NhwcMaxPool',
];

function testText(dir: string): string {
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts') && !f.endsWith('kernel-coverage.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}

describe('kernel coverage', () => {
  it('wasm: every kernel has a test case naming it, but for the listed ones', () => {
    const text = testText(import.meta.dirname);
    const named = (op: string): boolean => new RegExp(`['"\`]${op.replace('.', '\\.')}['"\`]`).test(text);
    const untested = Object.keys(KERNELS).filter((op) => !named(op)).sort();
    console.log(`wasm kernels with no test case under test/wasm (${untested.length} of ${Object.keys(KERNELS).length}): ${untested.join(', ')}`);
    expect(untested.filter((op) => !UNTESTED_HERE.includes(op))).toEqual([]);
  });
});

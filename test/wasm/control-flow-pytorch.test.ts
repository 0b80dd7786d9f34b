// Loops as PyTorch's exporter writes scripted code, compiled to wasm and checked against onnxruntime-node:
// `for i in range(x.size(0))` (trip count from Shape, condition a constant true, Identity of it out of the body)
// and `while cond:` (trip count INT64_MAX, the condition computed before the loop and again by the body), both
// carrying tensors (and a counter) from iteration to iteration. One artifact runs them for any data.

import { describe, expect, it } from 'vitest';
import { compileWasmGraph, fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import { fromValues, scalar, type Tensor } from '../../ir/tensor.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { attrG, attrI, graph, model, node, vi } from '../onnx/build.js';

const F = 1, I64 = 7, BOOL = 9;
const INT64_MAX = 2n ** 63n - 1n;

/** for i in range(x.size(0)): acc = acc * 0.9 + x[i]  (x float32[6, 4], acc float32[4]) */
function forLoop(): Uint8Array {
  const body = graph([
    node('Identity', ['cond_in'], ['cond_out']),
    node('Gather', ['x', 'i'], ['xi'], [attrI('axis', 0)]),
    node('Mul', ['acc_in', 'decay'], ['scaled']), node('Add', ['scaled', 'xi'], ['acc_out']),
  ], [vi('i', I64, []), vi('cond_in', BOOL, []), vi('acc_in', F, [4])], [vi('cond_out', BOOL, []), vi('acc_out', F, [4])]);
  return model(graph([
    node('Shape', ['x'], ['shape']), node('Gather', ['shape', 'zero'], ['n'], [attrI('axis', 0)]),
    node('Loop', ['n', 'true', 'acc0'], ['acc'], [attrG('body', body)]),
  ], [vi('x', F, [6, 4]), vi('acc0', F, [4])], [vi('acc', F, [4])], [
    ['zero', fromValues('int64', [], [0n])], ['true', fromValues('bool', [], [1])], ['decay', fromValues('float32', [], [0.9])],
  ]), { opset: 13 });
}

/** steps = 0; while x.sum() < limit: x = x * 1.5 + 0.25; steps += 1  (x float32[3]) */
function whileLoop(): Uint8Array {
  const body = graph([
    node('Mul', ['x_in', 'k'], ['xm']), node('Add', ['xm', 'b'], ['x_out']),
    node('Add', ['n_in', 'one'], ['n_out']),
    node('ReduceSum', ['x_out'], ['s'], [attrI('keepdims', 0)]), node('Less', ['s', 'limit'], ['cond_out']),
  ], [vi('i', I64, []), vi('cond_in', BOOL, []), vi('x_in', F, [3]), vi('n_in', I64, [])], [vi('cond_out', BOOL, []), vi('x_out', F, [3]), vi('n_out', I64, [])]);
  return model(graph([
    node('ReduceSum', ['x0'], ['s0'], [attrI('keepdims', 0)]), node('Less', ['s0', 'limit'], ['c0']),
    node('Loop', ['max_trips', 'c0', 'x0', 'n0'], ['x', 'steps'], [attrG('body', body)]),
  ], [vi('x0', F, [3]), vi('limit', F, [])], [vi('x', F, [3]), vi('steps', I64, [])], [
    ['max_trips', fromValues('int64', [], [INT64_MAX])], ['n0', fromValues('int64', [], [0n])], ['one', fromValues('int64', [], [1n])],
    ['k', fromValues('float32', [], [1.5])], ['b', fromValues('float32', [], [0.25])],
  ]), { opset: 13 });
}

async function matchesOrt(bytes: Uint8Array, source: string, cases: Record<string, Tensor>[]): Promise<void> {
  const m = importModel(bytes, { source });
  const { artifact } = compileWasmGraph(m.graph, { source });
  expect(artifact.kernels.map((k) => k.op)).toContain('Loop');
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
  for (const feeds of cases) {
    const want = (await runOrt(bytes, feeds)).values;
    const got = s.runSync(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTensorValue(v)])));
    m.graph.outputs.forEach((o, i) => {
      const g = fromTensorValue(got[o]!);
      expect(g.dims, o).toEqual(want[i]!.dims);
      const w = Array.from(want[i]!.data as ArrayLike<number | bigint>, Number);
      Array.from(g.data as ArrayLike<number | bigint>, Number).forEach((v, j) => expect(Math.abs(v - w[j]!), `${o}[${j}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[j]!))));
    });
  }
}

describe('PyTorch-style scripted loops on wasm, against onnxruntime', () => {
  it('for i in range(x.size(0)): trip count from Shape, carried accumulator', async () => {
    const x = (f: (i: number) => number): Tensor => fromValues('float32', [6, 4], Array.from({ length: 24 }, (_, i) => f(i)));
    await matchesOrt(forLoop(), 'for-loop.onnx', [
      { x: x((i) => Math.sin(i)), acc0: fromValues('float32', [4], [0, 0, 0, 0]) },
      { x: x((i) => i % 5 - 2), acc0: fromValues('float32', [4], [1, -1, 2, 0.5]) },
    ]);
  });

  it('while cond: trip count INT64_MAX, the body computes the condition; tensors and a counter carried', async () => {
    const v = (a: number[]): Tensor => fromValues('float32', [3], a);
    await matchesOrt(whileLoop(), 'while-loop.onnx', [
      { x0: v([0.1, 0.2, 0.3]), limit: scalar('float32', 50) },
      { x0: v([1, 2, 3]), limit: scalar('float32', 7) },
      // the condition is false before the first iteration: zero iterations, the initial values come out
      { x0: v([5, 5, 5]), limit: scalar('float32', 1) },
    ]);
  });
});

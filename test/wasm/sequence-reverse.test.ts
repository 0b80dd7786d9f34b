// ReverseSequence on wasm (kernels/sequence-reverse.ts): both axis orders, lengths 0..T, int32 and float32 slabs,
// against the reference; a length outside [0, T] read at run time stops the run with an error naming the node.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { wasmBackend } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { KernelError } from '../../ir/errors.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { attrI, graph, model, node, vi } from '../onnx/build.js';

const reverse = (elem: number, dims: number[], timeAxis: number): ReturnType<typeof importModel> => importModel(model(graph(
  [node('ReverseSequence', ['x', 'lens'], ['y'], [attrI('time_axis', timeAxis), attrI('batch_axis', 1 - timeAxis)], { name: 'rev' })],
  [vi('x', elem, dims), vi('lens', 7, [dims[1 - timeAxis]!])], [vi('y', elem, dims)])), { source: 'reverse.onnx' });
const lens = (xs: number[]): Tensor => fromValues('int64', [xs.length], xs.map(BigInt));

describe('ReverseSequence on wasm', () => {
  it('agrees with the reference for time-major and batch-major layouts and every length', () => {
    for (const [timeAxis, dims, elem, dtype] of [[0, [5, 4, 3], 1, 'float32'], [1, [4, 5, 2], 6, 'int32']] as const) {
      const m = reverse(elem, [...dims], timeAxis);
      const x = fromValues(dtype, [...dims], Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => i));
      const l = lens([0, 1, 5, 3]);
      const got = wasmBackend.prepare(m).run([x, l])[0] as Tensor;
      const want = runGraph(m.graph, [x, l])[0] as Tensor;
      expect(Array.from(got.data as ArrayLike<number>)).toEqual(Array.from(want.data as ArrayLike<number>));
    }
  });

  it('a length past the time axis is an error naming the node, not a read outside the tensor', () => {
    const m = reverse(1, [5, 4, 3], 0);
    const x = fromValues('float32', [5, 4, 3], new Array(60).fill(1));
    const run = wasmBackend.prepare(m);
    for (const bad of [6, -1]) {
      let err: unknown;
      try { run.run([x, lens([1, bad, 2, 0])]); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(KernelError);
      expect((err as KernelError).describe()).toMatch(new RegExp(`node 'rev' \\(ReverseSequence\\): index ${bad} is out of range \\[0, 5\\]`));
    }
  });
});

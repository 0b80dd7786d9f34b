// Control flow on the wasm backend: an If whose condition is known once shapes are fixed (a shape test, as
// exporters write for dynamic batch/sequence handling) is inlined by the pass pipeline, so `wasm-O3` (what
// `compile` deploys) runs the model without If; the plain `wasm` backend (no passes) compiles the branch the
// condition takes (control-flow-runtime.test.ts: conditions known only at run time).

import { describe, expect, it } from 'vitest';
import { getBackend } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import { attrG, attrI, graph, model, node, vi } from '../onnx/build.js';

/** y = If(Shape(x)[1] == 4) then Relu(x) * 2 (nested If on Shape(x)[0] > 1: Abs) else Neg(x). */
function shapeTestModel(): Uint8Array {
  const inner = {
    then: graph([node('Abs', ['r'], ['ia'])], [], [{ name: 'ia', type: {} }]),
    else: graph([node('Identity', ['r'], ['ib'])], [], [{ name: 'ib', type: {} }]),
  };
  const then = graph([
    node('Relu', ['x'], ['r0']), node('Add', ['r0', 'r0'], ['r']),
    node('If', ['big'], ['t'], [attrG('then_branch', inner.then), attrG('else_branch', inner.else)]),
  ], [], [{ name: 't', type: {} }]);
  const els = graph([node('Neg', ['x'], ['e'])], [], [{ name: 'e', type: {} }]);
  return model(graph([
    node('Shape', ['x'], ['s']),
    node('Gather', ['s', 'one'], ['d1'], [attrI('axis', 0)]),
    node('Equal', ['d1', 'four'], ['c']),
    node('Gather', ['s', 'zero'], ['d0'], [attrI('axis', 0)]),
    node('Greater', ['d0', 'one'], ['big']),
    node('If', ['c'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)]),
  ], [vi('x', 1, ['n', 'm'])], [vi('y', 1)], [
    ['one', fromValues('int64', [], [1n])], ['zero', fromValues('int64', [], [0n])], ['four', fromValues('int64', [], [4n])],
  ]));
}

describe('If with a condition fixed by the input shapes', () => {
  const m = importModel(shapeTestModel(), { source: 'shape-if.onnx' });
  const cases: [string, Tensor][] = [
    ['then, nested then (2x4)', fromValues('float32', [2, 4], [-1, 2, -3, 4, 5, -6, 7, -8])],
    ['then, nested else (1x4)', fromValues('float32', [1, 4], [-1, 2, -3, 4])],
    ['else (2x3)', fromValues('float32', [2, 3], [-1, 2, -3, 4, 5, -6])],
  ];
  for (const [what, x] of cases) {
    it(`wasm-O3 inlines the taken branch and matches the reference: ${what}`, () => {
      const want = runGraph(m.graph, [x])[0] as Tensor;
      const got = getBackend('wasm-O3').prepare(m).run([x])[0] as Tensor;
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
    });
  }

  for (const [what, x] of cases) {
    it(`the plain wasm backend (no passes) runs the If kernel and matches the reference: ${what}`, () => {
      const want = runGraph(m.graph, [x])[0] as Tensor;
      const got = getBackend('wasm').prepare(m).run([x])[0] as Tensor;
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
    });
  }
});

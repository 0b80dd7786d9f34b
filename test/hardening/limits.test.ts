// Issue 14 item 3: every model-driven size is checked against a limit before anything is allocated, with a
// LimitError naming the node and the limit; before, these reached the reference as "Invalid typed array length"
// or the wasm compile as Binaryen's multi-line validator dump, and Resize with scales 1e6 overflowed the stack.

import { describe, expect, it } from 'vitest';
import { runModel } from '../../backends/reference/interpreter.js';
import { importModel } from '../../compiler/onnx/import.js';
import { LimitError, OnnxcError } from '../../ir/errors.js';
import { DEFAULT_LIMITS, limits, withLimits } from '../../ir/limits.js';
import { fromValues, scalar } from '../../ir/tensor.js';
import { attrG, attrInts, graph, model, node, vi } from '../onnx/build.js';

const i64 = (vals: number[]) => fromValues('int64', [vals.length], vals.map((v) => BigInt(v)));

/** The error importing `bytes` throws (undefined when it imports). */
function importError(bytes: Uint8Array, dims?: Record<string, number>): unknown {
  try { importModel(bytes, { source: 'm.onnx', dims }); return undefined; } catch (e) { return e; }
}

function expectLimit(e: unknown, node: string, limit = 'maxElements'): void {
  expect(e).toBeInstanceOf(LimitError);
  const err = e as LimitError;
  expect(err.limit).toBe(limit);
  expect(err.site.node).toBe(node);
  expect(err.describe()).toContain(`${limit}=`);
  expect(err.describe()).not.toContain('\n');
}

describe('sizes from shape inference are refused at import', () => {
  const cases: [string, Uint8Array][] = [
    ['Expand to 2^42 elements', model(graph([node('Expand', ['x', 's'], ['y'], [], { name: 'n' })], [vi('x', 1, [1])], [vi('y', 1)], [['s', i64([2 ** 14, 2 ** 14, 2 ** 14])]]))],
    ['Tile repeats 1e12', model(graph([node('Tile', ['x', 'r'], ['y'], [], { name: 'n' })], [vi('x', 1, [2])], [vi('y', 1)], [['r', i64([1e12])]]))],
    ['Pad by 1e12', model(graph([node('Pad', ['x', 'p'], ['y'], [], { name: 'n' })], [vi('x', 1, [2])], [vi('y', 1)], [['p', i64([1e12, 0])]]))],
    ['Conv with pads 1e5', model(graph([node('Conv', ['x', 'w'], ['y'], [attrInts('pads', [1e5, 1e5, 1e5, 1e5])], { name: 'n' })], [vi('x', 1, [1, 1, 3, 3])], [vi('y', 1)], [['w', fromValues('float32', [1, 1, 1, 1], [1])]]))],
    ['ConstantOfShape 1e6 x 1e6', model(graph([node('ConstantOfShape', ['s'], ['y'], [], { name: 'n' })], [], [vi('y', 1)], [['s', i64([1e6, 1e6])]]))],
    ['Resize scales 1e6', model(graph([node('Resize', ['x', '', 's'], ['y'], [], { name: 'n' })], [vi('x', 1, [1, 1, 2, 2])], [vi('y', 1)], [['s', fromValues('float32', [4], [1, 1, 1e6, 1e6])]]))],
  ];
  for (const [what, bytes] of cases) it(what, () => expectLimit(importError(bytes), 'n'));

  it('a symbolic dim sized past the limit (--dim batch=1e9)', () => {
    const bytes = model(graph([node('Relu', ['x'], ['y'], [], { name: 'n' })], [vi('x', 1, ['batch', 4])], [vi('y', 1)]));
    expect(importError(bytes, { batch: 2 })).toBeUndefined();
    const e = importError(bytes, { batch: 1e9 });
    expect(e).toBeInstanceOf(LimitError);
  });

  it('the limit is an option: lower it and a small model is refused, the default comes back after', () => {
    const bytes = model(graph([node('Tile', ['x', 'r'], ['y'], [], { name: 'n' })], [vi('x', 1, [2])], [vi('y', 1)], [['r', i64([1000])]]));
    expect(importError(bytes)).toBeUndefined();
    expectLimit((() => { try { importModel(bytes, { limits: { maxElements: 1000 } }); } catch (e) { return e; } })(), 'n');
    expect(withLimits({ maxElements: 1000 }, () => importError(bytes))).toBeInstanceOf(LimitError);
    expect(limits.maxElements).toBe(DEFAULT_LIMITS.maxElements);
  });
});

describe('sizes only known at run time are refused before allocation (reference)', () => {
  it('Expand with a run-time shape of 2^40 elements', () => {
    const m = importModel(model(graph([node('Expand', ['x', 's'], ['y'], [], { name: 'n' })], [vi('x', 1, [1]), vi('s', 7, [2])], [vi('y', 1)])));
    let err: unknown;
    try { runModel(m, { x: fromValues('float32', [1], [1]), s: i64([2 ** 20, 2 ** 20]) }); } catch (e) { err = e; }
    expectLimit(err, 'n');
  });

  it('a Loop trip count of 1e12 is refused before the first iteration', () => {
    const body = graph([node('Identity', ['c_in'], ['c_out']), node('Identity', ['v_in'], ['v_out'])],
      [vi('i', 7, []), vi('c_in', 9, []), vi('v_in', 1, [1])], [vi('c_out', 9, []), vi('v_out', 1, [1])]);
    const m = importModel(model(graph([node('Loop', ['M', '', 'v'], ['out'], [attrG('body', body)], { name: 'loop' })],
      [vi('M', 7, []), vi('v', 1, [1])], [vi('out', 1, [1])])));
    const t0 = performance.now();
    let err: unknown;
    try { runModel(m, { M: scalar('int64', 10n ** 12n), v: fromValues('float32', [1], [0]) }); } catch (e) { err = e; }
    expect(performance.now() - t0).toBeLessThan(2000);
    expectLimit(err, 'loop', 'maxLoopIterations');
  });

  it('a Loop with trip count INT64_MAX and a condition (a PyTorch while loop) runs until the condition stops it', () => {
    // body: i < 3 -> cond, v + 1 -> v
    const body = graph([
      node('Less', ['i', 'three'], ['c_out']), node('Add', ['v_in', 'one'], ['v_out']),
    ], [vi('i', 7, []), vi('c_in', 9, []), vi('v_in', 1, [1])], [vi('c_out', 9, []), vi('v_out', 1, [1])],
    [['three', scalar('int64', 3n)], ['one', fromValues('float32', [1], [1])]]);
    const m = importModel(model(graph([node('Loop', ['M', 'c', 'v'], ['out'], [attrG('body', body)], { name: 'loop' })],
      [vi('M', 7, []), vi('c', 9, []), vi('v', 1, [1])], [vi('out', 1, [1])])));
    const out = runModel(m, { M: scalar('int64', 2n ** 63n - 1n), c: fromValues('bool', [], [true]), v: fromValues('float32', [1], [0]) });
    expect(Array.from((out['out'] as { data: Float32Array }).data)).toEqual([4]);
  });
});

describe('sizes at import', () => {
  it('an initializer declaring 2^40 x 2^40 elements', () => {
    const e = importError(model(graph([node('Relu', ['w'], ['y'])], [], [vi('y', 1)], [['w', fromValues('float32', [1], [1])]], {
      initializer: [{ name: 'w', dims: [2 ** 40, 2 ** 40], data_type: 1 }],
    })));
    expect(e).toBeInstanceOf(LimitError);
  });

  it('a Constant whose value declares more elements than the limit', () => {
    const e = importError(model(graph([node('Constant', [], ['c'], [{ name: 'value', type: 4, t: { dims: [2 ** 20, 2 ** 20], data_type: 1 } }]), node('Relu', ['c'], ['y'])], [], [vi('y', 1)])));
    expect(e).toBeInstanceOf(OnnxcError);
    expect((e as OnnxcError).name).toBe('LimitError');
  });
});

describe('sizes at compile', () => {
  it('input shapes past the limit give a LimitError, not Binaryen\'s "initial memory must be <= 4GB" dump', async () => {
    const { compileWasmGraph } = await import('../../compiler/compile.js');
    const m = importModel(model(graph([node('Relu', ['x'], ['y'], [], { name: 'n' })], [vi('x', 1, ['batch', 4])], [vi('y', 1)])));
    for (const level of [0, 3] as const) {
      let err: unknown;
      try { compileWasmGraph(m.graph, { source: 'm.onnx', inputShapes: { x: [1e9, 4] } }, { level }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LimitError);
      expect((err as Error).message).not.toContain('wasm-validator');
    }
  }, 60_000);
});

describe('big but allowed sizes do not overflow the stack', () => {
  it('Resize to 4e5 outputs on one axis compiles (the tap table was spread into Math.max)', async () => {
    const { compileWasmGraph } = await import('../../compiler/compile.js');
    const m = importModel(model(graph([node('Resize', ['x', '', 's'], ['y'], [], { name: 'rs' })], [vi('x', 1, [1, 1, 1, 4])], [vi('y', 1)],
      [['s', fromValues('float32', [4], [1, 1, 1, 1e5])]])));
    expect(() => compileWasmGraph(m.graph, { source: 'm.onnx' }, { level: 0 })).not.toThrow();
  }, 120_000);
});

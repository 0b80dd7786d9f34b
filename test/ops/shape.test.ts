// Unit tests for the shape ops: hand-computed values, awkward cases, symbolic inference and legacy rewrites.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitError, ShapeError } from '../../ir/errors.js';
import type { Attr } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, scalar, toNumbers } from '../../ir/tensor.js';
import type { Dim, ValueType } from '../../ir/types.js';
import { getOp } from '../../ops/index.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import type { ImportNode, InferContext } from '../../ops/schema.js';
import { plainAttrs } from '../../ops/attrs.js';
import { completeAttrs, out, runOp } from '../helpers/run-op.js';

const f32 = (dims: number[], v: number[]) => fromValues('float32', dims, v);
const i64 = (v: (number | bigint)[], dims = [v.length]) => fromValues('int64', dims, v.map((x) => BigInt(x)));
const int = (value: number): Attr => ({ kind: 'int', value });
const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const str = (value: string): Attr => ({ kind: 'string', value });
const vals = (t: Tensor) => toNumbers(t);

/** Infer with symbolic input types; constants by input index. */
function inferTypes(op: string, inputs: (ValueType | undefined)[], consts: Record<number, Tensor> = {}, attrs: Record<string, Attr> = {},
  numOutputs?: number, syms: Record<number, Dim[]> = {}): ValueType[] {
  const def = getOp(op)!;
  const node = { name: 'n', op, inputs: inputs.map((_, i) => `i${i}`), outputs: ['o'], attrs: completeAttrs(def, attrs) };
  let n = 0;
  const ctx: InferContext<never> = {
    node,
    attrs: plainAttrs(def, node) as never,
    inputs,
    constant: (i) => consts[i],
    shapeValue: (i) => syms[i],
    numOutputs: numOutputs ?? def.outputs[0],
    inferSubgraph: () => [],
    freshDim: () => `?${n++}`,
  };
  return def.infer(ctx as never);
}
const T = (dtype: 'float32' | 'int64', shape?: Dim[]): ValueType => (shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype });
const shapeOf = (t: ValueType) => (t.kind === 'tensor' ? t.shape : undefined);

function legacy(op: string, node: Partial<ImportNode>, opset: number): { nodes: ImportNode[]; consts: Map<string, Tensor> } {
  const consts = new Map<string, Tensor>();
  const full: ImportNode = { name: 'n', op, inputs: ['x'], outputs: ['y'], attrs: {}, ...node };
  const nodes = opsetRewrite(op)!(full, {
    opset, freshName: (h) => `${h}_fresh`,
    constant: (t, h) => { const name = `${h ?? 'c'}_${consts.size}`; consts.set(name, t); return name; },
  });
  return { nodes, consts };
}

describe('Reshape', () => {
  const x = f32([2, 3, 4], Array.from({ length: 24 }, (_, i) => i));
  it('handles 0 (copy) and -1 (infer)', () => {
    const r = runOp('Reshape', [x, i64([0, -1])]);
    expect(out(r).dims).toEqual([2, 12]);
    expect(vals(out(r))).toEqual(vals(x));
  });
  it('allowzero keeps a literal 0 dim', () => {
    const e = f32([0, 3], []);
    expect(out(runOp('Reshape', [e, i64([3, 0])], { allowzero: int(1) })).dims).toEqual([3, 0]);
  });
  it('rejects bad element counts and two -1s', () => {
    expect(() => runOp('Reshape', [x, i64([5, -1])])).toThrow(ShapeError);
    expect(() => runOp('Reshape', [x, i64([-1, -1])])).toThrow(ShapeError);
  });
  it('infers symbolic dims through 0 and -1', () => {
    const [t] = inferTypes('Reshape', [T('float32', ['batch', 12, 64]), T('int64', [3])], { 1: i64([0, -1, 32]) });
    expect(shapeOf(t!)).toEqual(['batch', 24, 32]);
    const [u] = inferTypes('Reshape', [T('float32', ['batch', 12]), T('int64', [1])], { 1: i64([-1]) });
    expect(shapeOf(u!)).toEqual(['batch*12']);
    // product symbols cancel: [batch*2, seq, 64] back to [batch, -1, seq, 64]
    const [w] = inferTypes('Reshape', [T('float32', ['batch*2', 'seq', 64]), T('int64', [4])], {}, {}, undefined, { 1: ['batch', -1, 'seq', 64] });
    expect(shapeOf(w!)).toEqual(['batch', 2, 'seq', 64]);
    const [v] = inferTypes('Reshape', [T('float32', ['b', 'n']), T('int64', [2])]);
    expect(shapeOf(v!)).toEqual(['?0', '?1']);
  });
  it('uses symbolic shape values from Shape -> Gather -> Concat chains', () => {
    const [t] = inferTypes('Reshape', [T('float32', ['batch', 'seq', 768]), T('int64', [4])], {}, {}, undefined, { 1: ['batch', 'seq', 12, -1] });
    expect(shapeOf(t!)).toEqual(['batch', 'seq', 12, 64]);
  });
  it('legacy opset 1-4 moves the shape attribute to an input', () => {
    const { nodes, consts } = legacy('Reshape', { attrs: { shape: ints([2, -1]), consumed_inputs: ints([0]) } }, 4);
    expect(nodes[0]!.attrs).toEqual({});
    expect(vals(consts.get(nodes[0]!.inputs[1]!)!)).toEqual([2, -1]);
  });
});

describe('Flatten, Squeeze, Unsqueeze', () => {
  it('flattens at axis 0, default and negative', () => {
    const x = f32([2, 3, 4], new Array(24).fill(1));
    expect(out(runOp('Flatten', [x], { axis: int(0) })).dims).toEqual([1, 24]);
    expect(out(runOp('Flatten', [x])).dims).toEqual([2, 12]);
    expect(out(runOp('Flatten', [x], { axis: int(-1) })).dims).toEqual([6, 4]);
    expect(out(runOp('Flatten', [x], { axis: int(3) })).dims).toEqual([24, 1]);
    expect(shapeOf(inferTypes('Flatten', [T('float32', ['b', 3, 4])])[0]!)).toEqual(['b', 12]);
    expect(shapeOf(inferTypes('Flatten', [T('float32', ['b', 3, 4])], {}, { axis: int(2) })[0]!)).toEqual(['b*3', 4]);
  });
  it('squeezes given axes or every 1', () => {
    const x = f32([1, 3, 1], [1, 2, 3]);
    expect(out(runOp('Squeeze', [x, i64([-1])])).dims).toEqual([1, 3]);
    expect(out(runOp('Squeeze', [x])).dims).toEqual([3]);
    expect(() => runOp('Squeeze', [x, i64([1])])).toThrow(ShapeError);
  });
  it('unsqueezes unsorted and negative axes', () => {
    const x = f32([3, 4], new Array(12).fill(0));
    expect(out(runOp('Unsqueeze', [x, i64([3, 0])])).dims).toEqual([1, 3, 4, 1]);
    expect(out(runOp('Unsqueeze', [x, i64([-1])])).dims).toEqual([3, 4, 1]);
    expect(out(runOp('Unsqueeze', [scalar('float32', 5), i64([0])])).dims).toEqual([1]);
    expect(() => runOp('Unsqueeze', [x, i64([0, 0])])).toThrow(ShapeError);
  });
  it('legacy Squeeze/Unsqueeze take axes from the attribute', () => {
    const { nodes, consts } = legacy('Unsqueeze', { attrs: { axes: ints([0]) } }, 11);
    expect(vals(consts.get(nodes[0]!.inputs[1]!)!)).toEqual([0]);
  });
});

describe('Transpose, Concat, Split, Tile', () => {
  it('transposes with and without perm', () => {
    const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(vals(out(runOp('Transpose', [x])))).toEqual([1, 4, 2, 5, 3, 6]);
    const y = f32([1, 2, 3], [1, 2, 3, 4, 5, 6]);
    const r = out(runOp('Transpose', [y], { perm: ints([2, 0, 1]) }));
    expect(r.dims).toEqual([3, 1, 2]);
    expect(vals(r)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => runOp('Transpose', [y], { perm: ints([0, 0, 1]) })).toThrow(ShapeError);
  });
  it('concats along a negative axis, with an empty input', () => {
    const a = f32([2, 1], [1, 2]), b = f32([2, 2], [3, 4, 5, 6]), e = f32([2, 0], []);
    const r = out(runOp('Concat', [a, e, b], { axis: int(-1) }));
    expect(r.dims).toEqual([2, 3]);
    expect(vals(r)).toEqual([1, 3, 4, 2, 5, 6]);
    expect(shapeOf(inferTypes('Concat', [T('float32', ['b', 2]), T('float32', ['b', 3])], {}, { axis: int(1) })[0]!)).toEqual(['b', 5]);
  });
  it('concats int64 shape pieces exactly', () => {
    expect(out(runOp('Concat', [i64([1n]), i64([-1n, 9007199254740993n])], { axis: int(0) })).data).toEqual(new BigInt64Array([1n, -1n, 9007199254740993n]));
  });
  it('splits by split input, equally and by num_outputs', () => {
    const x = f32([7], [1, 2, 3, 4, 5, 6, 7]);
    let r = runOp('Split', [x, i64([2, 5])], {}, 2);
    expect(vals(out(r, 1))).toEqual([3, 4, 5, 6, 7]);
    r = runOp('Split', [x], { num_outputs: int(3) }, 3);
    expect([0, 1, 2].map((i) => out(r, i).dims[0])).toEqual([3, 3, 1]);
    expect(() => runOp('Split', [x], {}, 2)).toThrow(ShapeError);
    const m = f32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    r = runOp('Split', [m], { axis: int(1) }, 2);
    expect(vals(out(r, 1))).toEqual([3, 4, 7, 8]);
  });
  it('tiles', () => {
    const x = f32([2, 2], [1, 2, 3, 4]);
    const r = out(runOp('Tile', [x, i64([1, 2])]));
    expect(r.dims).toEqual([2, 4]);
    expect(vals(r)).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(out(runOp('Tile', [x, i64([0, 1])])).dims).toEqual([0, 2]);
  });
});

describe('Slice', () => {
  const x = f32([3, 4], Array.from({ length: 12 }, (_, i) => i));
  it('slices with steps, negative steps and clamping', () => {
    expect(vals(out(runOp('Slice', [x, i64([0, 1]), i64([3, 1000]), i64([0, 1]), i64([2, 2])])))).toEqual([1, 3, 9, 11]);
    expect(vals(out(runOp('Slice', [x, i64([-1]), i64([-1000]), i64([1]), i64([-1])])))).toEqual([3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
    expect(out(runOp('Slice', [x, i64([10]), i64([20])])).dims).toEqual([0, 4]);
  });
  it('handles int64 extremes', () => {
    const max = 9223372036854775807n, min = -9223372036854775808n;
    expect(vals(out(runOp('Slice', [x, i64([max]), i64([min]), i64([0]), i64([-1])])))).toEqual([8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
    expect(out(runOp('Slice', [x, i64([1]), i64([max]), i64([-1])])).dims).toEqual([3, 3]);
  });
  it('rejects a zero step', () => {
    expect(() => runOp('Slice', [x, i64([0]), i64([1]), i64([0]), i64([0])])).toThrow(ShapeError);
  });
  it('slices x[0:n] to a symbolic n', () => {
    const [t] = inferTypes('Slice', [T('float32', [1024, 1024]), T('int64', [1]), T('int64', [1]), T('int64', [1])], { 1: i64([0]), 3: i64([1]) }, {}, undefined, { 2: ['seq'] });
    expect(shapeOf(t!)).toEqual([1024, 'seq']);
  });
  it('keeps symbolic dims when slicing a whole axis', () => {
    const [t] = inferTypes('Slice', [T('float32', ['b', 8]), T('int64', [2]), T('int64', [2])], { 1: i64([0, 2]), 2: i64([9223372036854775807n, 6]) });
    expect(shapeOf(t!)).toEqual(['b', 4]);
  });
});

describe('Pad', () => {
  const x = f32([3], [1, 2, 3]);
  const modes: [string, number[]][] = [
    ['constant', [0, 0, 1, 2, 3, 0]], ['edge', [1, 1, 1, 2, 3, 3]], ['reflect', [3, 2, 1, 2, 3, 2]], ['wrap', [2, 3, 1, 2, 3, 1]],
  ];
  for (const [mode, want] of modes) {
    it(`pads in ${mode} mode`, () => {
      expect(vals(out(runOp('Pad', [x, i64([2, 1])], { mode: str(mode) })))).toEqual(want);
    });
  }
  it('crops with negative pads, fills with constant_value, honours axes', () => {
    expect(vals(out(runOp('Pad', [x, i64([-1, 1]), f32([], [9])])))).toEqual([2, 3, 9]);
    const m = f32([2, 2], [1, 2, 3, 4]);
    const r = out(runOp('Pad', [m, i64([1, 0]), undefined, i64([-1])]));
    expect(r.dims).toEqual([2, 3]);
    expect(vals(r)).toEqual([0, 1, 2, 0, 3, 4]);
  });
  it('legacy Pad-2 takes pads and value from attributes', () => {
    const { nodes, consts } = legacy('Pad', { attrs: { pads: ints([1, 1]), value: { kind: 'float', value: 2 }, mode: str('constant') } }, 2);
    const n = nodes[0]!;
    expect(Object.keys(n.attrs)).toEqual(['mode']);
    expect(vals(consts.get(n.inputs[1]!)!)).toEqual([1, 1]);
    expect(vals(consts.get(n.inputs[2]!)!)).toEqual([2]);
    const r = out(runOp('Pad', [x, consts.get(n.inputs[1]!)!, consts.get(n.inputs[2]!)!]));
    expect(vals(r)).toEqual([2, 1, 2, 3, 2]);
  });
});

describe('Expand, Shape, Size, ConstantOfShape, Range', () => {
  it('expands, including to a smaller-rank shape', () => {
    const x = f32([3, 1], [1, 2, 3]);
    const r = out(runOp('Expand', [x, i64([2, 1, 2])]));
    expect(r.dims).toEqual([2, 3, 2]);
    expect(vals(r)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    expect(out(runOp('Expand', [x, i64([1])])).dims).toEqual([3, 1]);
    expect(() => runOp('Expand', [x, i64([2, 2])])).toThrow(ShapeError);
  });
  it('Shape with start/end clamping', () => {
    const x = f32([2, 3, 4], new Array(24).fill(0));
    expect(vals(out(runOp('Shape', [x])))).toEqual([2, 3, 4]);
    expect(vals(out(runOp('Shape', [x], { start: int(-2), end: int(10) })))).toEqual([3, 4]);
    expect(out(runOp('Shape', [x], { start: int(2), end: int(1) })).dims).toEqual([0]);
    expect(vals(out(runOp('Size', [x])))).toEqual([24]);
  });
  it('ConstantOfShape with and without value', () => {
    expect(vals(out(runOp('ConstantOfShape', [i64([2, 2])])))).toEqual([0, 0, 0, 0]);
    const r = out(runOp('ConstantOfShape', [i64([2])], { value: { kind: 'tensor', value: i64([7]) } }));
    expect(r.data).toEqual(new BigInt64Array([7n, 7n]));
    expect(out(runOp('ConstantOfShape', [i64([])])).dims).toEqual([]);
    expect(() => runOp('ConstantOfShape', [i64([100000, 100000])])).toThrow(LimitError);
  });
  it('Range for ints, floats, negative deltas and float16', () => {
    expect(vals(out(runOp('Range', [scalar('int32', 10), scalar('int32', 4), scalar('int32', -3)])))).toEqual([10, 7]);
    expect(vals(out(runOp('Range', [scalar('float32', 1), scalar('float32', 2), scalar('float32', 0.25)])))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(out(runOp('Range', [scalar('int64', 5n), scalar('int64', 1n), scalar('int64', 1n)])).dims).toEqual([0]);
    // float16 0.3 is 0.30005 and 0.1 is 0.099976: ceil(3.001) = 4 elements, each rounded to float16
    expect(vals(out(runOp('Range', [scalar('float16', 0), scalar('float16', 0.3), scalar('float16', 0.1)])))).toEqual([0, 0.0999755859375, 0.199951171875, 0.2998046875]);
    expect(() => runOp('Range', [scalar('int32', 0), scalar('int32', 4), scalar('int32', 0)])).toThrow(ShapeError);
  });
});

describe('Identity, Constant, EyeLike, Trilu', () => {
  it('Identity passes sequences through', () => {
    const seq = { kind: 'sequence' as const, elemType: T('float32'), items: [f32([1], [1])] };
    expect(runOp('Identity', [seq]).outputs[0]).toBe(seq);
  });
  it('Constant from value_ints and value', () => {
    expect(out(runOp('Constant', [], { value_ints: ints([1, 2]) })).data).toEqual(new BigInt64Array([1n, 2n]));
    expect(vals(out(runOp('Constant', [], { value_float: { kind: 'float', value: 1.5 } })))).toEqual([1.5]);
    expect(() => runOp('Constant', [])).toThrow(ShapeError);
  });
  it('EyeLike with k and dtype', () => {
    const x = f32([2, 3], new Array(6).fill(5));
    expect(vals(out(runOp('EyeLike', [x], { k: int(1) })))).toEqual([0, 1, 0, 0, 0, 1]);
    const r = out(runOp('EyeLike', [x], { dtype: int(7), k: int(-1) }));
    expect(r.dtype).toBe('int64');
    expect(vals(r)).toEqual([0, 0, 0, 1, 0, 0]);
  });
  it('Trilu upper/lower with k', () => {
    const x = f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(vals(out(runOp('Trilu', [x])))).toEqual([1, 2, 3, 0, 5, 6, 0, 0, 9]);
    expect(vals(out(runOp('Trilu', [x, i64([-1], [])], { upper: int(0) })))).toEqual([0, 0, 0, 4, 0, 0, 7, 8, 0]);
    expect(vals(out(runOp('Trilu', [x, i64([5], [])])))).toEqual(new Array(9).fill(0));
  });
});

describe('DepthToSpace, SpaceToDepth, CenterCropPad', () => {
  const x = f32([1, 4, 1, 1], [1, 2, 3, 4]);
  it('DepthToSpace in DCR and CRD modes, inverted by SpaceToDepth', () => {
    const x8 = f32([1, 8, 1, 1], [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(vals(out(runOp('DepthToSpace', [x8], { blocksize: int(2) })))).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
    expect(vals(out(runOp('DepthToSpace', [x8], { blocksize: int(2), mode: str('CRD') })))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const d = out(runOp('DepthToSpace', [x], { blocksize: int(2) }));
    expect(d.dims).toEqual([1, 1, 2, 2]);
    expect(vals(out(runOp('SpaceToDepth', [d], { blocksize: int(2) })))).toEqual([1, 2, 3, 4]);
  });
  it('CenterCropPad crops and pads around the centre', () => {
    const v = f32([5], [1, 2, 3, 4, 5]);
    expect(vals(out(runOp('CenterCropPad', [v, i64([2])])))).toEqual([2, 3]);
    expect(vals(out(runOp('CenterCropPad', [v, i64([8])])))).toEqual([0, 1, 2, 3, 4, 5, 0, 0]);
  });
});

describe('legacy forms', () => {
  it('Slice-1 moves starts/ends/axes to inputs', () => {
    const { nodes, consts } = legacy('Slice', { attrs: { starts: ints([1]), ends: ints([3]), axes: ints([1]) } }, 9);
    const n = nodes[0]!;
    expect(n.attrs).toEqual({});
    expect(n.inputs.slice(1).map((i) => vals(consts.get(i)!))).toEqual([[1], [3], [1]]);
  });
  it('Split-2 moves split to an input; Concat-1 defaults axis to 1', () => {
    const s = legacy('Split', { attrs: { axis: int(0), split: ints([1, 2]) }, outputs: ['a', 'b'] }, 11);
    expect(Object.keys(s.nodes[0]!.attrs)).toEqual(['axis']);
    expect(vals(s.consts.get(s.nodes[0]!.inputs[1]!)!)).toEqual([1, 2]);
    expect(legacy('Concat', { inputs: ['a', 'b'] }, 1).nodes[0]!.attrs['axis']).toEqual(int(1));
    expect(legacy('Concat', { inputs: ['a', 'b'], attrs: { axis: int(0) } }, 1).nodes[0]!.attrs['axis']).toEqual(int(0));
  });
  it('newer opsets are left alone', () => {
    const { nodes, consts } = legacy('Squeeze', { inputs: ['x', 'axes'] }, 13);
    expect(nodes[0]!.inputs).toEqual(['x', 'axes']);
    expect(consts.size).toBe(0);
  });
});

describe('hostile inputs fail cleanly', () => {
  it('refuses huge allocations', () => {
    const x = f32([1], [1]);
    expect(() => runOp('Tile', [x, i64([2 ** 40])])).toThrow();
    expect(() => runOp('Expand', [x, i64([2 ** 20, 2 ** 20])])).toThrow(LimitError);
    expect(() => runOp('Range', [scalar('int64', 0n), scalar('int64', 9223372036854775807n), scalar('int64', 1n)])).toThrow(ShapeError);
    expect(() => runOp('Reshape', [x, i64([-2])])).toThrow(ShapeError);
  });
});

describe('properties', () => {
  const tensor3 = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }))
    .map(([a, b, c]) => f32([a, b, c], Array.from({ length: a * b * c }, (_, i) => i)));
  it('Transpose by a permutation and its inverse is the identity', () => {
    fc.assert(fc.property(tensor3, fc.constantFrom<number[]>([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]), (x, perm) => {
      const inv = perm.map((_, i) => perm.indexOf(i));
      const y = out(runOp('Transpose', [out(runOp('Transpose', [x], { perm: ints(perm) }))], { perm: ints(inv) }));
      expect(y.dims).toEqual(x.dims);
      expect(vals(y)).toEqual(vals(x));
    }));
  });
  it('Split then Concat on the same axis is the identity', () => {
    fc.assert(fc.property(tensor3, fc.integer({ min: 0, max: 2 }), (x, axis) => {
      const d = x.dims[axis]!;
      const first = Math.floor(d / 2);
      const parts = runOp('Split', [x, i64([first, d - first])], { axis: int(axis) }, 2).outputs as Tensor[];
      const y = out(runOp('Concat', parts, { axis: int(axis) }));
      expect(vals(y)).toEqual(vals(x));
    }));
  });
  it('Slice with negative step twice reverses back', () => {
    fc.assert(fc.property(tensor3, fc.integer({ min: -3, max: 2 }), (x, axis) => {
      const rev = (t: Tensor) => out(runOp('Slice', [t, i64([-1]), i64([-9223372036854775808n]), i64([axis]), i64([-1])]));
      expect(vals(rev(rev(x)))).toEqual(vals(x));
    }));
  });
});

// Elementwise ops: broadcasting, integer wrap and truncation rules, bigint exactness, NaN rules, float16 rounding,
// casts, strings, symbolic-shape inference and the import-time rewrites of older opset forms.

import { describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import { KernelError, ShapeError } from '../../ir/errors.js';
import { attrFloat, attrInt, attrString, type Attr } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import type { DType } from '../../ir/dtype.js';
import type { ValueType } from '../../ir/types.js';
import { getOp } from '../../ops/index.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import type { ImportNode } from '../../ops/schema.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runModel } from '../../backends/reference/interpreter.js';
import { out, runOp } from '../helpers/run-op.js';

const t = (dtype: DType, dims: number[], v: ArrayLike<number | bigint | boolean | string>): Tensor => fromValues(dtype, dims, v);
const f32 = (dims: number[], v: number[]) => t('float32', dims, v);
const vals = (x: Tensor): unknown[] => Array.from(x.data as ArrayLike<unknown>);
const run1 = (op: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}): Tensor => out(runOp(op, inputs, attrs));

/** Inference alone, on types that may have symbolic dims or unknown rank. */
function infer(op: string, inputs: (ValueType | undefined)[], attrs: Record<string, Attr> = {}): ValueType[] {
  const def = getOp(op)!;
  const a: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(def.attrs)) a[k] = attrs[k]?.value ?? s.default;
  return def.infer({
    node: { name: 'n', op, inputs: inputs.map((_, i) => `i${i}`), outputs: ['o'], attrs },
    attrs: a as never, inputs, constant: () => undefined, shapeValue: () => undefined, numOutputs: 1,
    inferSubgraph: () => [], freshDim: (h) => `?${h ?? 'd'}`,
  });
}

describe('broadcasting arithmetic', () => {
  it('adds with numpy broadcasting, scalars and empty tensors', () => {
    expect(vals(run1('Add', [f32([2, 1], [1, 2]), f32([3], [10, 20, 30])]))).toEqual([11, 21, 31, 12, 22, 32]);
    expect(run1('Add', [f32([], [1]), f32([], [2])]).dims).toEqual([]);
    expect(run1('Add', [f32([0, 3], []), f32([3], [1, 2, 3])]).dims).toEqual([0, 3]);
  });
  it('wraps integers like C (int8, uint32, uint64 exactly)', () => {
    expect(vals(run1('Add', [t('int8', [1], [127]), t('int8', [1], [1])]))).toEqual([-128]);
    expect(vals(run1('Sub', [t('uint32', [1], [0]), t('uint32', [1], [1])]))).toEqual([4294967295]);
    expect(vals(run1('Add', [t('uint64', [1], [2n ** 64n - 1n]), t('uint64', [1], [2n])]))).toEqual([1n]);
  });
  it('multiplies 32-bit integers exactly (no double rounding)', () => {
    const [a, b] = [123456789, 987654321];
    expect(vals(run1('Mul', [t('int32', [1], [a]), t('int32', [1], [b])]))).toEqual([Number(BigInt.asIntN(32, BigInt(a) * BigInt(b)))]);
    expect(vals(run1('Mul', [t('int64', [1], [2n ** 62n + 3n]), t('int64', [1], [2n])]))).toEqual([BigInt.asIntN(64, 2n ** 63n + 6n)]);
  });
  it('integer division truncates toward zero; by zero is a kernel error', () => {
    expect(vals(run1('Div', [t('int32', [4], [-7, 7, -7, 7]), t('int32', [4], [2, -2, -2, 2])]))).toEqual([-3, -3, 3, 3]);
    expect(vals(run1('Div', [t('int64', [1], [-7n]), t('int64', [1], [2n])]))).toEqual([-3n]);
    expect(() => run1('Div', [t('int32', [1], [1]), t('int32', [1], [0])])).toThrow(KernelError);
    expect(vals(run1('Div', [f32([2], [1, -1]), f32([2], [0, 0])]))).toEqual([Infinity, -Infinity]);
  });
  it('Mod: fmod=0 takes the divisor sign, fmod=1 the dividend sign', () => {
    const a = t('int32', [4], [-4, 7, 5, -5]);
    const b = t('int32', [4], [3, -3, -3, 3]);
    expect(vals(run1('Mod', [a, b]))).toEqual([2, -2, -1, 1]);
    expect(vals(run1('Mod', [a, b], { fmod: attrInt(1) }))).toEqual([-1, 1, 2, -2]);
    expect(vals(run1('Mod', [t('int64', [2], [-4n, 7n]), t('int64', [2], [3n, -3n])]))).toEqual([2n, -2n]);
    expect(vals(run1('Mod', [f32([2], [-4.5, 7]), f32([2], [2, -3])], { fmod: attrInt(1) }))).toEqual([-0.5, 1]);
    expect(() => runOp('Mod', [f32([1], [1]), f32([1], [1])])).toThrow(ShapeError);
  });
  it('Pow: C pow for floats, exact modular powers for integers', () => {
    expect(vals(run1('Pow', [f32([3], [2, 1, -1]), f32([3], [0.5, NaN, Infinity])]))).toEqual([Math.fround(Math.SQRT2), 1, 1]);
    expect(vals(run1('Pow', [t('int64', [1], [3n]), t('int64', [1], [50n])]))).toEqual([BigInt.asIntN(64, 3n ** 50n)]);
    expect(vals(run1('Pow', [t('int32', [3], [2, -1, 2]), t('int64', [3], [10n, -3n, -1n])]))).toEqual([1024, -1, 0]);
    expect(vals(run1('Pow', [t('int32', [1], [2]), f32([1], [0.5])]))).toEqual([1]);
    expect(vals(run1('Pow', [f32([1], [2]), t('uint64', [1], [3n])]))).toEqual([8]);
  });
  it('rounds float16 results to float16', () => {
    const r = run1('Add', [t('float16', [1], [1]), t('float16', [1], [0.0001])]);
    expect(r.dtype).toBe('float16');
    expect(vals(r)).toEqual([1]);
  });
  it('rejects mixed element types at inference', () => {
    expect(() => runOp('Add', [f32([1], [1]), t('int32', [1], [1])])).toThrow(ShapeError);
    expect(() => runOp('Add', [t('bool', [1], [1]), t('bool', [1], [1])])).toThrow(ShapeError);
  });
});

describe('bitwise and logic', () => {
  it('BitShift: bits shifted out vanish; shifts >= width give 0', () => {
    const left = { direction: attrString('LEFT') };
    expect(vals(run1('BitShift', [t('uint8', [3], [255, 1, 1]), t('uint8', [3], [1, 7, 8])], left))).toEqual([254, 128, 0]);
    expect(vals(run1('BitShift', [t('uint32', [2], [0x80000001, 1]), t('uint32', [2], [1, 32])], left))).toEqual([2, 0]);
    expect(vals(run1('BitShift', [t('uint64', [2], [1n, 2n ** 63n]), t('uint64', [2], [63n, 1n])], left))).toEqual([2n ** 63n, 0n]);
    expect(vals(run1('BitShift', [t('uint32', [1], [0xffffffff]), t('uint32', [1], [4])], { direction: attrString('RIGHT') }))).toEqual([0x0fffffff]);
    expect(() => runOp('BitShift', [t('uint8', [1], [1]), t('uint8', [1], [1])], { direction: attrString('UP') })).toThrow(ShapeError);
  });
  it('bitwise ops on every width', () => {
    expect(vals(run1('BitwiseAnd', [t('uint32', [1], [0xf0f0f0f0]), t('uint32', [1], [0xffff0000])]))).toEqual([0xf0f00000]);
    expect(vals(run1('BitwiseOr', [t('int8', [1], [-128]), t('int8', [1], [1])]))).toEqual([-127]);
    expect(vals(run1('BitwiseXor', [t('uint64', [1], [2n ** 64n - 1n]), t('uint64', [1], [1n])]))).toEqual([2n ** 64n - 2n]);
    expect(vals(run1('BitwiseNot', [t('uint8', [2], [0, 5])]))).toEqual([255, 250]);
    expect(vals(run1('BitwiseNot', [t('uint64', [1], [0n])]))).toEqual([2n ** 64n - 1n]);
  });
  it('And/Or/Xor/Not on bool', () => {
    const a = t('bool', [4], [0, 0, 1, 1]);
    const b = t('bool', [4], [0, 1, 0, 1]);
    expect(vals(run1('And', [a, b]))).toEqual([0, 0, 0, 1]);
    expect(vals(run1('Or', [a, b]))).toEqual([0, 1, 1, 1]);
    expect(vals(run1('Xor', [a, b]))).toEqual([0, 1, 1, 0]);
    expect(vals(run1('Not', [a]))).toEqual([1, 1, 0, 0]);
  });
  it('comparisons: NaN is unordered, bigints exact, strings equal', () => {
    expect(vals(run1('Equal', [f32([2], [NaN, 1]), f32([2], [NaN, 1])]))).toEqual([0, 1]);
    expect(vals(run1('Greater', [t('int64', [1], [2n ** 53n + 1n]), t('int64', [1], [2n ** 53n])]))).toEqual([1]);
    expect(vals(run1('LessOrEqual', [f32([3], [1, 2, NaN]), f32([1], [2])]))).toEqual([1, 1, 0]);
    expect(vals(run1('GreaterOrEqual', [t('uint64', [1], [2n ** 64n - 1n]), t('uint64', [1], [0n])]))).toEqual([1]);
    expect(vals(run1('Equal', [t('string', [2], ['a', 'b']), t('string', [], ['a'])]))).toEqual([1, 0]);
    expect(run1('Less', [f32([1], [1]), f32([1], [2])]).dtype).toBe('bool');
  });
});

describe('variadic, Where, Clip', () => {
  it('Max/Min broadcast over any number of inputs and propagate NaN', () => {
    expect(vals(run1('Max', [f32([3], [1, 5, NaN]), f32([1], [3]), f32([3], [0, 0, 0])]))).toEqual([3, 5, NaN]);
    expect(vals(run1('Min', [t('uint64', [2], [1n, 2n ** 64n - 1n]), t('uint64', [2], [2n, 5n])]))).toEqual([1n, 5n]);
    expect(vals(run1('Max', [t('int8', [2], [-1, 2])]))).toEqual([-1, 2]);
  });
  it('Sum/Mean', () => {
    expect(vals(run1('Sum', [f32([2], [1, 2]), f32([2], [3, 4]), f32([], [10])]))).toEqual([14, 16]);
    expect(vals(run1('Mean', [f32([2], [1, 2]), f32([2], [2, 4])]))).toEqual([1.5, 3]);
    expect(() => runOp('Sum', [t('int32', [1], [1])])).toThrow(ShapeError);
  });
  it('Where broadcasts condition, X and Y of any type', () => {
    const r = run1('Where', [t('bool', [2, 1], [1, 0]), t('string', [2], ['a', 'b']), t('string', [], ['z'])]);
    expect(r.dims).toEqual([2, 2]);
    expect(vals(r)).toEqual(['a', 'b', 'z', 'z']);
  });
  it('Clip: optional bounds, min > max gives max, NaN stays', () => {
    expect(vals(run1('Clip', [f32([4], [-2, 0, 2, NaN]), f32([], [-1]), f32([], [1])]))).toEqual([-1, 0, 1, NaN]);
    expect(vals(run1('Clip', [f32([2], [-2, 2]), undefined, f32([], [1])]))).toEqual([-2, 1]);
    expect(vals(run1('Clip', [f32([2], [-2, 2]), f32([], [3]), f32([], [1])]))).toEqual([1, 1]);
    expect(vals(run1('Clip', [t('int64', [2], [-5n, 5n]), t('int64', [], [0n])]))).toEqual([0n, 5n]);
    expect(() => runOp('Clip', [f32([1], [1]), t('float64', [], [0])])).toThrow(ShapeError);
  });
});

describe('unary math', () => {
  it('Round halves to even; Sign, Abs, Neg keep integer rules', () => {
    expect(vals(run1('Round', [f32([7], [0.5, 1.5, 2.5, -2.5, -3.5, 2.3, -0.4])]))).toEqual([0, 2, 2, -2, -4, 2, -0]);
    expect(vals(run1('Sign', [t('int64', [3], [-5n, 0n, 7n])]))).toEqual([-1n, 0n, 1n]);
    expect(vals(run1('Abs', [t('int8', [2], [-128, -3])]))).toEqual([-128, 3]);
    expect(vals(run1('Neg', [t('int32', [1], [-2147483648])]))).toEqual([-2147483648]);
    expect(() => runOp('Neg', [t('uint8', [1], [1])])).toThrow(ShapeError);
  });
  it('Erf to double precision', () => {
    const r = run1('Erf', [t('float64', [5], [0, 0.5, -1, 3, 7])]);
    const want = [0, 0.5204998778130465, -0.8427007929497149, 0.9999779095030014, 1];
    vals(r).forEach((v, i) => expect(v as number).toBeCloseTo(want[i]!, 14));
  });
  it('IsInf honours detect_negative/detect_positive; IsNaN', () => {
    const x = f32([4], [Infinity, -Infinity, NaN, 1]);
    expect(vals(run1('IsInf', [x]))).toEqual([1, 1, 0, 0]);
    expect(vals(run1('IsInf', [x], { detect_positive: attrInt(0) }))).toEqual([0, 1, 0, 0]);
    expect(vals(run1('IsNaN', [x]))).toEqual([0, 0, 1, 0]);
  });
  it('float ops reject integers', () => {
    expect(() => runOp('Exp', [t('int32', [1], [1])])).toThrow(ShapeError);
  });
});

describe('Cast, CastLike, BitCast', () => {
  const cast = (x: Tensor, to: number) => run1('Cast', [x], { to: attrInt(to) });
  it('float -> int truncates; NaN and overflow give the x86 indefinite value', () => {
    expect(vals(cast(f32([4], [2.9, -2.9, NaN, 3e9]), 6))).toEqual([2, -2, -2147483648, -2147483648]);
    expect(vals(cast(f32([2], [300, -1]), 2))).toEqual([44, 255]);
    expect(vals(cast(t('float64', [2], [-3.7, NaN]), 7))).toEqual([-3n, -(2n ** 63n)]);
  });
  it('to bool is x != 0 (NaN is true); integers wrap exactly', () => {
    expect(vals(cast(f32([3], [0, NaN, -0.5]), 9))).toEqual([0, 1, 1]);
    expect(vals(cast(t('int64', [1], [2n ** 40n + 255n]), 3))).toEqual([-1]);
    expect(vals(cast(t('uint64', [1], [2n ** 64n - 1n]), 7))).toEqual([-1n]);
  });
  it('rounds straight to float16/bfloat16, without a float32 detour', () => {
    // 1 + 2^-11 + 2^-40 is just above a float16 midpoint but rounds to it in float32
    expect(vals(cast(t('float64', [1], [1 + 2 ** -11 + 2 ** -40]), 10))).toEqual([1 + 2 ** -10]);
    expect(vals(cast(f32([2], [65520, 1e-8]), 10))).toEqual([Infinity, 0]);
    expect(vals(cast(f32([1], [1.00390625]), 16))).toEqual([1]); // halfway between 1 and 1+2^-7: to even
  });
  it('rounds int64 to float32 once', () => {
    // 2^60 + 2^36 + 1 is just above the float32 midpoint 2^60 + 2^36; as a double it is exactly the midpoint
    expect(vals(cast(t('int64', [1], [2n ** 60n + 2n ** 36n + 1n]), 1))).toEqual([2 ** 60 + 2 ** 37]);
    expect(vals(cast(t('uint64', [1], [2n ** 64n - 1n]), 11))).toEqual([2 ** 64]);
  });
  it('parses and prints strings as ONNX specifies', () => {
    expect(vals(cast(t('string', [5], ['3.14', '1e-5', '-INF', 'nan', '+inf']), 1)).map((v) => String(v)))
      .toEqual([String(Math.fround(3.14)), String(Math.fround(1e-5)), '-Infinity', 'NaN', 'Infinity']);
    expect(vals(cast(t('string', [2], ['100.5', '-9007199254740993']), 7))).toEqual([100n, -9007199254740993n]);
    expect(() => cast(t('string', [1], ['hello']), 1)).toThrow(KernelError);
    expect(vals(cast(f32([4], [0.1, 1, NaN, -Infinity]), 8))).toEqual(['0.1', '1', 'NaN', '-INF']);
    expect(vals(cast(t('int64', [1], [-(2n ** 63n)]), 8))).toEqual(['-9223372036854775808']);
  });
  it('CastLike takes the type of its second input', () => {
    const r = run1('CastLike', [f32([2], [1.5, -1.5]), t('int16', [0], [])]);
    expect(r.dtype).toBe('int16');
    expect(vals(r)).toEqual([1, -1]);
  });
  it('BitCast reinterprets little-endian bits of same-width types', () => {
    expect(vals(run1('BitCast', [f32([2], [1, -2])], { to: attrInt(6) }))).toEqual([0x3f800000, -1073741824]);
    expect(vals(run1('BitCast', [t('float16', [1], [1])], { to: attrInt(4) }))).toEqual([0x3c00]);
    expect(vals(run1('BitCast', [t('uint16', [1], [0x3f80])], { to: attrInt(16) }))).toEqual([1]);
    expect(vals(run1('BitCast', [t('int64', [1], [-1n])], { to: attrInt(13) }))).toEqual([2n ** 64n - 1n]);
    expect(run1('BitCast', [t('bool', [], [1])], { to: attrInt(2) }).dims).toEqual([]);
    expect(() => runOp('BitCast', [f32([1], [1])], { to: attrInt(7) })).toThrow(ShapeError);
  });
});

describe('string ops', () => {
  it('StringNormalizer filters stopwords and changes case; all filtered gives one empty string', () => {
    const x = t('string', [4], ['Monday', 'tuesday', 'MONDAY', 'x']);
    const r = run1('StringNormalizer', [x], { stopwords: { kind: 'strings', value: ['monday'] }, case_change_action: attrString('UPPER') });
    expect(vals(r)).toEqual(['TUESDAY', 'X']);
    const sensitive = run1('StringNormalizer', [x], { stopwords: { kind: 'strings', value: ['monday'] }, is_case_sensitive: attrInt(1) });
    expect(vals(sensitive)).toEqual(['Monday', 'tuesday', 'MONDAY', 'x']);
    const all = run1('StringNormalizer', [t('string', [1, 1], ['a'])], { stopwords: { kind: 'strings', value: ['a'] } });
    expect(all.dims).toEqual([1, 1]);
    expect(vals(all)).toEqual(['']);
  });
  it('StringConcat broadcasts', () => {
    expect(vals(run1('StringConcat', [t('string', [2], ['a', 'é']), t('string', [], ['!'])]))).toEqual(['a!', 'é!']);
  });
  it('StringSplit follows Python str.split and pads with empty strings', () => {
    const r = runOp('StringSplit', [t('string', [3], ['  a  b c ', 'one', ''])], {}, 2);
    expect(out(r, 0).dims).toEqual([3, 3]);
    expect(vals(out(r, 0))).toEqual(['a', 'b', 'c', 'one', '', '', '', '', '']);
    expect(vals(out(r, 1))).toEqual([3n, 1n, 0n]);
    const m = runOp('StringSplit', [t('string', [1], ['a,,b,c'])], { delimiter: attrString(','), maxsplit: attrInt(2) }, 2);
    expect(vals(out(m, 0))).toEqual(['a', '', 'b,c']);
    const w = runOp('StringSplit', [t('string', [1], [' a b  c '])], { maxsplit: attrInt(1) }, 2);
    expect(vals(out(w, 0))).toEqual(['a', 'b  c ']);
  });
  it('RegexFullMatch matches whole strings and rejects RE2-incompatible patterns', () => {
    const x = t('string', [3], ['abc', 'abcd', 'xabc']);
    expect(vals(run1('RegexFullMatch', [x], { pattern: attrString('a[a-z]c') }))).toEqual([1, 0, 0]);
    expect(vals(run1('RegexFullMatch', [x], { pattern: attrString('(?P<w>x?)abc') }))).toEqual([1, 0, 1]);
    expect(() => runOp('RegexFullMatch', [x], { pattern: attrString('(a)\\1') })).toThrow(ShapeError);
    expect(() => runOp('RegexFullMatch', [x], { pattern: attrString('(a+)+b') })).toThrow(ShapeError);
  });
});

describe('inference with symbolic dims and unknown rank', () => {
  it('broadcasts symbols and keeps unknown rank unknown', () => {
    const a: ValueType = { kind: 'tensor', dtype: 'float32', shape: ['N', 3] };
    const b: ValueType = { kind: 'tensor', dtype: 'float32', shape: [1, 3] };
    expect(infer('Add', [a, b])).toEqual([{ kind: 'tensor', dtype: 'float32', shape: ['N', 3] }]);
    expect(infer('Greater', [a, { kind: 'tensor', dtype: 'float32' }])).toEqual([{ kind: 'tensor', dtype: 'bool' }]);
    expect(infer('Cast', [a], { to: attrInt(7) })).toEqual([{ kind: 'tensor', dtype: 'int64', shape: ['N', 3] }]);
    expect(infer('Where', [{ kind: 'tensor', dtype: 'bool', shape: ['B', 1, 1] }, a, b]))
      .toEqual([{ kind: 'tensor', dtype: 'float32', shape: ['B', 'N', 3] }]);
    expect(() => infer('Add', [a, { kind: 'tensor', dtype: 'float32', shape: [4] }])).toThrow(ShapeError);
  });
});

// ---- older opset forms --------------------------------------------------------------------------------------

function legacy(op: string, node: Partial<ImportNode>, opset: number): ImportNode[] {
  let k = 0;
  const full: ImportNode = { name: 'n', op, inputs: ['x'], outputs: ['y'], attrs: {}, ...node };
  return opsetRewrite(op)!(full, { opset, freshName: (h) => `${h}_${k++}`, constant: (_t, h) => `${h ?? 'c'}_${k++}` });
}

/** A one-node ONNX model: float inputs named a, b, ..., one output y. */
function model(opset: number, op: string, inputShapes: number[][], attrs: onnx.IAttributeProto[]): Uint8Array {
  const names = inputShapes.map((_, i) => String.fromCharCode(97 + i));
  const vi = (name: string, dims?: number[]) => ({
    name, type: { tensorType: { elemType: 1, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } },
  });
  return onnx.ModelProto.encode({
    irVersion: 3, opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'g', node: [{ opType: op, input: names, output: ['y'], attribute: attrs }],
      input: names.map((n, i) => vi(n, inputShapes[i])), output: [vi('y')],
    },
  }).finish();
}

describe('legacy forms', () => {
  it('drops consumed_inputs', () => {
    const [n] = legacy('Relu', { attrs: { consumed_inputs: { kind: 'ints', value: [0] } } }, 1);
    expect(n!.attrs).toEqual({});
  });
  it('Cast-1 names its target type as a string', () => {
    const [n] = legacy('Cast', { attrs: { to: attrString('INT64') } }, 1);
    expect(n!.attrs['to']).toEqual({ kind: 'int', value: 7 });
  });
  it('Clip before 11 turns min/max attributes into CastLike bound inputs', () => {
    const nodes = legacy('Clip', { attrs: { min: attrFloat(-1), max: attrFloat(1) } }, 6);
    expect(nodes.map((n) => n.op)).toEqual(['CastLike', 'CastLike', 'Clip']);
    expect(nodes[2]!.attrs).toEqual({});
    expect(nodes[2]!.inputs).toEqual(['x', nodes[0]!.outputs[0], nodes[1]!.outputs[0]]);
  });
  it('Clip-6 runs through the importer with its attribute bounds', () => {
    const m = importModel(model(6, 'Clip', [[3]], [{ name: 'min', type: 1, f: -1 }, { name: 'max', type: 1, f: 0.5 }]));
    expect(vals(runModel(m, { a: f32([3], [-3, 0, 3]) })['y'] as Tensor)).toEqual([-1, 0, 0.5]);
  });
  it('Add-6 with broadcast=1, axis=1 aligns B at axis 1 of A', () => {
    const m = importModel(model(6, 'Add', [[2, 3, 2], [3]], [{ name: 'broadcast', type: 2, i: 1 }, { name: 'axis', type: 2, i: 1 }]));
    const a = f32([2, 3, 2], new Array(12).fill(0));
    const y = runModel(m, { a, b: f32([3], [1, 2, 3]) })['y'] as Tensor;
    expect(y.dims).toEqual([2, 3, 2]);
    expect(vals(y)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });
  it('PRelu-6 applies a 1-D slope per channel', () => {
    const m = importModel(model(6, 'PRelu', [[1, 2, 2], [2]], []));
    const y = runModel(m, { a: f32([1, 2, 2], [-1, -1, -1, 1]), b: f32([2], [0.5, 2]) })['y'] as Tensor;
    expect(vals(y)).toEqual([-0.5, -0.5, -2, 1]);
  });
  it('Selu-1 keeps its four-decimal defaults', () => {
    const [n] = legacy('Selu', {}, 1);
    expect(n!.attrs['alpha']).toEqual({ kind: 'float', value: 1.6732 });
  });
});

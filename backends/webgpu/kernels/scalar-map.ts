// Elementwise kernels over any stored element type (float32, int32, uint32, bool) with numpy broadcasting:
// comparisons, logic, Where, IsNaN/IsInf, Mod, BitShift, bool Casts. Bool tensors hold one byte per element (as
// the runtimes feed them), so a bool is read as a byte of a u32 word, and a bool output is written a word (four
// elements) per invocation: no two invocations store into the same word.

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import {
  add, band, bitcast, bool, convert, div, expr, f32, i32, lt, math, max, min, mul, ne, select, shl, shr, sub, u32,
  type Expr, type LValue, type Scalar,
} from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { broadcastStrides, coords, grid1d, main1d, offsetOf, prod } from './common.js';
import { elementwiseKernel } from './elementwise.js';
import { firstSharing, input, output, type KernelDispatch, type WgKernel } from './types.js';

export type Elem = 'f32' | 'i32' | 'u32' | 'bool';
export const ELEM_OF: Readonly<Record<string, Elem>> = { float32: 'f32', int32: 'i32', uint32: 'u32', bool: 'bool' };
/** WGSL storage type of an element type (bool: its word). */
const storeType = (e: Elem): 'f32' | 'i32' | 'u32' => (e === 'bool' ? 'u32' : e);

/** A formula over the bound inputs' values (each of its own element type) giving the output's value. */
export type MapFormula = (xs: readonly Expr<Scalar>[], types: readonly Elem[]) => Expr<Scalar>;
export interface MapOp { readonly inputs: readonly number[]; readonly formula: MapFormula }

/** The byte `i` of a bool tensor bound as u32 words, as a bool. */
export const readBool = (word: Expr<'u32'>, i: Expr<'u32'>): Expr<'bool'> =>
  ne(band(shr(word, mul(band(i, u32(3)), u32(8))), u32(0xff)), u32(0));

/** Element `i` of a binding of element type `e`. */
export function load(buf: { at(i: Expr<'u32'>): LValue }, e: Elem, i: Expr<'u32'>): Expr<Scalar> {
  if (e !== 'bool') return buf.at(i) as Expr<Scalar>;
  return readBool(buf.at(shr(i, u32(2))) as Expr<'u32'>, i);
}

/** Stores `total` outputs of type `e`: `value(b, i)` gives element i. Bool outputs pack four per invocation. */
export function storeAll(s: ShaderBuilder, Y: { at(i: Expr<'u32'>): LValue }, e: Elem, total: number, value: (b: Body, i: Expr<'u32'>) => Expr<Scalar>): number {
  if (e !== 'bool') {
    main1d(s, total, (b, i) => b.set(Y.at(i) as LValue<Scalar>, value(b, i)));
    return total;
  }
  const words = Math.ceil(total / 4);
  main1d(s, words, (b, w) => {
    const word = b.var('word', u32(0));
    for (let l = 0; l < 4; l++) {
      const lane = (lb: Body): void => {
        const i = lb.let('e', add(mul(w, u32(4)), u32(l)));
        lb.set(word, add(word, shl(select(value(lb, i) as Expr<'bool'>, u32(1), u32(0)), u32(8 * l))));
      };
      // only the last word can run past the end
      if (total % 4 === 0 || l === 0) lane(b);
      else b.if(lt(add(mul(w, u32(4)), u32(l)), u32(total)), lane);
    }
    b.set(Y.at(w) as LValue<'u32'>, word);
  });
  return words;
}

/** The shader computing `op` over inputs of `dims`/`types` broadcast to `outDims` (exported for tests). */
export function scalarMapShader(op: MapOp, dims: readonly (readonly number[])[], types: readonly Elem[], outDims: readonly number[], outType: Elem, share: readonly number[]): { shader: string; threads: number } {
  const s = new ShaderBuilder();
  const total = prod(outDims);
  const bufs = new Map<number, ReturnType<ShaderBuilder['buffer']>>();
  dims.forEach((_, k) => { if (!bufs.has(share[k]!)) bufs.set(share[k]!, s.buffer(`x${k}`, storeType(types[k]!), 'read')); });
  const Y = s.buffer('y', storeType(outType), 'read_write');
  const strides = dims.map((d) => broadcastStrides(d, outDims));
  const threads = storeAll(s, Y, outType, total, (b, i) => {
    const cs = dims.some((d) => prod(d) !== total && prod(d) !== 1) ? coords(b, i, outDims) : [];
    const xs = dims.map((d, k) => {
      const off = prod(d) === total ? i : prod(d) === 1 ? u32(0) : offsetOf(cs, strides[k]!);
      return b.let(`v${k}`, load(bufs.get(share[k]!)!, types[k]!, off));
    });
    return op.formula(xs, types);
  });
  return { shader: s.print(), threads };
}

// --- the formulas

type Entry = (ctx: PlanContext) => MapOp | Refusal;
const cmp = (opText: '<' | '<=' | '>' | '>=' | '==' | '!='): Entry => () => ({
  inputs: [0, 1],
  formula: ([a, b]) => expr('bool', { kind: 'bin', op: opText, a: a!.node, b: b!.node }),
});
const logic = (opText: '&&' | '||' | '!='): Entry => () => ({
  inputs: [0, 1], formula: ([a, b]) => expr('bool', { kind: 'bin', op: opText, a: a!.node, b: b!.node }),
});

const isNaN32 = (x: Expr<'f32'>): Expr<'bool'> => expr('bool', { kind: 'bin', op: '>', a: band(bitcast('u32', x), u32(0x7fffffff)).node, b: u32(0x7f800000).node });

/** Python's integer mod (sign of the divisor) for fmod=0, C's fmod for fmod=1; integer division by zero gives 0. */
function modFormula(fmod: boolean): MapFormula {
  return ([a, b], [t]) => {
    if (t === 'f32') {
      const x = a as Expr<'f32'>, y = b as Expr<'f32'>;
      const r = sub(x, mul(y, math('trunc', div(x, y))));
      if (fmod) return r;
      // numpy.mod: r takes the divisor's sign
      const fix = expr('bool', { kind: 'bin', op: '&&', a: ne(r, f32(0)).node, b: expr('bool', { kind: 'bin', op: '!=', a: lt(r, f32(0)).node, b: lt(y, f32(0)).node }).node });
      return select(fix, add(r, y), r);
    }
    if (t === 'u32') return select(ne(b as Expr<'u32'>, u32(0)), expr('u32', { kind: 'bin', op: '%', a: a!.node, b: b!.node }), u32(0));
    const x = a as Expr<'i32'>, y = b as Expr<'i32'>;
    const safe = select(ne(y, i32(0)), y, i32(1));
    const r = select(ne(y, i32(0)), expr('i32', { kind: 'bin', op: '%', a: x.node, b: safe.node }), i32(0));
    if (fmod) return r;
    const fix = expr('bool', { kind: 'bin', op: '&&', a: ne(r, i32(0)).node, b: expr('bool', { kind: 'bin', op: '!=', a: lt(r, i32(0)).node, b: lt(y, i32(0)).node }).node });
    return select(fix, add(r, y), r);
  };
}

/** Cast between any two stored types (float -> int truncates toward zero; to bool: nonzero, NaN included). */
export const castFormula = (to: Elem): MapFormula => ([x], [from]) => {
  if (from === to) return x!;
  if (to === 'bool') {
    if (from === 'f32') return expr('bool', { kind: 'bin', op: '||', a: ne(x as Expr<'f32'>, f32(0)).node, b: isNaN32(x as Expr<'f32'>).node });
    return expr('bool', { kind: 'bin', op: '!=', a: x!.node, b: convert(from!, i32(0)).node });
  }
  if (from === 'bool') return select(x as Expr<'bool'>, convert(to, i32(1)), convert(to, i32(0))) as Expr<Scalar>;
  return convert(to, x!);
};

export const SCALAR_MAP: Readonly<Record<string, Entry>> = {
  Equal: cmp('=='), Less: cmp('<'), LessOrEqual: cmp('<='), Greater: cmp('>'), GreaterOrEqual: cmp('>='),
  And: logic('&&'), Or: logic('||'), Xor: logic('!='),
  Not: () => ({ inputs: [0], formula: ([a]) => expr('bool', { kind: 'un', op: '!', a: a!.node }) }),
  Where: () => ({ inputs: [0, 1, 2], formula: ([c, a, b]) => select(c as Expr<'bool'>, a!, b!) }),
  IsNaN: () => ({ inputs: [0], formula: ([x]) => isNaN32(x as Expr<'f32'>) }),
  IsInf: (ctx) => {
    const pos = Number(ctx.attrs['detect_positive'] ?? 1) === 1, negv = Number(ctx.attrs['detect_negative'] ?? 1) === 1;
    return { inputs: [0], formula: ([x]) => {
      const bits = bitcast('u32', x as Expr<'f32'>);
      const hit = (v: number): Expr<'bool'> => expr('bool', { kind: 'bin', op: '==', a: bits.node, b: u32(v).node });
      if (pos && negv) return expr('bool', { kind: 'bin', op: '||', a: hit(0x7f800000).node, b: hit(0xff800000).node });
      return pos ? hit(0x7f800000) : negv ? hit(0xff800000) : bool(false);
    } };
  },
  Mod: (ctx) => ({ inputs: [0, 1], formula: modFormula(Number(ctx.attrs['fmod'] ?? 0) === 1) }),
  BitShift: (ctx) => {
    const left = ctx.attrs['direction'] === 'LEFT';
    return { inputs: [0, 1], formula: ([a, b]) => {
      // WGSL takes the shift modulo 32; ONNX shifts past the width give 0
      const amount = b as Expr<'u32'>;
      const shifted = left ? shl(a as Expr<'u32'>, amount) : shr(a as Expr<'u32'>, amount);
      return select(lt(amount, u32(32)), shifted, u32(0));
    } };
  },
};

/** Element types each op takes for its inputs (the rest are refused with a reason). */
const TAKES: Readonly<Record<string, readonly Elem[]>> = {
  Equal: ['f32', 'i32', 'u32', 'bool'], Less: ['f32', 'i32', 'u32'], LessOrEqual: ['f32', 'i32', 'u32'], Greater: ['f32', 'i32', 'u32'], GreaterOrEqual: ['f32', 'i32', 'u32'],
  And: ['bool'], Or: ['bool'], Xor: ['bool'], Not: ['bool'], Where: ['bool', 'f32', 'i32', 'u32'], IsNaN: ['f32'], IsInf: ['f32'],
  Mod: ['f32', 'i32', 'u32'], BitShift: ['u32'],
};

const opOf = (ctx: PlanContext): MapOp | Refusal => SCALAR_MAP[ctx.node.op]!(ctx);

/** A kernel computing `op(ctx)` with numpy broadcasting over its bound inputs. */
export const scalarMapKernel = (opFor: (ctx: PlanContext) => MapOp | Refusal, takes?: readonly Elem[]): WgKernel => ({
  refuse(ctx) {
    const op = opFor(ctx);
    if ('reason' in op) return op;
    for (const r of [...op.inputs.map((i) => ctx.inputs[i]), ...ctx.outputs]) {
      if (!r) continue;
      const e = ELEM_OF[r.dtype];
      if (!e || (takes && r !== ctx.outputs[0] && !takes.includes(e))) {
        return { reason: 'dtype', dtype: r.dtype, detail: `the webgpu ${ctx.node.op} kernel computes ${takes?.map((t) => t).join('/') ?? 'float32/int32/uint32/bool'} values, not ${r.dtype} ('${r.name}')` };
      }
    }
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const op = opFor(ctx) as MapOp;
    const y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const share = firstSharing(ctx, op.inputs).map((j) => op.inputs.indexOf(j));
    const { shader, threads } = scalarMapShader(op, op.inputs.map((i) => ctx.inputs[i]!.dims), op.inputs.map((i) => ELEM_OF[ctx.inputs[i]!.dtype]!), y.dims, ELEM_OF[y.dtype]!, share);
    const distinct = op.inputs.filter((_, k) => share[k] === k);
    return [{ shader, operands: [...distinct.map((i) => input(i)), output(0)], workgroups: grid1d(threads) }];
  },
});

export const SCALAR_MAP_KERNELS = Object.fromEntries(Object.keys(SCALAR_MAP).map((op) => [op, scalarMapKernel(opOf, TAKES[op])])) as Readonly<Record<keyof typeof SCALAR_MAP, WgKernel>>;

/** Clip of int32/uint32 values (an index clamped by a rewrite such as passes/one-hot-gather.ts); bounds constant or
 *  bound like x. Only the first of two bounds that cross wins here as in the reference: max(x, lo) then min(., hi). */
const intClipOp = (ctx: PlanContext): MapOp => {
  const present = [1, 2].filter((i) => ctx.inputs[i] !== undefined);
  return {
    inputs: [0, ...present],
    formula: (xs) => {
      let y = xs[0] as Expr<'i32'>;
      present.forEach((i, k) => { const b = xs[1 + k] as Expr<'i32'>; y = i === 1 ? max(y, b) : min(y, b); });
      return y;
    },
  };
};
const intClipKernel = scalarMapKernel(intClipOp, ['i32', 'u32']);
const isIntClip = (ctx: PlanContext): boolean => ['int32', 'uint32'].includes(ctx.inputs[0]?.dtype ?? '');

/** Clip: float32 through the elementwise formulas (vec4, constant bounds folded), int32/uint32 through the map above. */
export const clipKernel: WgKernel = {
  dtypes: ['float32', 'int32', 'uint32'],
  refuse: (ctx) => (isIntClip(ctx) ? intClipKernel.refuse?.(ctx) : elementwiseKernel.refuse?.(ctx)),
  lower: (ctx) => (isIntClip(ctx) ? intClipKernel.lower(ctx) : elementwiseKernel.lower(ctx)),
};

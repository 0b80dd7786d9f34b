// Einsum: general Einstein summation (implicit or explicit output, ellipsis with broadcasting, repeated labels
// within one operand as diagonals), by one loop over the joint index space of all labels.

import { KernelError, ShapeError } from '../ir/errors.js';
import { isBigInt, isFloat } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { allocate, roundToDType, sizeOf } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { broadcastDim, expectDType, inType, input, tensorOf } from './util.js';
import { ALL_NUMERIC, checkSize, checkWork } from './reduce-util.js';

/** A term's labels: letters, with '.' standing for the whole ellipsis. */
interface Term { readonly labels: string[]; readonly ellipsis: boolean }
interface Equation { readonly inputs: Term[]; readonly output: Term }

function parseTerm(s: string, where: string): Term {
  const labels: string[] = [];
  let ellipsis = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '.') {
      if (s.slice(i, i + 3) !== '...' || ellipsis) throw new ShapeError(`Einsum ${where}: malformed ellipsis in '${s}'`);
      ellipsis = true; labels.push('.'); i += 2;
    } else if (/[a-zA-Z]/.test(ch)) labels.push(ch);
    else throw new ShapeError(`Einsum ${where}: unexpected character '${ch}' in '${s}'`);
  }
  return { labels, ellipsis };
}

export function parseEquation(eq: string, numInputs: number): Equation {
  const text = eq.replace(/\s+/g, '');
  const parts = text.split('->');
  if (parts.length > 2) throw new ShapeError(`Einsum equation '${eq}' has more than one '->'`);
  const inputs = parts[0]!.split(',').map((t, i) => parseTerm(t, `input ${i}`));
  if (inputs.length !== numInputs) throw new ShapeError(`Einsum equation '${eq}' names ${inputs.length} operands; the node has ${numInputs}`);
  let output: Term;
  if (parts.length === 2) {
    output = parseTerm(parts[1]!, 'output');
    const seen = new Set<string>();
    for (const l of output.labels) {
      if (seen.has(l)) throw new ShapeError(`Einsum output repeats label '${l}'`);
      seen.add(l);
      if (l !== '.' && !inputs.some((t) => t.labels.includes(l))) throw new ShapeError(`Einsum output label '${l}' is not in any input`);
    }
    if (output.ellipsis && !inputs.some((t) => t.ellipsis)) throw new ShapeError('Einsum output has an ellipsis but no input does');
  } else {
    // Implicit output: the broadcast dims, then the labels used exactly once, in alphabetical order.
    const count = new Map<string, number>();
    for (const t of inputs) for (const l of t.labels) if (l !== '.') count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, c]) => c === 1).map(([l]) => l).sort();
    const ellipsis = inputs.some((t) => t.ellipsis);
    output = { labels: ellipsis ? ['.', ...once] : once, ellipsis };
  }
  return { inputs, output };
}

/** Expand each term's '.' into per-dim labels '0', '1', ... (right-aligned over the widest ellipsis). */
function expand(eq: Equation, ranks: readonly number[]): { inputs: string[][]; output: string[]; ell: number } {
  let ell = 0;
  const ellRanks = eq.inputs.map((t, i) => {
    const letters = t.labels.length - (t.ellipsis ? 1 : 0);
    const e = ranks[i]! - letters;
    if (e < 0 || (!t.ellipsis && e !== 0)) throw new ShapeError(`Einsum input ${i} has rank ${ranks[i]}; its term needs ${letters}${t.ellipsis ? '+' : ''}`);
    ell = Math.max(ell, e);
    return e;
  });
  const sub = (t: Term, e: number): string[] =>
    t.labels.flatMap((l) => (l === '.' ? Array.from({ length: e }, (_, k) => String(ell - e + k)) : [l]));
  return { inputs: eq.inputs.map((t, i) => sub(t, ellRanks[i]!)), output: sub(eq.output, ell), ell };
}

const einsum = defineOp({
  op: 'Einsum',
  attrs: { equation: attr.string.required() },
  inputs: [1, Infinity],
  outputs: [1, 1],
  infer(ctx) {
    const types = ctx.inputs.map((_, i) => inType(ctx, i));
    expectDType(types[0]!, ALL_NUMERIC, 'Inputs');
    for (const t of types) if (t.dtype !== types[0]!.dtype) throw new ShapeError(`Einsum inputs differ in type: ${t.dtype} vs ${types[0]!.dtype}`);
    const eq = parseEquation(ctx.attrs.equation, types.length);
    const dtype = types[0]!.dtype;
    if (types.some((t) => !t.shape)) {
      if (eq.output.ellipsis) return [tensorOf(dtype)];
      return [tensorOf(dtype, eq.output.labels.map(() => ctx.freshDim('einsum')))];
    }
    const { inputs, output } = expand(eq, types.map((t) => t.shape!.length));
    const size = new Map<string, Dim>();
    inputs.forEach((labels, i) => labels.forEach((l, k) => {
      const d = types[i]!.shape![k]!;
      const prev = size.get(l);
      if (prev === undefined) size.set(l, d);
      else if (/[0-9]/.test(l)) size.set(l, broadcastDim(prev, d));
      else if (typeof prev === 'number' && typeof d === 'number' && prev !== d) {
        throw new ShapeError(`Einsum label '${l}' has size ${prev} and ${d}`);
      } else if (typeof prev !== 'number') size.set(l, d);
    }));
    return [tensorOf(dtype, output.map((l) => size.get(l)!))];
  },
  run(ctx) {
    const xs = ctx.inputs.map((_, i) => input(ctx, i));
    const dtype = xs[0]!.dtype;
    const eq = parseEquation(ctx.attrs.equation, xs.length);
    const { inputs, output } = expand(eq, xs.map((x) => x.dims.length));
    const size = new Map<string, number>();
    inputs.forEach((labels, i) => labels.forEach((l, k) => {
      const d = xs[i]!.dims[k]!; const prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, d);
      else if (d !== prev && !(d === 1 && /[0-9]/.test(l))) throw new KernelError(`Einsum label '${l}' has size ${prev} and ${d}`);
    }));
    const all = [...output, ...[...size.keys()].filter((l) => !output.includes(l))];
    const dims = all.map((l) => size.get(l)!);
    const outDims = output.map((l) => size.get(l)!);
    const outN = sizeOf(outDims);
    checkSize(outN);
    // Per operand, the stride of each label (summed over repeats: a diagonal); broadcast size-1 dims get 0.
    const strideOf = (labels: string[], ds: readonly number[]): number[] => {
      const st = new Array<number>(all.length).fill(0);
      let acc = 1;
      for (let k = labels.length - 1; k >= 0; k--) {
        if (ds[k] !== 1 || size.get(labels[k]!) === 1) st[all.indexOf(labels[k]!)] += acc;
        acc *= ds[k]!;
      }
      return st;
    };
    const inStrides = inputs.map((labels, i) => strideOf(labels, xs[i]!.dims));
    const outStrides = strideOf(output, outDims);
    const big = isBigInt(dtype); const flt = isFloat(dtype);
    // floats accumulate in doubles (a Float32Array would round every partial sum)
    const out = (flt ? new Float64Array(outN) : allocate(dtype, outN)) as unknown as (number | bigint)[];
    const total = sizeOf(dims);
    checkWork(total, 'Einsum');
    const result = (): Tensor => {
      if (!flt) return { dtype, dims: outDims, data: out as unknown as Tensor['data'] };
      const data = allocate(dtype, outN) as Float32Array | Float64Array;
      data.set(out as unknown as Float64Array);
      return roundToDType({ dtype, dims: outDims, data });
    };
    if (total === 0) return [result()];
    const coord = new Array<number>(all.length).fill(0);
    const offs = new Array<number>(xs.length).fill(0);
    let outOff = 0;
    for (let it = 0; it < total; it++) {
      let p: number | bigint = big ? 1n : 1;
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!.data[offs[i]!]!;
        if (big) p = (p as bigint) * (v as bigint);
        else if (flt) p = (p as number) * (v as number);
        else p = Math.imul(p as number, v as number);
      }
      const cur = out[outOff]!;
      out[outOff] = big ? (cur as bigint) + (p as bigint) : flt ? (cur as number) + (p as number) : ((cur as number) + (p as number)) | 0;
      for (let k = all.length - 1; k >= 0; k--) {
        coord[k]!++;
        for (let i = 0; i < xs.length; i++) offs[i]! += inStrides[i]![k]!;
        outOff += outStrides[k]!;
        if (coord[k]! < dims[k]!) break;
        for (let i = 0; i < xs.length; i++) offs[i]! -= inStrides[i]![k]! * dims[k]!;
        outOff -= outStrides[k]! * dims[k]!;
        coord[k] = 0;
      }
    }
    return [result()];
  },
});

export const einsumOps: AnyOpDef[] = [einsum];

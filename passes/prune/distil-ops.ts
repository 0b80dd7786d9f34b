// Forward and backward of the ops a pruned CNN is made of (2-D group-1 Conv, Gemm, MatMul, Relu, MaxPool, global
// average pool, residual Add, per-channel affine ops, reshapes), in Float64 on plain arrays, for distil.ts' gradient
// steps. Plain loops: the models it runs on are small (distil.ts skips the costly ones), and anything not listed
// here leaves the model to the layer-by-layer re-fit alone.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { constOf } from './groups.js';

export interface T { readonly dims: readonly number[]; readonly data: Float64Array }

export interface Kernel {
  /** Output of the node; `saved` is handed back to backward (MaxPool's argmax). */
  forward(x: readonly T[]): { out: T; saved?: Int32Array };
  /** Gradients of the inputs flagged in `need` (undefined elsewhere), given the output's gradient. */
  backward(x: readonly T[], out: T, saved: Int32Array | undefined, dy: Float64Array, need: readonly boolean[]): (Float64Array | undefined)[];
}

const intAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'int' ? a.value : d; };
const intsAttr = (n: Node, k: string): readonly number[] | undefined => { const a = n.attrs[k]; return a?.kind === 'ints' ? a.value : undefined; };
const floatAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'float' ? a.value : d; };
const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

export const fromTensor = (t: Tensor): T => ({ dims: t.dims, data: Float64Array.from(t.data as Float32Array) });

/** The kernel of node `n` of `g`, or why there is none. */
export function kernelOf(g: Graph, n: Node): Kernel | string {
  switch (n.op) {
    case 'Conv': return convKernel(n);
    case 'Gemm': return gemmKernel(n);
    case 'MatMul': return constOf(g, n.inputs[1])?.dims.length === 2 ? matmulKernel() : 'MatMul without a 2-D constant weight';
    case 'Relu': return unary((v) => Math.max(0, v), (v) => (v > 0 ? 1 : 0));
    case 'LeakyRelu': { const a = floatAttr(n, 'alpha', 0.01); return unary((v) => (v > 0 ? v : a * v), (v) => (v > 0 ? 1 : a)); }
    case 'Identity': case 'Dropout': return reshape(() => undefined);
    case 'Flatten': return reshape((d) => { const ax = intAttr(n, 'axis', 1), a = ax < 0 ? ax + d.length : ax; return [numel(d.slice(0, a)), numel(d.slice(a))]; });
    case 'Reshape': {
      const s = constOf(g, n.inputs[1]);
      if (!s || intAttr(n, 'allowzero', 0) !== 0) return 'Reshape without a constant shape';
      const want = Array.from(s.data as BigInt64Array, Number);
      return reshape((d) => {
        const out = want.map((v, i) => (v === 0 ? d[i]! : v)), known = numel(out.filter((v) => v !== -1));
        return out.map((v) => (v === -1 ? numel(d) / known : v));
      });
    }
    case 'GlobalAveragePool': return gapKernel();
    case 'MaxPool': return maxPoolKernel(n);
    case 'BatchNormalization': return n.outputs.slice(1).some(Boolean) ? 'BatchNormalization in training mode' : bnKernel(g, n);
    case 'Add': case 'Sub': case 'Mul': return binaryKernel(g, n);
    default: return `no gradient for ${n.op}`;
  }
}

function unary(f: (v: number) => number, df: (v: number) => number): Kernel {
  return {
    forward: ([x]) => ({ out: { dims: x!.dims, data: x!.data.map(f) } }),
    backward: ([x], _o, _s, dy) => [dy.map((g, i) => g * df(x!.data[i]!))],
  };
}

function reshape(dimsOf: (d: readonly number[]) => readonly number[] | undefined): Kernel {
  return {
    forward: ([x]) => ({ out: { dims: dimsOf(x!.dims) ?? x!.dims, data: x!.data } }),
    backward: (_x, _o, _s, dy) => [dy],
  };
}

function convKernel(n: Node): Kernel | string {
  const autoPad = n.attrs['auto_pad'];
  if (intAttr(n, 'group', 1) !== 1 || (autoPad?.kind === 'string' && autoPad.value !== 'NOTSET')) return 'Conv with groups or auto_pad';
  const [sh, sw] = intsAttr(n, 'strides') ?? [1, 1], [dh, dw] = intsAttr(n, 'dilations') ?? [1, 1];
  const [p0, p1] = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
  if ((intsAttr(n, 'kernel_shape')?.length ?? 2) !== 2) return 'Conv that is not 2-D';
  const shape = (x: T, w: T): number[] => {
    const [N, , H, W] = x.dims as number[], [M, , KH, KW] = w.dims as number[], pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
    return [N!, M!, Math.floor((H! + pads[0]! + pads[2]! - ((KH! - 1) * dh! + 1)) / sh!) + 1, Math.floor((W! + pads[1]! + pads[3]! - ((KW! - 1) * dw! + 1)) / sw!) + 1];
  };
  // every (output row, input row, weight) of the convolution: f(ob, ib, wi, lo, hi) covers output columns lo..hi of
  // output row ob reading input ib + ow * sw (inner loops inlined by the callers for speed)
  const each = (x: T, w: T, out: readonly number[], f: (ob: number, ib: number, wi: number, lo: number, hi: number) => void): void => {
    const [N, C, H, W] = x.dims as [number, number, number, number], [M, , KH, KW] = w.dims as [number, number, number, number];
    const [, , OH, OW] = out as [number, number, number, number];
    for (let b = 0; b < N; b++) for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const wi = ((m * C + c) * KH + kh) * KW + kw, off = kw * dw! - p1!;
      const lo = Math.max(0, Math.ceil(-off / sw!)), hi = Math.min(OW - 1, Math.floor((W - 1 - off) / sw!));
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * sh! - p0! + kh * dh!;
        if (ih >= 0 && ih < H) f(((b * M + m) * OH + oh) * OW, ((b * C + c) * H + ih) * W + off, wi, lo, hi);
      }
    }
  };
  const s = sw!;
  return {
    forward: ([x, w, bias]) => {
      const dims = shape(x!, w!), out = new Float64Array(numel(dims)), hw = dims[2]! * dims[3]!;
      if (bias) for (let i = 0; i < out.length; i++) out[i] = bias.data[Math.floor(i / hw) % dims[1]!]!;
      const xd = x!.data, wd = w!.data;
      each(x!, w!, dims, (ob, ib, wi, lo, hi) => { const v = wd[wi]!; for (let ow = lo; ow <= hi; ow++) out[ob + ow]! += v * xd[ib + ow * s]!; });
      return { out: { dims, data: out } };
    },
    backward: ([x, w, bias], out, _s, dy, need) => {
      const xd = x!.data, wd = w!.data;
      const dx = need[0] ? new Float64Array(xd.length) : undefined, dwt = need[1] ? new Float64Array(wd.length) : undefined;
      each(x!, w!, out.dims, (ob, ib, wi, lo, hi) => {
        const v = wd[wi]!;
        let acc = 0;
        for (let ow = lo; ow <= hi; ow++) {
          const g = dy[ob + ow]!;
          acc += xd[ib + ow * s]! * g;
          if (dx) dx[ib + ow * s]! += v * g;
        }
        if (dwt) dwt[wi]! += acc;
      });
      let db: Float64Array | undefined;
      if (bias && need[2]) {
        db = new Float64Array(bias.data.length);
        const hw = out.dims[2]! * out.dims[3]!;
        for (let i = 0; i < dy.length; i++) db[Math.floor(i / hw) % out.dims[1]!]! += dy[i]!;
      }
      return [dx, dwt, db];
    },
  };
}

/** y[r, m] = Σ_k a[r, k] · b[k, m] (b[m, k] when tb) and its two gradients. */
function rowsTimes(a: Float64Array, b: Float64Array, R: number, K: number, M: number, tb: boolean): Float64Array {
  const y = new Float64Array(R * M);
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
    const v = a[r * K + k]!;
    if (v === 0) continue;
    for (let m = 0; m < M; m++) y[r * M + m]! += v * b[tb ? m * K + k : k * M + m]!;
  }
  return y;
}
function rowsGrads(a: Float64Array, b: Float64Array, dy: Float64Array, R: number, K: number, M: number, tb: boolean, need: readonly boolean[]): [Float64Array?, Float64Array?] {
  const da = need[0] ? new Float64Array(R * K) : undefined, db = need[1] ? new Float64Array(K * M) : undefined;
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
    let s = 0;
    const v = a[r * K + k]!;
    for (let m = 0; m < M; m++) {
      const bi = tb ? m * K + k : k * M + m, g = dy[r * M + m]!;
      s += g * b[bi]!;
      if (db) db[bi]! += v * g;
    }
    if (da) da[r * K + k] = s;
  }
  return [da, db];
}

function gemmKernel(n: Node): Kernel | string {
  if (intAttr(n, 'transA', 0) !== 0) return 'Gemm with transA';
  const tb = intAttr(n, 'transB', 0) !== 0, alpha = floatAttr(n, 'alpha', 1), beta = floatAttr(n, 'beta', 1);
  const sizes = (a: T, b: T): [number, number, number] => [a.dims[0]!, a.dims[1]!, tb ? b.dims[0]! : b.dims[1]!];
  return {
    forward: ([a, b, c]) => {
      const [R, K, M] = sizes(a!, b!), y = rowsTimes(a!.data, b!.data, R, K, M, tb);
      for (let i = 0; i < y.length; i++) y[i] = alpha * y[i]! + (c ? beta * c.data[c.data.length === M ? i % M : c.data.length === 1 ? 0 : i]! : 0);
      return { out: { dims: [R, M], data: y } };
    },
    backward: ([a, b, c], _o, _s, dy, need) => {
      const [R, K, M] = sizes(a!, b!), [da, db] = rowsGrads(a!.data, b!.data, dy, R, K, M, tb, need);
      const scale = (v: Float64Array | undefined): Float64Array | undefined => v?.map((x) => x * alpha);
      let dc: Float64Array | undefined;
      if (c && need[2]) {
        dc = new Float64Array(c.data.length);
        for (let i = 0; i < dy.length; i++) dc[c.data.length === M ? i % M : c.data.length === 1 ? 0 : i]! += beta * dy[i]!;
      }
      return [scale(da), scale(db), dc];
    },
  };
}

function matmulKernel(): Kernel {
  const sizes = (a: T, b: T): [number, number, number] => [numel(a.dims) / b.dims[0]!, b.dims[0]!, b.dims[1]!];
  return {
    forward: ([a, b]) => { const [R, K, M] = sizes(a!, b!); return { out: { dims: [...a!.dims.slice(0, -1), M], data: rowsTimes(a!.data, b!.data, R, K, M, false) } }; },
    backward: ([a, b], _o, _s, dy, need) => { const [R, K, M] = sizes(a!, b!); return rowsGrads(a!.data, b!.data, dy, R, K, M, false, need); },
  };
}

function gapKernel(): Kernel {
  return {
    forward: ([x]) => {
      const [N, C] = x!.dims as number[], hw = numel(x!.dims.slice(2)), out = new Float64Array(N! * C!);
      for (let i = 0; i < x!.data.length; i++) out[Math.floor(i / hw)]! += x!.data[i]! / hw;
      return { out: { dims: [N!, C!, ...x!.dims.slice(2).map(() => 1)], data: out } };
    },
    backward: ([x], _o, _s, dy) => { const hw = numel(x!.dims.slice(2)); return [x!.data.map((_, i) => dy[Math.floor(i / hw)]! / hw)]; },
  };
}

function maxPoolKernel(n: Node): Kernel | string {
  const k = intsAttr(n, 'kernel_shape'), dil = intsAttr(n, 'dilations');
  if (!k || k.length !== 2 || (dil && dil.some((d) => d !== 1)) || n.outputs.slice(1).some(Boolean)) return 'MaxPool that is not plain 2-D';
  const [s0, s1] = intsAttr(n, 'strides') ?? [1, 1], pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0], ceil = intAttr(n, 'ceil_mode', 0) !== 0;
  const outLen = (L: number, kk: number, s: number, pa: number, pb: number): number => {
    const r = (ceil ? Math.ceil : Math.floor)((L + pa + pb - kk) / s) + 1;
    return ceil && (r - 1) * s >= L + pa ? r - 1 : r;
  };
  return {
    forward: ([x]) => {
      const [N, C, H, W] = x!.dims as [number, number, number, number];
      const OH = outLen(H, k[0]!, s0!, pads[0]!, pads[2]!), OW = outLen(W, k[1]!, s1!, pads[1]!, pads[3]!);
      const out = new Float64Array(N * C * OH * OW), arg = new Int32Array(out.length);
      for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity, at = -1;
        for (let a = 0; a < k[0]!; a++) {
          const ih = oh * s0! - pads[0]! + a;
          if (ih < 0 || ih >= H) continue;
          for (let b = 0; b < k[1]!; b++) {
            const iw = ow * s1! - pads[1]! + b;
            if (iw < 0 || iw >= W) continue;
            const i = (p * H + ih) * W + iw;
            if (x!.data[i]! > best) { best = x!.data[i]!; at = i; }
          }
        }
        const o = (p * OH + oh) * OW + ow;
        out[o] = best; arg[o] = at;
      }
      return { out: { dims: [N, C, OH, OW], data: out }, saved: arg };
    },
    backward: ([x], _o, arg, dy) => { const dx = new Float64Array(x!.data.length); for (let o = 0; o < dy.length; o++) if (arg![o]! >= 0) dx[arg![o]!]! += dy[o]!; return [dx]; },
  };
}

function bnKernel(g: Graph, n: Node): Kernel | string {
  const [sc, bi, mean, vr] = [1, 2, 3, 4].map((i) => constOf(g, n.inputs[i]));
  if (![sc, bi, mean, vr].every((t) => t && t.dtype === 'float32')) return 'BatchNormalization without constant parameters';
  const eps = floatAttr(n, 'epsilon', 1e-5), C = sc!.data.length;
  const a = Float64Array.from({ length: C }, (_, c) => (sc!.data as Float32Array)[c]! / Math.sqrt((vr!.data as Float32Array)[c]! + eps));
  const b = Float64Array.from({ length: C }, (_, c) => (bi!.data as Float32Array)[c]! - (mean!.data as Float32Array)[c]! * a[c]!);
  const ch = (x: T, i: number): number => Math.floor(i / numel(x.dims.slice(2))) % C;
  return {
    forward: ([x]) => ({ out: { dims: x!.dims, data: x!.data.map((v, i) => a[ch(x!, i)]! * v + b[ch(x!, i)]!) } }),
    backward: ([x], _o, _s, dy) => [dy.map((gv, i) => gv * a[ch(x!, i)]!)],
  };
}

/** Index into `from` (numpy-broadcast against `to`) of every element of `to`. */
function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const off = to.length - from.length, out = new Int32Array(numel(to));
  const strides = from.map((_, i) => numel(from.slice(i + 1)));
  for (let e = 0; e < out.length; e++) {
    let rest = e, idx = 0;
    for (let d = to.length - 1; d >= 0; d--) {
      const c = rest % to[d]!;
      rest = Math.floor(rest / to[d]!);
      if (d >= off && from[d - off] !== 1) idx += c * strides[d - off]!;
    }
    out[e] = idx;
  }
  return out;
}

function binaryKernel(g: Graph, n: Node): Kernel | string {
  if (n.inputs.length !== 2) return `${n.op} of ${n.inputs.length} inputs`;
  const op = n.op, fixed = n.inputs.map((v) => !!constOf(g, v));
  const cache = new Map<string, Int32Array>();
  const index = (from: readonly number[], to: readonly number[]): Int32Array | undefined => {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return undefined;
    const key = `${from.join(',')}>${to.join(',')}`;
    return cache.get(key) ?? cache.set(key, broadcastIndex(from, to)).get(key)!;
  };
  const shape = (a: T, b: T): readonly number[] => (numel(a.dims) >= numel(b.dims) ? a.dims : b.dims);
  const same = (a: T, b: T): boolean => a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
  return {
    forward: ([a, b]) => {
      // two computed operands must agree in shape; a constant may broadcast
      if (!fixed[0] && !fixed[1] && !same(a!, b!)) throw new Error(`internal: distil ${op} of unequal shapes`);
      const dims = shape(a!, b!), ia = index(a!.dims, dims), ib = index(b!.dims, dims), out = new Float64Array(numel(dims));
      for (let i = 0; i < out.length; i++) {
        const x = a!.data[ia ? ia[i]! : i]!, y = b!.data[ib ? ib[i]! : i]!;
        out[i] = op === 'Add' ? x + y : op === 'Sub' ? x - y : x * y;
      }
      return { out: { dims, data: out } };
    },
    backward: ([a, b], out, _s, dy, need) => {
      const grad = (self: T, other: T, k: number): Float64Array | undefined => {
        if (!need[k]) return undefined;
        const is = index(self.dims, out.dims), io = index(other.dims, out.dims), d = new Float64Array(self.data.length);
        const sign = op === 'Sub' && k === 1 ? -1 : 1;
        for (let i = 0; i < dy.length; i++) d[is ? is[i]! : i]! += op === 'Mul' ? dy[i]! * other.data[io ? io[i]! : i]! : sign * dy[i]!;
        return d;
      };
      return [grad(a!, b!, 0), grad(b!, a!, 1)];
    },
  };
}

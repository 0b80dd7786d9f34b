// The rows of a re-fit: how a layer (2-D Conv/ConvTranspose, Gemm, MatMul) turns one output position into a feature vector
// (the input patch, plus 1 for the bias) and a target (the original output's kept channels there), and how the
// fitted Θ (features × outputs) goes back into its weight and bias.

import type { Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { namesRead } from '../graph-util.js';
import { constOf } from './groups.js';

export interface LayerForm {
  /** Features per row (bias column included) and outputs per row. */
  readonly width: number;
  readonly outputs: number;
  /** Output positions (rows) of an output of these dims. */
  positions(dims: readonly number[]): number;
  /** Target row at position p of the ORIGINAL output `y`, channels `kept` (all when undefined). */
  target(y: Tensor, p: number, kept: readonly number[] | undefined): Float64Array;
  /** Feature row at position p (of an output of dims `out`) of the pruned input `x`. */
  features(x: Tensor, p: number, out: readonly number[]): Float64Array;
  /** Θ of the layer's current weights in `g`. */
  prior(g: Graph): Float64Array;
  /** `g` with the layer's weights replaced by Θ. */
  write(g: Graph, theta: Float64Array, fresh: (hint: string) => string): Graph;
}

const intAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'int' ? a.value : d; };
const intsAttr = (n: Node, k: string): readonly number[] | undefined => { const a = n.attrs[k]; return a?.kind === 'ints' ? a.value : undefined; };
const floatAttr = (n: Node, k: string, d: number): number => { const a = n.attrs[k]; return a?.kind === 'float' ? a.value : d; };

/** Picks channel values along the last (Gemm/MatMul) or second (Conv) axis into a row. */
function pick(d: Float32Array, base: number, stride: number, kept: readonly number[] | undefined, total: number): Float64Array {
  const n = kept ? kept.length : total, out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = d[base + (kept ? kept[i]! : i) * stride]!;
  return out;
}

/** Replaces inputs of node `name`, adding the new initializers. */
function replaceInputs(g: Graph, name: string, repl: Record<number, [string, Tensor]>): Graph {
  const inits = new Map(g.initializers), types = new Map(g.types);
  const nodes = g.nodes.map((n) => {
    if (n.name !== name) return n;
    const inputs = [...n.inputs];
    for (const [k, [v, t]] of Object.entries(repl)) {
      inputs[Number(k)] = v;
      inits.set(v, t);
      types.set(v, { kind: 'tensor', dtype: 'float32', shape: [...t.dims] });
    }
    return { ...n, inputs };
  });
  // the weights replaced go when nothing else reads them (the pruned model must not carry both)
  const old = g.nodes.find((n) => n.name === name)!;
  const read = new Set(nodes.flatMap((n) => namesRead(n)));
  for (const k of Object.keys(repl)) {
    const v = old.inputs[Number(k)];
    if (v && !read.has(v) && !g.outputs.includes(v)) { inits.delete(v); types.delete(v); }
  }
  return { ...g, nodes, initializers: inits, types };
}

/** The re-fit form of node `n` in `g`, or why it has none. */
export function layerForm(g: Graph, n: Node): LayerForm | string {
  const w = constOf(g, n.inputs[1]);
  if (!w || w.dtype !== 'float32') return 'weights not constant';
  if (n.op === 'Conv' || n.op === 'ConvTranspose') return convForm(n, w);
  if (n.op === 'Gemm') return gemmForm(g, n, w);
  if (n.op === 'MatMul' && w.dims.length === 2) return matmulForm(n, w);
  return `no re-fit for ${n.op}`;
}

function convForm(n: Node, w: Tensor): LayerForm | string {
  const autoPad = n.attrs['auto_pad'];
  if (w.dims.length !== 4 || intAttr(n, 'group', 1) !== 1) return `only 2-D group-1 ${n.op} is re-fitted`;
  if (autoPad?.kind === 'string' && autoPad.value !== 'NOTSET') return `${n.op} with auto_pad is not re-fitted`;
  // Conv weights are [M, C, KH, KW]; ConvTranspose's [C, M, KH, KW]: an output position reads input (ih, iw) through
  // tap (kh, kw) when oh = ih*s - pad + kh*d (instead of ih = oh*s - pad + kh*d)
  const transposed = n.op === 'ConvTranspose';
  if (transposed && intsAttr(n, 'output_shape')?.length) return 'ConvTranspose with output_shape is not re-fitted';
  const [M, C, KH, KW] = (transposed ? [w.dims[1], w.dims[0], w.dims[2], w.dims[3]] : w.dims) as [number, number, number, number];
  const wAt = (m: number, f: number): number => (transposed ? (Math.floor(f / (KH * KW)) * M + m) * KH * KW + (f % (KH * KW)) : m * (F - 1) + f);
  const [sh, sw] = intsAttr(n, 'strides') ?? [1, 1], [dh, dw] = intsAttr(n, 'dilations') ?? [1, 1];
  const pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
  const F = C * KH * KW + 1;
  return {
    width: F, outputs: M,
    positions: (d) => d[0]! * d[2]! * d[3]!,
    target: (y, p, kept) => {
      const hw = y.dims[2]! * y.dims[3]!, nn = Math.floor(p / hw), s = p % hw, Mo = y.dims[1]!;
      return pick(y.data as Float32Array, nn * Mo * hw + s, hw, kept, Mo);
    },
    features: (x, p, out) => {
      const H = x.dims[2]!, W = x.dims[3]!, OW = out[3]!, hw = out[2]! * OW, nn = Math.floor(p / hw), oh = Math.floor((p % hw) / OW), ow = p % OW;
      const d = x.data as Float32Array, f = new Float64Array(F);
      for (let c = 0; c < C; c++) {
        const base = (nn * C + c) * H * W;
        for (let kh = 0; kh < KH; kh++) {
          const ih = transposed ? (oh + pads[0]! - kh * dh!) / sh! : oh * sh! - pads[0]! + kh * dh!;
          if (ih < 0 || ih >= H || !Number.isInteger(ih)) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = transposed ? (ow + pads[1]! - kw * dw!) / sw! : ow * sw! - pads[1]! + kw * dw!;
            if (iw >= 0 && iw < W && Number.isInteger(iw)) f[(c * KH + kh) * KW + kw] = d[base + ih * W + iw]!;
          }
        }
      }
      f[F - 1] = 1;
      return f;
    },
    prior: (g) => {
      const wt = g.initializers.get(g.nodes.find((x) => x.name === n.name)!.inputs[1]!)!.data as Float32Array;
      const b = constOf(g, g.nodes.find((x) => x.name === n.name)!.inputs[2]);
      const th = new Float64Array(F * M);
      for (let m = 0; m < M; m++) {
        for (let f = 0; f < F - 1; f++) th[f * M + m] = wt[wAt(m, f)]!;
        th[(F - 1) * M + m] = b ? (b.data as Float32Array)[m]! : 0;
      }
      return th;
    },
    write: (g, th, fresh) => {
      const wt = new Float32Array(M * (F - 1)), bt = new Float32Array(M);
      for (let m = 0; m < M; m++) {
        for (let f = 0; f < F - 1; f++) wt[wAt(m, f)] = th[f * M + m]!;
        bt[m] = th[(F - 1) * M + m]!;
      }
      return replaceInputs(g, n.name, { 1: [fresh(`${n.name}_weight_refit`), makeTensor('float32', w.dims, wt)], 2: [fresh(`${n.name}_bias_refit`), makeTensor('float32', [M], bt)] });
    },
  };
}

function gemmForm(g: Graph, n: Node, w: Tensor): LayerForm | string {
  if (intAttr(n, 'transA', 0) !== 0 || w.dims.length !== 2) return 'Gemm with transA is not re-fitted';
  const transB = intAttr(n, 'transB', 0) !== 0, alpha = floatAttr(n, 'alpha', 1), beta = floatAttr(n, 'beta', 1);
  const K = transB ? w.dims[1]! : w.dims[0]!, M = transB ? w.dims[0]! : w.dims[1]!;
  const c = n.inputs[2] ? constOf(g, n.inputs[2]) : undefined;
  if (n.inputs[2] && (!c || c.data.length !== M)) return 'Gemm whose C is not a per-column constant is not re-fitted';
  if (alpha === 0) return 'Gemm with alpha 0';
  const bias = beta !== 0, F = K + (bias ? 1 : 0);
  return {
    width: F, outputs: M,
    positions: (d) => d[0]!,
    target: (y, p, kept) => pick(y.data as Float32Array, p * y.dims[1]!, 1, kept, y.dims[1]!),
    features: (x, p) => {
      const f = new Float64Array(F);
      const d = x.data as Float32Array;
      for (let k = 0; k < K; k++) f[k] = d[p * K + k]!;
      if (bias) f[K] = 1;
      return f;
    },
    prior: (gc) => {
      const node = gc.nodes.find((x) => x.name === n.name)!;
      const b = gc.initializers.get(node.inputs[1]!)!.data as Float32Array, cc = constOf(gc, node.inputs[2]);
      const th = new Float64Array(F * M);
      for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) th[k * M + m] = alpha * b[transB ? m * K + k : k * M + m]!;
      if (bias) for (let m = 0; m < M; m++) th[K * M + m] = cc ? beta * (cc.data as Float32Array)[m]! : 0;
      return th;
    },
    write: (gc, th, fresh) => {
      const b = new Float32Array(K * M);
      for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) b[transB ? m * K + k : k * M + m] = th[k * M + m]! / alpha;
      const repl: Record<number, [string, Tensor]> = { 1: [fresh(`${n.name}_weight_refit`), makeTensor('float32', w.dims, b)] };
      if (bias) repl[2] = [fresh(`${n.name}_bias_refit`), makeTensor('float32', [M], Float32Array.from({ length: M }, (_, m) => th[K * M + m]! / beta))];
      return replaceInputs(gc, n.name, repl);
    },
  };
}

function matmulForm(n: Node, w: Tensor): LayerForm {
  const [K, M] = w.dims as [number, number];
  const rows = (d: readonly number[]): number => d.slice(0, -1).reduce((a, b) => a * b, 1);
  return {
    width: K, outputs: M,
    positions: rows,
    target: (y, p, kept) => pick(y.data as Float32Array, p * y.dims.at(-1)!, 1, kept, y.dims.at(-1)!),
    features: (x, p) => Float64Array.from((x.data as Float32Array).subarray(p * K, (p + 1) * K)),
    prior: (g) => Float64Array.from(g.initializers.get(g.nodes.find((x) => x.name === n.name)!.inputs[1]!)!.data as Float32Array),
    write: (g, th, fresh) => replaceInputs(g, n.name, { 1: [fresh(`${n.name}_weight_refit`), makeTensor('float32', w.dims, Float32Array.from(th))] }),
  };
}

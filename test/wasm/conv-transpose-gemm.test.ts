// ConvTranspose on the GEMM core (kernels/conv-transpose-gemm.ts) against the reference interpreter at awkward
// sizes: strides, dilations, groups, pads, output_padding, output_shape, auto_pad, 1-D, odd and tiny channel
// counts, empty and 1-pixel images; onnxc.FusedConvTranspose and onnxc.NhwcFusedConvTranspose (residual +
// activations; fewer than 4 output channels take the activation pass after the gather) and
// onnxc.NhwcConvTranspose; Binaryen's optimiser on and off; and -O3 graphs (layout-nhwc) through compileWasmGraph.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { tensorError } from '../../compiler/compare.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder, type AttrInput } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { rowSegments, type ConvTGeom } from '../../backends/wasm/kernels/conv-transpose-gemm.js';
import { randTensor, worstError } from './helpers.js';

interface Spec {
  x: number[]; m: number; k: number[]; group?: number; strides?: number[]; dilations?: number[]; pads?: number[];
  output_padding?: number[]; output_shape?: number[]; auto_pad?: string; bias?: boolean;
}

const ACTS: [string, number[]][] = [['', []], ['Relu', []], ['LeakyRelu', [0.2]], ['Sigmoid', []], ['Tanh', []], ['Clip', [-0.3, 0.4]]];

function attrsOf(s: Spec): Record<string, AttrInput> {
  const a: Record<string, AttrInput> = { group: s.group ?? 1 };
  for (const k of ['strides', 'dilations', 'pads', 'output_padding', 'output_shape'] as const) if (s[k]) a[k] = s[k]!;
  if (s.auto_pad) a['auto_pad'] = s.auto_pad;
  return a;
}
const toLast = (d: readonly number[]): number[] => [d[0]!, ...d.slice(2), d[1]!];
const label = (s: Spec): string => `x[${s.x}] m${s.m} k[${s.k}] g${s.group ?? 1} s[${s.strides ?? 1}] d[${s.dilations ?? 1}] p[${s.pads ?? 0}] op[${s.output_padding ?? 0}]${s.output_shape ? ` os[${s.output_shape}]` : ''}${s.auto_pad ? ` ${s.auto_pad}` : ''}${s.bias === false ? ' nobias' : ''}`;

/** The output dims of a ConvTranspose spec, from the reference. */
function outDims(s: Spec): number[] {
  const b = new GraphBuilder();
  b.output(convT(b, s, b.input('x', 'float32', s.x)));
  return (runGraph(b.build(), [randTensor(s.x, 1)]) as Tensor[])[0]!.dims as number[];
}

function convT(b: GraphBuilder, s: Spec, x: string, op = 'ConvTranspose', extra: Record<string, AttrInput> = {}, z?: string): string {
  const G = s.group ?? 1;
  const ins = [x, b.weight('w', randTensor([s.x[1]!, s.m / G, ...s.k], 5)), s.bias === false ? '' : b.weight('b', randTensor([s.m], 6))];
  if (z) ins.push(z);
  while (ins[ins.length - 1] === '') ins.pop();
  return b.op(op, ins, { ...attrsOf(s), ...extra });
}

const specs: Spec[] = [
  // DCGAN-like: 1x1 latent to 4x4, then 4x4 stride 2 pad 1 doublings (output channels 3, 4, 5)
  { x: [1, 7, 1, 1], m: 8, k: [4, 4] },
  { x: [1, 6, 4, 4], m: 3, k: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] },
  { x: [2, 5, 3, 5], m: 5, k: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1], bias: false },
  { x: [1, 3, 5, 4], m: 4, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  // strides larger than the kernel (phases with no taps), unequal strides, dilations, groups
  { x: [1, 4, 3, 5], m: 6, k: [3, 2], group: 2, strides: [2, 3], pads: [1, 0, 0, 1], output_padding: [1, 0] },
  { x: [1, 2, 3, 3], m: 3, k: [2, 2], strides: [3, 3] },
  { x: [1, 3, 4, 3], m: 9, k: [3, 3], dilations: [2, 1], pads: [0, 1, 2, 0] },
  { x: [1, 6, 3, 4], m: 6, k: [3, 3], group: 3, strides: [2, 2], dilations: [2, 2] },
  { x: [1, 4, 5, 5], m: 4, k: [3, 3], group: 4, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  // auto_pad and output_shape decide the padding
  { x: [1, 3, 4, 5], m: 5, k: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' },
  { x: [1, 3, 4, 5], m: 5, k: [4, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' },
  { x: [1, 2, 3, 3], m: 4, k: [3, 3], strides: [2, 2], output_shape: [8, 7] },
  { x: [1, 2, 3, 3], m: 1, k: [3, 3], strides: [1, 1], auto_pad: 'VALID' },
  // tiny and empty: 1 channel, 1 pixel, zero batch, zero input channels per group
  { x: [1, 1, 1, 1], m: 1, k: [1, 1] },
  { x: [0, 3, 2, 2], m: 4, k: [2, 2], strides: [2, 2] },
  { x: [3, 1, 2, 3], m: 13, k: [1, 3], strides: [1, 2] },
  // 1-D
  { x: [2, 3, 7], m: 5, k: [4], strides: [2], pads: [1, 2] },
  { x: [2, 1, 5], m: 2, k: [3], dilations: [2] },
  // wide: many columns (panel-packed B, several vector chunks and a tail)
  { x: [1, 16, 3, 3], m: 23, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  // edge rows on their own GEMMs (rowSegments: KW * Mg a multiple of 8): pads, dilations, groups, output_padding,
  // and an input row none of whose taps reach the output (pads 2 over a 2-row kernel)
  { x: [1, 5, 4, 3], m: 8, k: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] },
  { x: [2, 3, 5, 2], m: 8, k: [3, 2], strides: [2, 2], dilations: [2, 1], pads: [2, 0, 1, 1] },
  { x: [1, 4, 4, 3], m: 16, k: [3, 2], group: 2, strides: [2, 1], pads: [1, 0, 1, 1], output_padding: [1, 0] },
  { x: [1, 3, 6, 3], m: 4, k: [2, 2], pads: [2, 0, 2, 1] },
  { x: [1, 3, 5, 4], m: 8, k: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], bias: false },
];

describe('ConvTranspose on the GEMM core matches the reference', () => {
  for (const s of specs) {
    it(`ConvTranspose ${label(s)}`, () => {
      const b = new GraphBuilder();
      b.output(convT(b, s, b.input('x', 'float32', s.x)));
      const g = b.build();
      for (const optimize of [false, true]) expect(worstError(g, [randTensor(s.x, 7)], optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
  }
  // every third spec fused (with a residual on the odd ones) and channels-last
  specs.filter((s) => s.x[0] !== 0).forEach((s, i) => {
    const [act, params] = ACTS[i % ACTS.length]!;
    it(`FusedConvTranspose ${act || 'none'}${i % 2 ? ' +Z' : ''} ${label(s)}`, () => {
      const b = new GraphBuilder();
      const yd = outDims(s);
      const x = b.input('x', 'float32', s.x);
      const z = i % 2 ? b.input('z', 'float32', yd) : undefined;
      b.output(convT(b, s, x, 'onnxc.FusedConvTranspose', { activation: act, activation_params: { floats: params } }, z));
      const inputs = [randTensor(s.x, 7), ...(z ? [randTensor(yd, 8)] : [])];
      for (const optimize of [false, true]) expect(worstError(b.build(), inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
    it(`NhwcFusedConvTranspose ${act || 'none'}${i % 2 ? '' : ' +Z'} ${label(s)}`, () => {
      const b = new GraphBuilder();
      const yd = toLast(outDims(s));
      const x = b.input('x', 'float32', toLast(s.x));
      const z = i % 2 ? undefined : b.input('z', 'float32', yd);
      b.output(convT(b, s, x, 'onnxc.NhwcFusedConvTranspose', { rank: s.x.length, activation: act, activation_params: { floats: params } }, z));
      const inputs = [randTensor(toLast(s.x), 7), ...(z ? [randTensor(yd, 8)] : [])];
      for (const optimize of [false, true]) expect(worstError(b.build(), inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
    it(`NhwcConvTranspose ${label(s)}`, () => {
      const b = new GraphBuilder();
      b.output(convT(b, s, b.input('x', 'float32', toLast(s.x)), 'onnxc.NhwcConvTranspose', { rank: s.x.length }));
      for (const optimize of [false, true]) expect(worstError(b.build(), [randTensor(toLast(s.x), 7)], optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
  });
  it('a run-time weight takes the scalar kernel', () => {
    const b = new GraphBuilder();
    b.output(b.op('ConvTranspose', [b.input('x', 'float32', [1, 2, 3, 3]), b.input('w', 'float32', [2, 3, 2, 2])], { strides: [2, 2] }));
    expect(worstError(b.build(), [randTensor([1, 2, 3, 3], 1), randTensor([2, 3, 2, 2], 2)])).toBeLessThanOrEqual(1e-5);
  });
});

describe('rowSegments', () => {
  const geom = (o: Partial<ConvTGeom>): ConvTGeom => ({
    N: 1, C: 8, H: 4, W: 4, M: 8, OH: 8, OW: 8, G: 1, Cg: 8, Mg: 8, KH: 4, KW: 4, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1,
    cols: 128, channelsLast: true, ...o,
  });
  it('splits off the edge rows whose first or last kernel row lands in the padding', () => {
    // DCGAN 4x4 s2 p1: row 0's kh 0 reaches output row -1, row 3's kh 3 output row 8
    expect(rowSegments(geom({}))).toEqual([{ i0: 0, i1: 1, c0: 32, c1: 128 }, { i0: 1, i1: 3, c0: 0, c1: 128 }, { i0: 3, i1: 4, c0: 0, c1: 96 }]);
  });
  it('drops the rows with no taps in the output', () => {
    // 6 rows, 2x2 kernel, stride 1, pads 2: row i reaches output rows i - 2 + kh of [0, 3); rows 0 and 5 reach none
    expect(rowSegments(geom({ H: 6, KH: 2, KW: 2, sh: 1, pt: 2, OH: 3, cols: 32 }))).toEqual([
      { i0: 1, i1: 2, c0: 16, c1: 32 }, { i0: 2, i1: 4, c0: 0, c1: 32 }, { i0: 4, i1: 5, c0: 0, c1: 16 }]);
  });
  it('keeps one GEMM when a split would fall inside a panel, or nothing is skipped', () => {
    expect(rowSegments(geom({ Mg: 3, M: 3, cols: 48 }))).toEqual([{ i0: 0, i1: 4, c0: 0, c1: 48 }]);
    expect(rowSegments(geom({ pt: 0, pl: 0, OH: 10, OW: 10 }))).toEqual([{ i0: 0, i1: 4, c0: 0, c1: 128 }]);
  });
});

/** Compile through the -O pipeline (fusion, layout-nhwc) and compare with the reference on the original graph. */
function optimizedError(g: Graph, inputs: Tensor[], level: 0 | 2 | 3): number {
  const shapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
  const { artifact } = compileWasmGraph(g, { inputShapes: shapes, embedLimit: Infinity }, { level });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
  const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  const ref = runGraph(g, inputs) as Tensor[];
  return Math.max(...g.outputs.map((n, k) => {
    const e = tensorError({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data } as Tensor, ref[k]!);
    return e.maxAbs / Math.max(1, e.maxExpected);
  }));
}

describe('ConvTranspose through the pass pipeline', () => {
  it('conv autoencoder (Conv s2 + LeakyRelu + ConvTranspose s2 + Sigmoid) at -O0, -O2, -O3', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 16, 16]);
    const h = b.op('LeakyRelu', [b.op('Conv', [x, b.weight('cw', randTensor([8, 1, 3, 3], 2)), b.weight('cb', randTensor([8], 3))], { strides: [2, 2], pads: [1, 1, 1, 1] })], { alpha: 0.2 });
    const y = b.op('ConvTranspose', [h, b.weight('tw', randTensor([8, 1, 4, 4], 4)), b.weight('tb', randTensor([1], 5))], { strides: [2, 2], pads: [1, 1, 1, 1] });
    b.output(b.op('Sigmoid', [y]));
    for (const level of [0, 2, 3] as const) expect(optimizedError(b.build(), [randTensor([1, 1, 16, 16], 9)], level), `-O${level}`).toBeLessThanOrEqual(1e-5);
  });
  it('float64 and 3-D ConvTranspose (no GEMM form) still compile at -O3', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float64', [1, 2, 3, 3]);
    const w = { dtype: 'float64', dims: [2, 3, 2, 2], data: Float64Array.from(randTensor([2, 3, 2, 2], 3).data) } as Tensor;
    b.output(b.op('Relu', [b.op('ConvTranspose', [x, b.weight('w', w)], { strides: [2, 2] })]));
    const x64 = { dtype: 'float64', dims: [1, 2, 3, 3], data: Float64Array.from(randTensor([1, 2, 3, 3], 4).data) } as Tensor;
    expect(optimizedError(b.build(), [x64], 3)).toBeLessThanOrEqual(1e-12);
    const c = new GraphBuilder();
    c.output(c.op('Relu', [c.op('ConvTranspose', [c.input('x', 'float32', [1, 2, 2, 3, 2]), c.weight('w', randTensor([2, 2, 2, 2, 2], 5))], { strides: [1, 2, 1] })]));
    expect(optimizedError(c.build(), [randTensor([1, 2, 2, 3, 2], 6)], 3)).toBeLessThanOrEqual(1e-5);
  });
  it('ConvTranspose + BatchNormalization + Relu (DCGAN block) at -O2, -O3', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 6, 4, 4]);
    const y = b.op('ConvTranspose', [x, b.weight('w', randTensor([6, 5, 4, 4], 2))], { strides: [2, 2], pads: [1, 1, 1, 1] });
    const bn = b.op('BatchNormalization', [y, b.weight('s', randTensor([5], 3)), b.weight('bb', randTensor([5], 4)), b.weight('mu', randTensor([5], 5)),
      b.weight('v', { dtype: 'float32', dims: [5], data: new Float32Array([0.5, 1, 2, 1.5, 0.7]) } as Tensor)]);
    b.output(b.op('Relu', [bn]));
    for (const level of [2, 3] as const) expect(optimizedError(b.build(), [randTensor([1, 6, 4, 4], 9)], level), `-O${level}`).toBeLessThanOrEqual(1e-5);
  });
});

// Window generators (Hann, Hamming, Blackman; periodic or symmetric) and MelWeightMatrix, following the ONNX
// function bodies and reference implementation: computed in doubles, then cast to output_datatype.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { AnyOpDef, InferContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, tensorOf } from './util.js';
import { ALL_NUMERIC, FLOAT_TYPES, checkSize, constInts, dtypeAttr, scalarInt, scalarNum } from './reduce-util.js';

type WindowFn = (n: number, denom: number) => number;

/** Windows use cosine terms of 2*pi*n/N, where N = size (periodic) or size - 1 (symmetric). */
const WINDOWS: Record<string, WindowFn> = {
  HannWindow: (n, d) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / d),
  HammingWindow: (n, d) => 25 / 46 - (1 - 25 / 46) * Math.cos((2 * Math.PI * n) / d),
  BlackmanWindow: (n, d) => 0.42 - 0.5 * Math.cos((2 * Math.PI * n) / d) + 0.08 * Math.cos((4 * Math.PI * n) / d),
};

function expectScalarIntInput(ctx: InferContext<unknown>, i: number, what: string): void {
  expectDType(inType(ctx, i), ['int32', 'int64'], what);
}

function windowOp(op: string, fn: WindowFn): AnyOpDef {
  return defineOp({
    op,
    attrs: { output_datatype: attr.int(1), periodic: attr.int(1) },
    inputs: [1, 1],
    outputs: [1, 1],
    infer(ctx) {
      expectScalarIntInput(ctx, 0, 'size');
      const dtype = dtypeAttr(ctx.attrs.output_datatype, ALL_NUMERIC, 'output_datatype');
      const size = constInts(ctx, 0)?.[0];
      if (size !== undefined && size < 0) throw new ShapeError(`size must be >= 0, got ${size}`);
      return [tensorOf(dtype, [size ?? ctx.freshDim('window')])];
    },
    run(ctx) {
      const size = scalarInt(input(ctx, 0), 'size');
      if (size < 0) throw new KernelError(`size must be >= 0, got ${size}`);
      checkSize(size);
      const dtype = dtypeAttr(ctx.attrs.output_datatype, ALL_NUMERIC, 'output_datatype');
      const denom = ctx.attrs.periodic ? size : size - 1;
      return [fromValues(dtype, [size], Array.from({ length: size }, (_, n) => fn(n, denom)))];
    },
  });
}

function hzToMel(hz: number): number { return 2595 * Math.log10(1 + hz / 700); }
function melToHz(mel: number): number { return 700 * (Math.pow(10, mel / 2595) - 1); }

/** Triangular filters between mel-spaced bin edges, as the ONNX reference builds them. */
function melWeights(mels: number, dftLength: number, rate: number, lower: number, upper: number): Float64Array[] {
  const specBins = Math.floor(dftLength / 2) + 1;
  const lowMel = hzToMel(lower); const highMel = hzToMel(upper);
  // the reference divides the mel range by the number of edges (mels + 2), not the number of gaps
  const step = (highMel - lowMel) / (mels + 2);
  const edges = Array.from({ length: mels + 2 }, (_, i) => Math.floor(((dftLength + 1) * melToHz(i * step + lowMel)) / rate));
  const rows = Array.from({ length: specBins }, () => new Float64Array(mels));
  const set = (j: number, i: number, v: number): void => {
    if (!(j >= 0 && j < specBins)) throw new KernelError(`mel filter ${i} reaches spectrogram bin ${j}, outside [0, ${specBins})`);
    rows[j]![i] = v;
  };
  for (let i = 0; i < mels; i++) {
    const lo = edges[i]!; const center = edges[i + 1]!; const hi = edges[i + 2]!;
    if (center === lo) set(center, i, 1);
    else for (let j = lo; j <= center; j++) set(j, i, (j - lo) / (center - lo));
    if (hi > center) for (let j = center; j < hi; j++) set(j, i, (hi - j) / (hi - center));
  }
  return rows;
}

const melWeightMatrix = defineOp({
  op: 'MelWeightMatrix',
  attrs: { output_datatype: attr.int(1) },
  inputs: [5, 5],
  outputs: [1, 1],
  infer(ctx) {
    for (const [i, w] of [[0, 'num_mel_bins'], [1, 'dft_length'], [2, 'sample_rate']] as const) expectScalarIntInput(ctx, i, w);
    for (const [i, w] of [[3, 'lower_edge_hertz'], [4, 'upper_edge_hertz']] as const) expectDType(inType(ctx, i), FLOAT_TYPES, w);
    const dtype = dtypeAttr(ctx.attrs.output_datatype, ALL_NUMERIC, 'output_datatype');
    const mels = constInts(ctx, 0)?.[0]; const len = constInts(ctx, 1)?.[0];
    const shape: Dim[] = [len !== undefined ? Math.floor(len / 2) + 1 : ctx.freshDim('bins'), mels ?? ctx.freshDim('mels')];
    return [tensorOf(dtype, shape)];
  },
  run(ctx) {
    const mels = scalarInt(input(ctx, 0), 'num_mel_bins');
    const len = scalarInt(input(ctx, 1), 'dft_length');
    const rate = scalarInt(input(ctx, 2), 'sample_rate');
    const lower = scalarNum(input(ctx, 3), 'lower_edge_hertz');
    const upper = scalarNum(input(ctx, 4), 'upper_edge_hertz');
    if (!(mels >= 1) || !(len >= 1) || !(rate >= 1)) throw new KernelError('num_mel_bins, dft_length and sample_rate must be >= 1');
    if (!(lower >= 0 && upper >= lower)) throw new KernelError(`need 0 <= lower_edge_hertz <= upper_edge_hertz, got ${lower}, ${upper}`);
    checkSize((Math.floor(len / 2) + 1) * mels);
    const dtype = dtypeAttr(ctx.attrs.output_datatype, ALL_NUMERIC, 'output_datatype');
    const rows = melWeights(mels, len, rate, lower, upper);
    const out: Tensor = fromValues(dtype, [rows.length, mels], rows.flatMap((r) => [...r]));
    return [out];
  },
});

export const windowOps: AnyOpDef[] = [
  ...Object.entries(WINDOWS).map(([op, fn]) => windowOp(op, fn)),
  melWeightMatrix,
];

// The int8 GEMMs of a `--simd relaxed` build (onnxc.QConv's GEMM path, MatMulInteger on relaxed_dot_i8x16_i7x16)
// where the centred weights fit 7 bits: exactly the reference's and the strict build's integers; weights beyond
// [-64, 63] keep the strict kernel (and so no relaxed dot); uint8 and int8 activations, zero points, padding (taps
// holding x_zp), odd K, K under one quad, row/column tails, groups, batches. The relaxed
// build runs under V8's baseline compiler (Liftoff, what a module's first runs use) and its optimising one (TurboFan).

import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import type { SimdMode } from '../../backends/wasm/relaxed.js';
import { relaxedSimdAvailable } from '../../bench/relaxed-probe.js';
import { toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

// Node 20 has relaxed SIMD behind a flag; V8 reads it when a module is compiled
if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

function ints<D extends 'int8' | 'uint8' | 'int32'>(dtype: D, dims: number[], lo: number, hi: number, seed: number): Tensor<D> {
  const n = dims.reduce((a, b) => a * b, 1), d = dtype === 'int8' ? new Int8Array(n) : dtype === 'uint8' ? new Uint8Array(n) : new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; d[i] = lo + (s % (hi - lo + 1)); }
  return makeTensor(dtype, dims, d as never);
}
const f32 = (dims: number[], vals: number[]): Tensor => makeTensor('float32', dims, Float32Array.from(vals));
const scalar8 = (dtype: 'int8' | 'uint8', v: number): Tensor => makeTensor(dtype, [], dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v));

/** i16x8.relaxed_dot_i8x16_i7x16_s: 0xfd 0x112 (LEB128 0x92 0x02). */
const hasRelaxedDot = (b: Uint8Array): boolean => b.some((v, i) => v === 0xfd && b[i + 1] === 0x92 && b[i + 2] === 0x02);

function run(g: Graph, inputs: readonly Tensor[], simd: SimdMode, optimize: boolean, turbofan = false): { out: Tensor[]; dot: boolean } {
  // V8 reads the tier flags when it compiles a module (createSessionSync below)
  if (turbofan) setFlagsFromString('--no-liftoff');
  try { return runIn(g, inputs, simd, optimize); } finally { if (turbofan) setFlagsFromString('--liftoff'); }
}

function runIn(g: Graph, inputs: readonly Tensor[], simd: SimdMode, optimize: boolean): { out: Tensor[]; dot: boolean } {
  const shapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
  const a = compileWasm(g, { inputShapes: shapes, optimize, embedLimit: 0, simd });
  const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
  const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  return { out: g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor), dot: hasRelaxedDot(a.wasm) };
}

/** Relaxed and strict builds (optimised and not) both equal the reference, element for element; only the relaxed
 *  build has the relaxed dot, and it has it exactly when `dot`. */
function expectExact(g: Graph, inputs: Tensor[], dot: boolean): void {
  const want = (runGraph(g, inputs) as Tensor[]).map((t) => Array.from(t.data as ArrayLike<number>));
  for (const optimize of [true, false]) {
    const strict = run(g, inputs, 'strict', optimize), relaxed = run(g, inputs, 'relaxed', optimize), tf = run(g, inputs, 'relaxed', optimize, true);
    expect(strict.dot).toBe(false);
    expect(relaxed.dot).toBe(dot);
    for (const r of [strict, relaxed, tf]) r.out.forEach((t, i) => expect(Array.from(t.data as ArrayLike<number>)).toEqual(want[i]));
  }
}

type Range = [number, number];
interface QSpec { name: string; N?: number; C: number; H: number; W: number; OC: number; k: number; s: number; pad: number; group: number; x: 'int8' | 'uint8'; y: 'int8' | 'uint8'; w: Range; clamp?: [number, number] }

const SEVEN: Range = [-64, 63], SYM: Range = [-127, 127];
const QSPECS: QSpec[] = [
  { name: '3x3 pad 1, uint8, odd K', C: 5, H: 6, W: 7, OC: 12, k: 3, s: 1, pad: 1, group: 1, x: 'uint8', y: 'uint8', w: SEVEN },
  { name: '3x3 s2 pad 1, uint8, 16 channels, column tail', C: 16, H: 9, W: 8, OC: 20, k: 3, s: 2, pad: 1, group: 1, x: 'uint8', y: 'uint8', w: SEVEN },
  { name: 'stem 3x3 s2 from 3 channels, int8 activations, clamp', C: 3, H: 11, W: 10, OC: 8, k: 3, s: 2, pad: 1, group: 1, x: 'int8', y: 'int8', w: SEVEN, clamp: [-20, 100] },
  { name: 'pointwise 1x1, 72 channels (16-byte loop), batch 2, column tail', N: 2, C: 72, H: 3, W: 5, OC: 21, k: 1, s: 1, pad: 0, group: 1, x: 'uint8', y: 'int8', w: SEVEN },
  { name: 'pointwise 1x1, 6 channels (K under one quad pair)', C: 6, H: 2, W: 3, OC: 8, k: 1, s: 1, pad: 0, group: 1, x: 'int8', y: 'uint8', w: SEVEN },
  { name: 'pointwise 1x1, 34 channels (a 2-byte tail)', C: 34, H: 4, W: 4, OC: 16, k: 1, s: 1, pad: 0, group: 1, x: 'uint8', y: 'uint8', w: SEVEN },
  { name: 'grouped 3x3, 2 groups', C: 8, H: 6, W: 6, OC: 12, k: 3, s: 1, pad: 1, group: 2, x: 'uint8', y: 'uint8', w: SEVEN },
  { name: 'symmetric int8 weights ([-127, 127]) keep the strict kernel', C: 8, H: 4, W: 4, OC: 8, k: 1, s: 1, pad: 0, group: 1, x: 'uint8', y: 'uint8', w: SYM },
];

function qconv(s: QSpec): { g: Graph; inputs: Tensor[] } {
  const b = new GraphBuilder(), N = s.N ?? 1;
  const x = b.input('x', s.x, [N, s.H, s.W, s.C]);
  const ws = f32([s.OC], Array.from({ length: s.OC }, (_, i) => 0.002 + 0.0003 * i));
  const w = ints('int8', [s.OC, s.C / s.group, s.k, s.k], s.w[0], s.w[1], 11);
  // both ends of the range present, so the range (not luck) decides the kernel
  (w.data as Int8Array)[0] = s.w[0]; (w.data as Int8Array)[1] = s.w[1];
  const ins = [x, b.weight('xs', f32([], [0.05])), b.weight('xz', scalar8(s.x, s.x === 'int8' ? -7 : 121)),
    b.weight('w', w), b.weight('ws', ws), b.weight('wz', ints('int8', [s.OC], 0, 0, 1)),
    b.weight('ys', f32([], [0.3])), b.weight('yz', scalar8(s.y, s.y === 'int8' ? 3 : 130)), b.weight('b', ints('int32', [s.OC], -3000, 3000, 5))];
  const attrs = { kernel_shape: [s.k, s.k], strides: [s.s, s.s], pads: [s.pad, s.pad, s.pad, s.pad], group: s.group, channels_last: 1,
    ...(s.clamp ? { qmin: s.clamp[0], qmax: s.clamp[1] } : {}) };
  b.output(b.op('onnxc.QConv', ins, attrs));
  const xin = s.x === 'int8' ? ints('int8', [N, s.H, s.W, s.C], -128, 127, 3) : ints('uint8', [N, s.H, s.W, s.C], 0, 255, 3);
  return { g: b.build(), inputs: [xin] };
}

describe('onnxc.QConv GEMM path, relaxed build', () => {
  for (const s of QSPECS) {
    it(s.name, () => {
      const { g, inputs } = qconv(s);
      expectExact(g, inputs, s.w === SEVEN);
    });
  }
});

interface MSpec { aDims: number[]; N: number; a: 'int8' | 'uint8'; w: Range; zb?: 'scalar' | 'column'; za?: boolean }

const MSPECS: MSpec[] = [
  { aDims: [1, 1], N: 1, a: 'uint8', w: SEVEN },
  { aDims: [3, 7], N: 8, a: 'uint8', w: SEVEN, za: true },
  { aDims: [5, 33], N: 13, a: 'uint8', w: SEVEN, za: true },
  { aDims: [9, 64], N: 20, a: 'int8', w: SEVEN, za: true, zb: 'scalar' },
  { aDims: [2, 3, 40], N: 24, a: 'uint8', w: SEVEN },
  { aDims: [6, 18], N: 12, a: 'uint8', w: SEVEN, zb: 'column' },
  { aDims: [4, 16], N: 8, a: 'int8', w: SYM },
];

describe('MatMulInteger with a constant B, relaxed build', () => {
  for (const s of MSPECS) {
    const K = s.aDims.at(-1)!;
    it(`A ${s.a}[${s.aDims}] x B[${K},${s.N}] in [${s.w}]${s.za ? ', a_zp' : ''}${s.zb ? `, ${s.zb} b_zp` : ''}`, () => {
      const b = new GraphBuilder();
      const a = b.input('a', s.a, s.aDims);
      const za = s.za ? [b.input('za', s.a, [])] : [];
      // uint8 B around a per-column zero point of 128 +- 1: B - b_zp still in the range asked for
      const w = s.zb === 'column' ? ints('uint8', [K, s.N], 128 + s.w[0] + 1, 128 + s.w[1] - 1, 5) : ints('int8', [K, s.N], s.w[0], s.w[1], 5);
      if (s.zb !== 'column') { (w.data as Int8Array)[0] = s.w[0]; (w.data as Int8Array)[1] = s.w[1]; }
      const zb = !s.zb ? [] : s.zb === 'scalar' ? [b.weight('zb', makeTensor('int8', [], Int8Array.of(0)))] : [b.weight('zb', ints('uint8', [s.N], 127, 129, 9))];
      b.output(b.op('MatMulInteger', [a, b.weight('w', w), ...(za.length ? za : zb.length ? [b.weight('zna', scalar8(s.a, 0))] : []), ...zb]));
      const inputs = [s.a === 'uint8' ? ints('uint8', s.aDims, 0, 255, 3) : ints('int8', s.aDims, -128, 127, 3), ...(s.za ? [scalar8(s.a, s.a === 'uint8' ? 131 : -3)] : [])];
      expectExact(b.build(), inputs, s.w === SEVEN);
    });
  }
});

// `simd: 'relaxed'` (compile --simd relaxed): the GEMM/conv cores accumulate with f32x4.relaxed_madd. Checked
// against the reference interpreter and against the strict build of the same graph within a declared tolerance
// (a fused multiply-add rounds once where mul+add rounds twice: differences of a few ulp per K step).

import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import type { SimdMode } from '../../backends/wasm/relaxed.js';
import { RELAXED_PROBE, relaxedSimdAvailable } from '../../bench/relaxed-probe.js';
import { toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { TAIL_CASES } from './gemm-cases.js';
import { randTensor } from './helpers.js';

// Node 20 has relaxed SIMD behind a flag (on by default in later Node); V8 reads it when a module is compiled
if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

/** Declared tolerance, relative to each output's range: relaxed vs reference and relaxed vs strict. */
const TOL = 1e-5;

function build(g: Graph, inputs: readonly Tensor[], simd: SimdMode): { wasm: Uint8Array; run: () => Tensor[]; relaxed: boolean } {
  const shapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
  const a = compileWasm(g, { inputShapes: shapes, embedLimit: 0, simd });
  return {
    wasm: a.wasm, relaxed: a.manifest.simd === 'relaxed',
    run: () => {
      const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
      const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
      return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
    },
  };
}

/** Whether `bytes` holds the relaxed_madd opcode (0xfd 0x85 0x02): weights are kept out, so only code is scanned. */
const hasMadd = (bytes: Uint8Array): boolean => bytes.some((b, i) => b === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02);

function bigConv(): { name: string; g: Graph; inputs: Tensor[] } {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [1, 12, 12, 16]);
  b.output(b.op('onnxc.FusedConv', [x, b.weight('w', randTensor([24, 16, 3, 3], 2)), b.weight('b', randTensor([24], 3))],
    { kernel_shape: [3, 3], channels_last: 1, pads: [1, 1, 1, 1], activation: 'Relu' }));
  return { name: 'NHWC conv 16->24 3x3 on 12x12 (K = 144)', g: b.build(), inputs: [randTensor([1, 12, 12, 16], 1)] };
}

/** relaxed_min/relaxed_max (0xfd 0x8d 0x02 / 0xfd 0x8e 0x02): the clamps and max pooling of a relaxed module. */
const hasRelaxedMinMax = (bytes: Uint8Array): boolean => bytes.some((b, i) => b === 0xfd && (bytes[i + 1] === 0x8d || bytes[i + 1] === 0x8e) && bytes[i + 2] === 0x02);

/** Clamps where relaxed_min/max replace f32x4.min/max: a ReLU6 (Clip 0..6) epilogue, a depthwise conv's Relu, and
 *  NHWC max pooling (values straddling both bounds, so each clamp matters). */
function clampCases(): { name: string; g: Graph; inputs: Tensor[] }[] {
  const relu6 = new GraphBuilder();
  const x = relu6.input('x', 'float32', [1, 9, 9, 8]);
  relu6.output(relu6.op('onnxc.FusedConv', [x, relu6.weight('w', randTensor([12, 8, 3, 3], 4)), relu6.weight('b', randTensor([12], 5))],
    { kernel_shape: [3, 3], channels_last: 1, pads: [1, 1, 1, 1], activation: 'Clip', activation_params: [0, 6] }));
  const dw = new GraphBuilder();
  const xd = dw.input('x', 'float32', [1, 7, 7, 12]);
  dw.output(dw.op('onnxc.FusedConv', [xd, dw.weight('w', randTensor([12, 1, 3, 3], 6))],
    { kernel_shape: [3, 3], channels_last: 1, pads: [1, 1, 1, 1], group: 12, activation: 'Relu' }));
  const pool = new GraphBuilder();
  pool.output(pool.op('onnxc.NhwcMaxPool', [pool.input('x', 'float32', [1, 9, 9, 8])], { kernel_shape: [3, 3], strides: [2, 2], rank: 4 }));
  const scaled = (t: Tensor): Tensor => ({ ...t, data: Float32Array.from(t.data as Float32Array, (v) => v * 8) });
  return [
    { name: 'NHWC conv 8->12 3x3 with a ReLU6 epilogue', g: relu6.build(), inputs: [scaled(randTensor([1, 9, 9, 8], 7))] },
    { name: 'NHWC depthwise 3x3 with Relu', g: dw.build(), inputs: [randTensor([1, 7, 7, 12], 8)] },
    { name: 'NHWC max pool 3x3 stride 2', g: pool.build(), inputs: [randTensor([1, 9, 9, 8], 9)] },
  ];
}

describe('relaxed SIMD clamps (relaxed_min/max)', () => {
  for (const c of clampCases()) {
    it(`${c.name}: relaxed within ${TOL} of the reference and of strict; only the relaxed build has relaxed_min/max`, () => {
      const strict = build(c.g, c.inputs, 'strict'), relaxed = build(c.g, c.inputs, 'relaxed');
      expect(hasRelaxedMinMax(strict.wasm)).toBe(false);
      expect(hasRelaxedMinMax(relaxed.wasm)).toBe(true);
      const r = relaxed.run(), s = strict.run(), ref = runGraph(c.g, c.inputs) as Tensor[];
      expect(worstRelativeError(r, ref)).toBeLessThanOrEqual(TOL);
      expect(worstRelativeError(r, s)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('relaxed SIMD build', () => {
  it('the engine runs the probe module once the flag is set', () => {
    expect((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(RELAXED_PROBE)).toBe(true);
  });
  for (const c of [bigConv(), ...TAIL_CASES]) {
    it(`${c.name}: relaxed within ${TOL} of the reference and of strict`, () => {
      const strict = build(c.g, c.inputs, 'strict'), relaxed = build(c.g, c.inputs, 'relaxed');
      expect(strict.relaxed).toBe(false);
      expect(relaxed.relaxed).toBe(true);
      expect(hasMadd(strict.wasm)).toBe(false);
      expect(hasMadd(relaxed.wasm)).toBe(!('oneRow' in c && c.oneRow));
      const r = relaxed.run(), s = strict.run(), ref = runGraph(c.g, c.inputs) as Tensor[];
      expect(worstRelativeError(r, ref)).toBeLessThanOrEqual(TOL);
      expect(worstRelativeError(r, s)).toBeLessThanOrEqual(TOL);
    });
  }
});

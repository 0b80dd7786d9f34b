// `quantize --mode static --reduce-range` (7-bit weights) on the bundled CNN: the `--simd relaxed` build multiplies its
// integer convs on the relaxed int8 dot and gives the strict build's outputs (measured bit for bit); without it (8-bit weights)
// the relaxed build keeps the strict integer kernels.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { SimdMode } from '../../backends/wasm/relaxed.js';
import { relaxedSimdAvailable } from '../../bench/relaxed-probe.js';
import { quantizeModel } from '../../compiler/calibrate-quantize.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import { importModel, loadModel } from '../../compiler/onnx/import.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { buildExamples } from '../../models/build-examples.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { randTensor } from '../wasm/helpers.js';

if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

/** i16x8.relaxed_dot_i8x16_i7x16_s: 0xfd 0x112. */
const hasRelaxedDot = (b: Uint8Array): boolean => b.some((v, i) => v === 0xfd && b[i + 1] === 0x92 && b[i + 2] === 0x02);

function build(model: Model, simd: SimdMode, x: Tensor): { out: Float32Array; dot: boolean } {
  const { artifact } = compileWasmGraph(model.graph, { inputShapes: { [model.graph.inputs[0]!]: x.dims }, embedLimit: 0, simd }, { level: 3 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
  const o = s.runSync({ [model.graph.inputs[0]!]: toTensorValue(x) });
  return { out: o[model.graph.outputs[0]!]!.data as Float32Array, dot: hasRelaxedDot(artifact.wasm) };
}

describe('quantize --reduce-range with compile --simd relaxed', () => {
  it('7-bit weights run on the relaxed dot with the strict build\'s outputs; 8-bit weights keep the strict kernels', () => {
    const model = loadModel(buildExamples(mkdtempSync(join(tmpdir(), 'onnxc-rr-')))[0]!);
    const calib = Array.from({ length: 4 }, (_, i) => [randTensor([1, 3, 32, 32], 20 + i)]);
    const x = randTensor([2, 3, 32, 32], 99);
    for (const reduceRange of [false, true]) {
      const q = importModel(quantizeModel(model, calib, { mode: 'static', reduceRange }).bytes);
      const strict = build(q, 'strict', x), relaxed = build(q, 'relaxed', x);
      expect(strict.dot).toBe(false);
      expect(relaxed.dot).toBe(reduceRange);
      // the integer kernels agree exactly; float kernels after them may fuse multiply-adds in the relaxed build
      const d = Math.max(...Array.from(relaxed.out, (v, i) => Math.abs(v - strict.out[i]!)));
      expect(d).toBeLessThanOrEqual(1e-6);
    }
  });
});

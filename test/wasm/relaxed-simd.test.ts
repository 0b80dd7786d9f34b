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
      expect(hasMadd(relaxed.wasm)).toBe(true);
      const r = relaxed.run(), s = strict.run(), ref = runGraph(c.g, c.inputs) as Tensor[];
      expect(worstRelativeError(r, ref)).toBeLessThanOrEqual(TOL);
      expect(worstRelativeError(r, s)).toBeLessThanOrEqual(TOL);
    });
  }
});

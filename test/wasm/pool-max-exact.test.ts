// Strict builds keep f32x4.max's answers in NHWC max pooling (kernels/pool.ts maxReducer: an ordered-integer max
// plus a NaN mask instead of f32x4.max): a NaN in a window gives NaN, +0 beats -0, an all -0 window gives -0;
// checked with Object.is on every output, border (checked taps) and interior (unrolled taps) pixels alike.

import { describe, expect, it } from 'vitest';
import { compileWasm } from '../../backends/wasm/compile.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

function maxPool(x: Float32Array, H: number, W: number, C: number, k: number, pad: number): Float32Array {
  const y = new Float32Array(H * W * C);
  for (let oh = 0; oh < H; oh++) for (let ow = 0; ow < W; ow++) for (let c = 0; c < C; c++) {
    let r = -Infinity;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const ih = oh + a - pad, iw = ow + b - pad;
      if (ih >= 0 && iw >= 0 && ih < H && iw < W) r = Math.max(r, x[(ih * W + iw) * C + c]!);
    }
    y[(oh * W + ow) * C + c] = r;
  }
  return y;
}

describe('NHWC MaxPool, strict build', () => {
  it('NaN, +0 against -0 and all -0 windows as f32x4.max gives them (Object.is on every output)', () => {
    const H = 7, W = 6, C = 6; // channels 0-3 vectorised, 4-5 the scalar tail
    const x = new Float32Array(H * W * C).map((_, i) => ((i * 7) % 11) - 6);
    for (let p = 0; p < H * W; p++) {
      x[p * C + 1] = p % 2 ? -0 : 0; // zeros of both signs
      x[p * C + 3] = -0; // only -0
      x[p * C + 5] = p % 3 ? -0 : -1;
    }
    x[(3 * W + 2) * C + 2] = NaN; // interior pixel
    x[(0 * W + 5) * C + 4] = NaN; // corner, scalar lane
    const b = new GraphBuilder();
    b.output(b.op('onnxc.NhwcMaxPool', [b.input('x', 'float32', [1, H, W, C])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], rank: 4 }));
    const g = b.build();
    const a = compileWasm(g, { inputShapes: { x: [1, H, W, C] }, embedLimit: 0 });
    const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
    const y = s.runSync({ x: { type: 'float32', dims: [1, H, W, C], data: x } })[g.outputs[0]!]!.data as Float32Array;
    const want = maxPool(x, H, W, C, 3, 1);
    const wrong = [...want.keys()].filter((i) => !Object.is(y[i], want[i]) && !(Number.isNaN(y[i]) && Number.isNaN(want[i])));
    expect(wrong.map((i) => `${i}: ${y[i]} (want ${want[i]})`)).toEqual([]);
    expect(want.filter(Number.isNaN).length).toBeGreaterThan(4);
    expect([...want].some((v) => Object.is(v, -0))).toBe(true);
  });
});

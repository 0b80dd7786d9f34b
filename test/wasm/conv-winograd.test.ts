// NHWC stride-1 convs as Winograd F(4x4, 3x3), F(2x2, 3x3) and the one-axis F(4, 5) of 5x1 / 1x5 kernels
// (backends/wasm/kernels/conv-winograd.ts) against the reference interpreter: odd output sizes (half tiles),
// asymmetric and zero pads, images under 4 pixels high (no interior tile), output channels not a multiple of 4, many
// blocks, batch 2, residual per channel and broadcast, no bias; a 2-thread build gives the 1-thread bits. Also which
// convs take the path.

import { describe, expect, it } from 'vitest';
import { variantOf, winogradFits, winogradTiles } from '../../backends/wasm/kernels/conv-winograd.js';
import type { ConvGeom } from '../../backends/wasm/kernels/conv.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSession } from '../../runtime/wasm/index.js';
import { randTensor, worstError } from './helpers.js';

interface Spec {
  x: [number, number, number, number]; oc: number; /** The Winograd variant expected (output tile side). */ m?: 2 | 4;
  /** Kernel (default 3x3). */ k?: [number, number];
  pads?: [number, number, number, number]; bias?: boolean; residual?: 'full' | 'per-pixel'; act?: string;
}

function convCase(s: Spec): { name: string; g: ReturnType<GraphBuilder['build']>; inputs: Tensor[]; geom: ConvGeom } {
  const b = new GraphBuilder();
  const [N, H, W, C] = s.x, pads = s.pads ?? [1, 1, 1, 1], [KH, KW] = s.k ?? [3, 3];
  const OH = H + pads[0] + pads[2] - KH + 1, OW = W + pads[1] + pads[3] - KW + 1;
  const ins = [b.input('x', 'float32', s.x), b.weight('w', randTensor([s.oc, C, KH, KW], 5))];
  if (s.bias !== false) ins.push(b.weight('b', randTensor([s.oc], 6)));
  const inputs = [randTensor(s.x, 7)];
  if (s.residual) {
    const zd = [N, OH, OW, s.residual === 'full' ? s.oc : 1];
    if (s.bias === false) ins.push('');
    ins.push(b.input('z', 'float32', zd));
    inputs.push(randTensor(zd, 8));
  }
  b.output(b.op('onnxc.FusedConv', ins, { kernel_shape: [KH, KW], channels_last: 1, activation: s.act ?? 'Relu', pads }));
  const geom: ConvGeom = { N, C, H, W, OC: s.oc, OH, OW, G: 1, KH, KW, sh: 1, sw: 1, dh: 1, dw: 1, pt: pads[0], pl: pads[1], direct: false };
  return { name: `x[${s.x}] k ${KH}x${KW} oc ${s.oc} pads ${pads}${s.residual ? ` +Z ${s.residual}` : ''}${s.bias === false ? ' no bias' : ''}`, g: b.build(), inputs, geom };
}

const specs: Spec[] = [
  { x: [1, 17, 23, 16], oc: 8 },                              // odd OH and OW: half tiles on two edges
  { x: [2, 12, 12, 32], oc: 9, residual: 'full' },            // batch 2, 9 channels (a 1-lane tail), residual
  { x: [1, 13, 12, 16], oc: 12, pads: [0, 0, 0, 0], bias: false }, // valid conv, odd height, no bias
  { x: [1, 3, 40, 16], oc: 16, m: 2 },                        // 3 rows: no tile lies inside the image
  { x: [1, 7, 30, 16], oc: 11, m: 2, residual: 'full' },      // under 8 rows: F(2x2), a half tile at the bottom
  { x: [1, 14, 15, 20], oc: 13, pads: [1, 0, 0, 2], residual: 'per-pixel', act: '' }, // asymmetric pads, Z over channels
  { x: [1, 40, 40, 64], oc: 64 },                             // many blocks, the last one padded past the image
  { x: [1, 41, 3, 16], oc: 12, k: [5, 1], pads: [2, 0, 2, 0] }, // 5x1: a 1-row tile at the bottom, padded border tiles
  { x: [1, 4, 37, 20], oc: 9, k: [1, 5], pads: [0, 1, 0, 2], residual: 'full' }, // 1x5: asymmetric pads, 1-lane tail
  { x: [2, 130, 1, 16], oc: 8, k: [5, 1], pads: [0, 0, 0, 0], bias: false, residual: 'per-pixel', act: '' }, // magika's form (W 1)
  // heavy activations (GELU) run as one pass over Y after the transform (one thread): a 1-lane tail, a residual
  { x: [1, 110, 1, 16], oc: 13, k: [5, 1], pads: [0, 0, 0, 0], act: 'GeluTanh' }, // magika's conv + bias + GELU
  { x: [1, 17, 23, 16], oc: 9, residual: 'full', act: 'Gelu' },
  { x: [1, 1044, 1, 16], oc: 240, k: [5, 1], pads: [0, 0, 0, 0] }, // 5x1 in two blocks, the second padded past the image (last: read below)
];

describe('Winograd NHWC convs match the reference interpreter', () => {
  for (const s of specs) {
    const c = convCase(s);
    it(c.name, () => {
      expect(winogradFits(c.geom), 'the case takes the Winograd path').toBe(true);
      const v = variantOf(c.geom);
      expect(Math.max(v.h.m, v.w.m), 'output tile side along the taps').toBe(s.m ?? 4);
      expect(worstError(c.g, c.inputs, true)).toBeLessThanOrEqual(1e-5);
    });
  }
  it('takes F(2x2) past 64x64 channels (the stored transformed weight is 16/9 of the conv\'s, not 36/9)', () => {
    expect(variantOf({ ...convCase(specs[0]!).geom, C: 64, OC: 128 }).h.m).toBe(2);
  });
  it('spans several blocks in the big cases', () => {
    expect(winogradTiles(convCase(specs[6]!).geom)).toBeLessThan(20 * 20);
    // 5x1: 260 tiles of 8 KiB in two even blocks of at most 2 MiB
    expect(winogradTiles(convCase(specs.at(-1)!).geom)).toBe(132);
    // magika's 256 -> 512 channel 5x1 conv over 508 rows: 127 tiles of 24 KiB in two blocks
    expect(winogradTiles({ ...convCase(specs.at(-1)!).geom, H: 512, OH: 508, C: 256, OC: 512 })).toBe(64);
  });
  it('leaves strided, grouped, dilated, 1x1, thin and tiny convs to the other paths', () => {
    const base = convCase(specs[0]!).geom;
    for (const d of [{ sh: 2, sw: 2 }, { G: 2 }, { dh: 2, dw: 2 }, { KH: 1, KW: 1 }, { C: 8 }, { C: 18 }, { OC: 4 }, { OH: 9, OW: 9 }, { C: 512, OC: 256 }]) {
      expect(winogradFits({ ...base, ...d }), JSON.stringify(d)).toBe(false);
    }
  });
  it('takes 5-tap convs along one axis only, with two tiles along it', () => {
    const five = convCase(specs[7]!).geom;
    expect(winogradFits(five)).toBe(true);
    expect(winogradFits({ ...five, C: 256, OC: 512 })).toBe(true);
    for (const d of [{ KW: 5 }, { KH: 3, KW: 1 }, { KH: 7 }, { OH: 7, OW: 20 }, { sh: 2 }, { C: 1024, OC: 512 }]) {
      expect(winogradFits({ ...five, ...d }), JSON.stringify(d)).toBe(false);
    }
  });
});

describe('Winograd convs on threads', () => {
  // 3x3 in many blocks; 5x1 in two blocks (magika's form), also with its GELU (the main thread's pass after the grid)
  it.each<Spec>([{ x: [1, 30, 34, 32], oc: 24, k: [3, 3], residual: 'full' }, { x: [1, 1044, 1, 16], oc: 240, k: [5, 1], pads: [0, 0, 0, 0] },
    { x: [1, 1044, 1, 16], oc: 240, k: [5, 1], pads: [0, 0, 0, 0], act: 'GeluTanh' }])('2 threads give the 1-thread bits: x[$x] k $k', async (spec) => {
    const c = convCase(spec);
    const feeds = Object.fromEntries(c.g.inputs.map((n, i) => [n, toTensorValue(c.inputs[i]!)]));
    const shapes = Object.fromEntries(c.g.inputs.map((n, i) => [n, c.inputs[i]!.dims]));
    const run = async (threads: number): Promise<Float32Array> => {
      const { artifact } = compileWasmGraph(c.g, { inputShapes: shapes, embedLimit: Infinity, ...(threads > 1 ? { threads } : {}) }, { level: 3 });
      const s = await createSession({ wasm: artifact.wasm, manifest: artifact.manifest });
      try {
        expect(s.threads).toBe(threads);
        return (await s.run(feeds))[c.g.outputs[0]!]!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const one = await run(1), two = await run(2);
    expect(two.length).toBe(one.length);
    expect(two.every((v, i) => Object.is(v, one[i]))).toBe(true);
  }, 120_000);
});

// What a WebGPU artifact is on GPUs (the GPU forms: every dispatch's shader, subgroup shader, grids and bindings,
// with the CPU forms left out) as one hash, and a graph with one dispatch of each kernel that has a split or grouped
// form: forms.test.ts pins both to what the start commit of the per-device forms (bfdd6b7) emitted.

import { createHash } from 'node:crypto';
import type { Model } from '../../ir/graph.js';
import { GraphBuilder } from '../../models/builder.js';
import type { WebGpuArtifact } from '../../runtime/webgpu/types.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';

/** sha256 of the manifest as a GPU loads it (the CPU forms and their shaders, stored after every other, removed)
 *  and of the weights. */
export function gpuFormsHash(art: WebGpuArtifact): string {
  const m = art.manifest;
  const used = m.dispatches.flatMap((d) => [d.shader, ...(d.subgroups ? [d.subgroups.shader] : [])]);
  const n = used.length ? Math.max(...used) + 1 : 0;
  const manifest = { ...m, shaders: m.shaders.slice(0, n), dispatches: m.dispatches.map(({ cpu: _cpu, ...d }) => d) };
  return createHash('sha256').update(JSON.stringify(manifest)).update(art.weights).digest('hex');
}

/** One dispatch of each kernel with a split or grouped form, at the shapes that take it: a 1x1 Conv over 576
 *  channels at 7x7 and a 3x3 one over 64 at 14x14 (input channels in slices), Gemm 64 x 256 x 1024 and a batched
 *  MatMul (K in slices), LayerNormalization of 64 rows of 256 (a workgroup per row), Softmax over rows of 64 and
 *  GlobalAveragePool / GlobalMaxPool over 13x13 planes (lane groups per row). */
export function splitKernelsModel(): Model {
  // weights from a fixed LCG (nothing shared that another change could move)
  let state = 12345;
  const randTensor = (dims: number[]): Tensor => {
    const t = makeTensor('float32', dims);
    for (let i = 0; i < t.data.length; i++) { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; (t.data as Float32Array)[i] = state / 2 ** 31 - 1; }
    return t;
  };
  const b = new GraphBuilder('split_kernels');
  const x = b.input('x', 'float32', [1, 576, 7, 7]), x2 = b.input('x2', 'float32', [1, 64, 14, 14]);
  const a = b.input('a', 'float32', [64, 1024]), m = b.input('m', 'float32', [2, 8, 512]);
  const h = b.input('h', 'float32', [1, 64, 256]), s = b.input('s', 'float32', [4, 64, 64]), p = b.input('p', 'float32', [1, 512, 13, 13]);
  b.output(
    b.op('Conv', [x, b.weight('w1', randTensor([96, 576, 1, 1])), b.weight('b1', randTensor([96]))]),
    b.op('Conv', [x2, b.weight('w2', randTensor([64, 64, 3, 3]))], { pads: [1, 1, 1, 1] }),
    b.op('Gemm', [a, b.weight('w3', randTensor([256, 1024])), b.weight('b3', randTensor([256]))], { transB: 1 }),
    b.op('MatMul', [m, b.weight('w4', randTensor([512, 24]))]),
    b.op('LayerNormalization', [h, b.weight('g', randTensor([256])), b.weight('beta', randTensor([256]))], { axis: -1, epsilon: 1e-5 }),
    b.op('Softmax', [s], { axis: -1 }),
    b.op('GlobalAveragePool', [p]),
    b.op('GlobalMaxPool', [p]),
  );
  return b.model({ source: 'split_kernels' });
}

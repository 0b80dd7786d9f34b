// MatMul and Gemm on the register-blocked WebGPU core against the reference interpreter, through Dawn: awkward
// sizes (0, 1, 3, 4, 5 and a 1023 dimension), vec4 and scalar paths, batching with broadcast, 1-D operands,
// Gemm's transposes, alpha/beta and C broadcasting, and the pre-packed constant B; the subgroup form (M >= 8, A in
// vec4 rows) and the portable form of the same artifact, each on a device that takes it; the split form (few tiles
// over a long K).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { randTensor } from '../wasm/helpers.js';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { Tensor } from '../../ir/tensor.js';
import { gemmSlices } from '../../backends/webgpu/kernels/gemm-core.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { compileWebGpu, deviceWithoutSubgroups, gpu, REQUIRE_WEBGPU, runArtifact, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;

describe.skipIf(!run)(`webgpu MatMul/Gemm${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  // (M, K, N) over {0, 1, 3, 4, 5}: each size in each place, vec4 and scalar paths (every shape is its own
  // pipeline, and lavapipe compiles slowly, so not the full cube)
  const MKN = [[0, 3, 4], [3, 0, 4], [4, 4, 0], [1, 1, 1], [3, 5, 4], [4, 3, 5], [5, 4, 3], [1, 4, 4], [5, 5, 5], [4, 1, 3]];
  it('MatMul on awkward M, K, N in {0, 1, 3, 4, 5}', async () => {
    const b = new GraphBuilder();
    const shapes = MKN.flatMap(([M, K, N]) => [[M!, K!], [K!, N!]]);
    b.output(...MKN.map((_, i) => b.op('MatMul', [b.input(`a${i}`, 'float32', shapes[2 * i]!), b.input(`b${i}`, 'float32', shapes[2 * i + 1]!)])));
    expect(await worstError(b.build(), shapes.map((s, i) => randTensor(s, i + 1)))).toBeLessThan(1e-5);
  }, 300_000);

  const CASES: [number[], number[]][] = [
    [[37, 1023], [1023, 20]], [[8, 64], [64, 1023]], [[2, 3, 8, 12], [12, 16]], [[2, 1, 5, 7], [3, 7, 4]], [[7], [7, 5]], [[3, 6], [6]], [[9], [9]],
    [[4, 17, 33], [4, 33, 9]],
  ];
  for (const [sa, sb] of CASES) {
    it(`MatMul [${sa}] x [${sb}]`, async () => {
      const b = new GraphBuilder();
      b.output(b.op('MatMul', [b.input('a', 'float32', sa), b.input('b', 'float32', sb)]));
      expect(await worstError(b.build(), [randTensor(sa, 3), randTensor(sb, 4)])).toBeLessThan(1e-5);
    }, 120_000);
  }

  it('the subgroup and portable GEMM forms both match the reference (batched, bias, N % 4 != 0, M past a block)', async () => {
    const b = new GraphBuilder();
    const rand = (s: number[], k: number) => randTensor(s, 40 + k);
    const shapes: number[][] = [[2, 24, 32], [2, 32, 20], [64, 36], [36, 1023], [9, 8], [8, 12], [12], [40, 16]];
    const ins = shapes.map((s, k) => b.input(`x${k}`, 'float32', s));
    b.output(b.op('MatMul', [ins[0]!, ins[1]!]), b.op('MatMul', [ins[2]!, ins[3]!]),
      b.op('Gemm', [ins[4]!, ins[5]!, ins[6]!], { alpha: 0.5 }), b.op('Gemm', [ins[7]!, b.weight('w', randTensor([12, 16], 9))], { transB: 1 }));
    const g = b.build(), inputs = shapes.map(rand);
    const art = compileWebGpu(g, inputs);
    expect(art.manifest.dispatches.filter((d) => d.subgroups).length, 'dispatches with a subgroup form').toBe(4);
    const ref = runGraph(g, inputs) as Tensor[];
    expect(worstRelativeError(await runArtifact(art, g, inputs), ref), 'this device\'s form (subgroup where it has subgroups)').toBeLessThan(1e-5);
    const plain = await deviceWithoutSubgroups();
    expect(plain?.features.has('subgroups')).toBe(false);
    try {
      expect(worstRelativeError(await runArtifact(art, g, inputs, plain!), ref), 'portable form').toBeLessThan(1e-5);
    } finally {
      plain!.destroy();
    }
  }, 300_000);

  it('Gemm: transposes, alpha/beta, C of every rank, constant B pre-packed', async () => {
    const b = new GraphBuilder();
    const M = 5, K = 9, N = 12;
    const outs: string[] = [];
    const inputs = [];
    const A = b.input('A', 'float32', [M, K]), At = b.input('At', 'float32', [K, M]);
    const B = b.input('B', 'float32', [K, N]), Bt = b.input('Bt', 'float32', [N, K]);
    inputs.push(randTensor([M, K], 1), randTensor([K, M], 2), randTensor([K, N], 3), randTensor([N, K], 4));
    const Wt = b.weight('Wt', randTensor([N, K], 5));
    const cs = [b.weight('c0', randTensor([], 6)), b.weight('c1', randTensor([N], 7)), b.weight('c2', randTensor([M, 1], 8)), b.weight('c3', randTensor([M, N], 9))];
    // each transpose form and C rank at least once
    const forms = [[A, 0, B, 0], [At, 1, B, 0], [A, 0, Bt, 1], [At, 1, Wt, 1], [A, 0, Wt, 1]] as const;
    forms.forEach(([a, ta, w, tb], i) => {
      outs.push(b.op('Gemm', [a, w, cs[i % cs.length]!], { transA: ta, transB: tb, alpha: 0.5, beta: 2 }));
      if (i < 2) outs.push(b.op('Gemm', [a, w], { transA: ta, transB: tb }));
    });
    outs.push(b.op('Gemm', [A, Wt, cs[3]!], { transB: 1 }));
    b.output(...outs);
    expect(await worstError(b.build(), inputs)).toBeLessThan(1e-5);
  }, 300_000);

  it('Gemm with N = 1023 and K = 1023 (vec4 off, many tiles)', async () => {
    const b = new GraphBuilder();
    b.output(b.op('Gemm', [b.input('a', 'float32', [3, 1023]), b.weight('w', randTensor([1023, 1023], 2)), b.weight('c', randTensor([1023], 3))], { transB: 1 }));
    expect(await worstError(b.build(), [randTensor([3, 1023], 1)])).toBeLessThan(1e-5);
  }, 120_000);

  it('the split form (K in slices summed through workgroup memory) and its subgroup shader (on lavapipe\'s 8-lane subgroups: the unsplit forms\' work) match the reference', async () => {
    const b = new GraphBuilder();
    const a = b.input('a', 'float32', [3, 5, 256]), c = b.input('c', 'float32', [256, 12]), x = b.input('x', 'float32', [6, 512]), y = b.input('y', 'float32', [20, 300]);
    b.output(b.op('MatMul', [a, c]), b.op('Gemm', [x, b.weight('w', randTensor([40, 512], 2)), b.weight('bias', randTensor([40], 3))], { transB: 1, alpha: 0.5, beta: 2 }),
      b.op('MatMul', [y, b.weight('v', randTensor([300, 9], 7))]));
    const g = b.build(), inputs = [randTensor([3, 5, 256], 4), randTensor([256, 12], 5), randTensor([6, 512], 6), randTensor([20, 300], 8)];
    const art = compileWebGpu(g, inputs);
    // each split dispatch: the portable split shader and the subgroup one (M >= 8 with vec4 A: the subgroup form's
    // work, [6, 512] and [20, 300]: the plain form's)
    expect(art.manifest.shaders.filter((t) => t.includes('workgroupBarrier')).length, 'shaders in the split form').toBe(6);
    expect(gemmSlices({ M: 5, N: 12, K: 256, batchDims: [3], a: { batch: [1280], outer: 256, inner: 1 }, b: { batch: [0], outer: 12, inner: 1 } })).toBe(8);
    // and for CPU adapters the unsplit forms: the plain shader, and the subgroup form where it applies
    expect(art.manifest.dispatches.map((d) => (d.cpu ? [art.manifest.shaders[d.cpu.shader]!.includes('workgroupBarrier'), d.cpu.subgroups !== undefined] : undefined)), 'CPU forms')
      .toEqual([[false, false], [false, false], [false, true]]);
    const ref = runGraph(g, inputs) as Tensor[];
    const plain = await deviceWithoutSubgroups();
    try {
      for (const forms of ['gpu', 'cpu'] as const) {
        expect(worstRelativeError(await runArtifact(art, g, inputs, undefined, forms), ref), `${forms} forms on this device`).toBeLessThan(1e-5);
        expect(worstRelativeError(await runArtifact(art, g, inputs, plain!, forms), ref), `${forms} forms, portable shaders`).toBeLessThan(1e-5);
      }
    } finally {
      plain!.destroy();
    }
  }, 300_000);

  it('MatMul(x, x) and Gemm(x, x) read one buffer through one binding', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [8, 8]), y = b.input('y', 'float32', [5, 5]);
    b.output(b.op('MatMul', [x, x]), b.op('MatMul', [y, y]), b.op('Gemm', [y, y], { transB: 1 }));
    expect(await worstError(b.build(), [randTensor([8, 8], 1), randTensor([5, 5], 2)])).toBeLessThan(1e-5);
  }, 120_000);
});

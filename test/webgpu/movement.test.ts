// Data movement on WebGPU against the reference interpreter, through Dawn: views (no dispatch) and copies of
// constants, Transpose, Concat on every axis with empty inputs, Gather with negative, constant int64 and
// run-time int32 indices — and an out-of-range index, which must be an OnnxcRuntimeError naming the node.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/builder.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { randTensor } from '../wasm/helpers.js';
import { compileWebGpu, gpu, REQUIRE_WEBGPU, runWebGpu, skipReason, worstError } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const i64 = (dims: number[], xs: number[]) => ({ dtype: 'int64' as const, dims, data: BigInt64Array.from(xs.map(BigInt)) });

describe.skipIf(!run)(`webgpu movement and Gather${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('views emit no dispatch; outputs computed at compile time come from the weights buffer', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 4]);
    const r = b.op('Reshape', [x, b.weight('s', i64([2], [6, 4]))]);
    const f = b.op('Flatten', [b.op('Relu', [r])], { axis: 1 });
    const u = b.op('Unsqueeze', [f, b.weight('ax', i64([1], [0]))]);
    const c = b.op('Reshape', [b.weight('w', randTensor([4, 3], 9)), b.weight('s2', i64([1], [12]))]);
    b.output(b.op('Squeeze', [u, b.weight('ax0', i64([1], [0]))]), b.op('Add', [c, c]));
    const g = b.build(), inputs = [randTensor([2, 3, 4], 1)];
    const m = compileWebGpu(g, inputs).manifest;
    expect(m.dispatches.map((d) => d.op)).toEqual(['Relu']);
    expect(m.outputs.map((o) => o.region)).toEqual(['arena', 'weights']);
    expect(await worstError(g, inputs)).toBe(0);
  }, 300_000);

  it('Transpose: default and given perms, size-1 and size-0 dims', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 1, 5]), z = b.input('z', 'float32', [0, 3]);
    b.output(b.op('Transpose', [x]), b.op('Transpose', [x], { perm: [3, 1, 0, 2] }), b.op('Transpose', [x], { perm: [0, 2, 1, 3] }), b.op('Transpose', [z]));
    expect(await worstError(b.build(), [randTensor([2, 3, 1, 5], 1), randTensor([0, 3], 2)])).toBe(0);
  }, 300_000);

  it('Concat on each axis, with an empty input and 1023-wide rows', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 4]), y = b.input('y', 'float32', [2, 3, 4]), e = b.input('e', 'float32', [2, 0, 4]);
    const w = b.input('w', 'float32', [1, 1023]);
    b.output(b.op('Concat', [x, y], { axis: 0 }), b.op('Concat', [x, e, y], { axis: 1 }), b.op('Concat', [x, y, x], { axis: -1 }), b.op('Concat', [w, w], { axis: 1 }));
    expect(await worstError(b.build(), [randTensor([2, 3, 4], 1), randTensor([2, 3, 4], 2), randTensor([2, 0, 4], 3), randTensor([1, 1023], 4)])).toBe(0);
  }, 300_000);

  it('Gather: constant int64 indices (negative too) on each axis, run-time int32 indices', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 5, 3]), ix = b.input('ix', 'int32', [2, 2]);
    const c = b.weight('c', i64([3], [0, -1, 2]));
    b.output(b.op('Gather', [x, c], { axis: 0 }), b.op('Gather', [x, c], { axis: 1 }), b.op('Gather', [x, c], { axis: -1 }), b.op('Gather', [x, ix], { axis: 1 }));
    const idx = { dtype: 'int32' as const, dims: [2, 2], data: Int32Array.from([4, -5, 0, 1]) };
    expect(await worstError(b.build(), [randTensor([4, 5, 3], 1), idx])).toBe(0);
  }, 300_000);

  it('Gather: an index out of range is an OnnxcRuntimeError naming the node, never a read outside the buffer', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 3]), ix = b.input('ix', 'int32', [2]);
    b.output(b.op('Gather', [x, ix], { axis: 0 }));
    const g = b.build();
    for (const bad of [4, -5, 1 << 30]) {
      const err = await runWebGpu(g, [randTensor([4, 3], 1), { dtype: 'int32', dims: [2], data: Int32Array.from([0, bad]) }]).then(() => undefined, (e: unknown) => e);
      expect(err, `index ${bad}`).toBeInstanceOf(OnnxcRuntimeError);
      expect((err as OnnxcRuntimeError).code).toBe('index-out-of-range');
      expect((err as OnnxcRuntimeError).message).toContain(`index ${bad} is out of range`);
      expect((err as OnnxcRuntimeError).node).toBe(g.nodes[0]!.name);
    }
  }, 300_000);

  it('Cast and CastLike between float32, int32 and uint32 (same type: a copy or a view)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 5]), n = b.input('n', 'int32', [3]);
    b.output(b.op('Cast', [x], { to: 6 }), b.op('Cast', [n], { to: 1 }), b.op('CastLike', [x, x]), b.op('Cast', [b.op('Abs', [x])], { to: 12 }));
    const xs = { dtype: 'float32' as const, dims: [2, 5], data: Float32Array.from([-2.7, -1.5, -0.5, 0, 0.4, 1.5, 2.5, 3.9, 100.2, -100.8]) };
    expect(await worstError(b.build(), [xs, { dtype: 'int32', dims: [3], data: Int32Array.from([-7, 0, 123456789]) }])).toBe(0);
  }, 300_000);
});

describe.skipIf(!run)(`webgpu model backend (the CLI adapter)${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('runs a model by position and maps a bad index onto KernelError naming the node', async () => {
    const { prepareWebGpu } = await import('../../backends/webgpu/model-backend.js');
    const { KernelError } = await import('../../ir/errors.js');
    const b = new GraphBuilder('gather_model');
    b.output(b.node('Gather', [b.input('x', 'float32', [4, 3]), b.input('ix', 'int32', [2])], { axis: 0 }, 1, 'the_gather')[0]!);
    const p = prepareWebGpu(b.model());
    const x = randTensor([4, 3], 1);
    const [y] = await p.run([x, { dtype: 'int32', dims: [2], data: Int32Array.from([3, -4]) }]);
    expect(Array.from((y as { data: Float32Array }).data)).toEqual([...Array.from(x.data).slice(9, 12), ...Array.from(x.data).slice(0, 3)]);
    const err = await p.run([x, { dtype: 'int32', dims: [2], data: Int32Array.from([0, 7]) }]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(String((err as Error).message)).toMatch(/node 'the_gather' \(Gather\): index 7 is out of range/);
  }, 120_000);
});

describe.skipIf(!run)(`webgpu index-map movement (Slice, Pad, Expand, Tile, Split, DepthToSpace)${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('matches the reference on negative steps, clamped ends, every pad mode, broadcasts and empty results', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 5]), n = b.input('n', 'int32', [2, 3]);
    const c = (name: string, xs: number[]) => b.weight(name, i64([xs.length], xs));
    b.output(
      b.op('Slice', [x, c('s0', [0, -1]), c('e0', [99, -99]), c('a0', [0, 2]), c('st0', [2, -2])]),
      b.op('Slice', [x, c('s1', [1]), c('e1', [1]), c('a1', [1])]),
      b.op('Pad', [x, c('p0', [0, 1, 2, 1, 0, 3])]),
      b.op('Pad', [x, c('p1', [1, 0, 1, 1, 2, 1]), b.weight('cv', { dtype: 'float32', dims: [], data: Float32Array.of(-7.5) })]),
      ...['reflect', 'edge', 'wrap'].map((mode) => b.op('Pad', [x, c(`p_${mode}`, [0, 2, 1, 0, 1, 2])], { mode })),
      b.op('Expand', [n, c('sh', [4, 2, 1])]),
      b.op('Tile', [n, c('rep', [2, 3])]),
      ...b.node('Split', [x, c('sp', [1, 3, 1])], { axis: 2 }, 3),
      b.op('DepthToSpace', [b.op('Reshape', [x, c('r4', [1, 12, 1, 5])]), ], { blocksize: 2, mode: 'CRD' }),
      b.op('SpaceToDepth', [b.op('Reshape', [x, c('r5', [1, 3, 2, 10])])], { blocksize: 2 }),
      b.op('Identity', [b.op('Dropout', [x])]),
    );
    const nn = { dtype: 'int32' as const, dims: [2, 3], data: Int32Array.from([1, -2, 3, -4, 5, -6]) };
    expect(await worstError(b.build(), [randTensor([3, 4, 5], 1), nn])).toBe(0);
  }, 300_000);
});

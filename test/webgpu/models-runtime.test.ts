// What a model compiled for WebGPU gets beyond kernels: int64 inputs narrowed to int32 with a range check at the
// feed (token ids), outputs left on the GPU and fed to another session (chaining), and the CLI's webgpu paths
// (`run`/`check`/`conformance --backend webgpu`, `compile --target webgpu` and the folder's loader.js in Node).

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWebGpuModel } from '../../backends/webgpu/compile.js';
import { prepareWebGpu } from '../../backends/webgpu/model-backend.js';
import { main } from '../../compiler/cli.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { encodeTensorProto } from '../../compiler/onnx/tensor-proto.js';
import { KernelError } from '../../ir/errors.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSession } from '../../runtime/webgpu/session.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { randTensor } from '../wasm/helpers.js';
import { gpu, REQUIRE_WEBGPU, runWebGpu, scoped, skipReason } from './helpers.js';

const run = gpu !== undefined || REQUIRE_WEBGPU;
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'onnxc-wg-')); dirs.push(d); return d; };

/** ids int64[1,4] -> Gather(table f32[8,3]) -> Relu: an embedding lookup, the shape of gpt2's and bert's. */
function embedding(): ReturnType<GraphBuilder['model']> {
  const b = new GraphBuilder('embed');
  const ids = b.input('ids', 'int64', [1, 4]);
  const rows = b.node('Gather', [b.weight('table', randTensor([8, 3], 5)), ids], { axis: 0 }, 1, 'lookup')[0]!;
  b.output(b.op('Relu', [rows]));
  return b.model({ source: 'embed.onnx' });
}

describe.skipIf(!run)(`webgpu models: int64 inputs, chaining, CLI${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('an int64 input is stored as int32, fed as int64, range-checked; the lookup matches the reference', async () => {
    const model = embedding();
    const { artifact } = compileWebGpuModel(model.graph, { source: 'embed.onnx', inputShapes: { ids: [1, 4] } });
    expect(artifact.manifest.inputs[0]).toMatchObject({ name: 'ids', dtype: 'int32', feed: 'int64', bytes: 16 });
    const ids = fromValues('int64', [1, 4], [0n, 7n, -1n, 3n]);
    const want = runGraph(model.graph, [ids])[0] as Tensor;
    await scoped(async (device) => {
      const s = await createSession(artifact, { device });
      const out = (await s.run({ ids: { type: 'int64', dims: [1, 4], data: ids.data } }))[s.outputNames[0]!]!;
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
      const far = await s.run({ ids: { type: 'int64', dims: [1, 4], data: BigInt64Array.from([0n, 2n ** 32n + 1n, 0n, 0n]) } }).catch((e: unknown) => e);
      expect(far).toBeInstanceOf(OnnxcRuntimeError);
      expect((far as OnnxcRuntimeError).code).toBe('feed');
      expect((far as OnnxcRuntimeError).message).toMatch(/input 'ids' element 1 is 4294967297: .*int32/);
      const int32 = await s.run({ ids: { type: 'int32', dims: [1, 4], data: new Int32Array(4) } }).catch((e: unknown) => e);
      expect((int32 as OnnxcRuntimeError).message).toContain('must be int64[1,4]');
      s.release();
    });
    // an id in int32 range but past the table is the Gather's bounds error, naming the node
    const e = await prepareWebGpu(model).run([fromValues('int64', [1, 4], [0n, 8n, 0n, 0n])]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).message).toMatch(/node 'lookup'.*index 8 is out of range/);
  }, 120_000);

  it('GatherND with constant indices (as BERT\'s mask gather folds to) matches the reference, float32 and bool', async () => {
    for (const dtype of ['float32', 'bool'] as const) {
      const b = new GraphBuilder('gnd');
      const x = b.input('x', dtype, [3, 4, 2]);
      const idx = fromValues('int64', [2, 2], [2n, 1n, 0n, -1n]);
      b.output(b.node('GatherND', [x, b.weight('idx', idx)], {}, 1, 'gnd')[0]!);
      const g = b.build();
      const xs = dtype === 'float32' ? randTensor([3, 4, 2], 7) : fromValues('bool', [3, 4, 2], Array.from({ length: 24 }, (_, i) => i % 3 === 0));
      const want = runGraph(g, [xs])[0] as Tensor;
      const got = (await runWebGpu(g, [xs]))[0]!;
      expect(Array.from(got.data as ArrayLike<number>)).toEqual(Array.from(want.data as ArrayLike<number>, Number));
    }
  }, 120_000);

  it('outputs left on the GPU feed another session without a readback, and read back the same', async () => {
    const a = new GraphBuilder('first');
    a.output(a.op('Relu', [a.input('x', 'float32', [2, 5])]));
    const ga = a.build();
    const b = new GraphBuilder('second');
    b.output(b.op('Sigmoid', [b.input(ga.outputs[0]!, 'float32', [2, 5])]));
    const gb = b.build();
    const x = randTensor([2, 5], 3);
    const [mid] = runGraph(ga, [x]) as Tensor[];
    const [want] = runGraph(gb, [mid!]) as Tensor[];
    await scoped(async (device) => {
      const sa = await createSession(compileWebGpuModel(ga, { inputShapes: { x: [2, 5] } }).artifact, { device });
      const sb = await createSession(compileWebGpuModel(gb, { inputShapes: { [ga.outputs[0]!]: [2, 5] } }).artifact, { device });
      const onGpu = await sa.runOnGpu({ x: { type: 'float32', dims: [2, 5], data: x.data } });
      const t = onGpu[ga.outputs[0]!]!;
      expect(t.dims).toEqual([2, 5]);
      expect(Array.from((await t.read()).data as Float32Array)).toEqual(Array.from(mid!.data as Float32Array));
      const z = (await sb.run({ [ga.outputs[0]!]: t }))[gb.outputs[0]!]!;
      const zs = z.data as Float32Array;
      (want!.data as Float32Array).forEach((v, i) => expect(Math.abs(zs[i]! - v)).toBeLessThan(1e-6));
      // a GPU tensor of the wrong shape is a feed error
      const bad = await sa.runOnGpu({ x: { type: 'float32', dims: [2, 5], data: x.data } });
      const wrong = { ...bad[ga.outputs[0]!]!, dims: [5, 2] };
      expect(((await sb.run({ [ga.outputs[0]!]: wrong }).catch((e: unknown) => e)) as OnnxcRuntimeError).code).toBe('feed');
      t.destroy(); bad[ga.outputs[0]!]!.destroy();
      sa.release(); sb.release();
    });
  }, 120_000);

  it('onnxc run/check/conformance --backend webgpu and compile --target webgpu (loader.js runs in Node)', async () => {
    const d = tmp();
    const model = embedding();
    const file = join(d, 'embed.onnx');
    writeFileSync(file, exportModel(model));
    const inputs = join(d, 'in');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(inputs);
    writeFileSync(join(inputs, 'input_0.pb'), encodeTensorProto(fromValues('int64', [1, 4], [1n, 2n, 3n, 4n]), 'ids'));
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    expect(await main(['run', file, '--backend', 'webgpu', '--inputs', inputs])).toBe(0);
    expect(out.join('\n')).toMatch(/float32\[1,4,3\]/);
    out.length = 0;
    expect(await main(['check', file, '--backend', 'webgpu', '--inputs', inputs])).toBe(0);
    expect(out.join('\n')).toMatch(/max abs .* ok/);
    // a conformance case folder: the model and its expected output from the reference
    const c = join(d, 'suite', 'test_embed'), ds = join(c, 'test_data_set_0');
    mkdirSync(ds, { recursive: true });
    writeFileSync(join(c, 'model.onnx'), exportModel(model));
    writeFileSync(join(ds, 'input_0.pb'), encodeTensorProto(fromValues('int64', [1, 4], [1n, 2n, 3n, 4n]), 'ids'));
    writeFileSync(join(ds, 'output_0.pb'), encodeTensorProto(runGraph(model.graph, [fromValues('int64', [1, 4], [1n, 2n, 3n, 4n])])[0] as Tensor, model.graph.outputs[0]!));
    out.length = 0;
    expect(await main(['conformance', join(d, 'suite'), '--backend', 'webgpu-O3'])).toBe(0);
    expect(out.join('\n')).toContain('1 passed, 0 failed');
    const art = join(d, 'art');
    expect(await main(['compile', file, '--target', 'webgpu', '-o', art, '--inputs', inputs])).toBe(0);
    expect(readdirSync(art)).toEqual(expect.arrayContaining(['loader.js', 'loader.d.ts', 'manifest.json', 'weights.bin']));
    const loader = await import(/* @vite-ignore */ join(art, 'loader.js')) as typeof import('../../runtime/webgpu/loader-entry.js');
    const s = await loader.createSession(undefined, { device: gpu!.device });
    const y = (await s.run({ ids: { type: 'int64', dims: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, 4n]) } }))[s.outputNames[0]!]!;
    expect(y.dims).toEqual([1, 4, 3]);
    s.release();
  }, 300_000);
});

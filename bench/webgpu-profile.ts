// Where a WebGPU artifact spends its GPU time: each dispatch timed alone (its own command buffer, repeated, median
// of the repeats), summed per op and listed for the slowest dispatches; dispatches with a subgroup form are timed
// in both forms, interleaved. Queue timestamps are not used: lavapipe
// reports them, but one submit per dispatch is what a CPU adapter's time per dispatch looks like anyway.
//   npx tsx bench/webgpu-profile.ts [--reps N] [--top N] MODEL...   (models from ../shared/models)

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dawnDevice } from '../backends/webgpu/dawn.js';
import { compileWebGpuModel } from '../backends/webgpu/compile.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../ir/tensor.js';
import { SHARED } from '../test/helpers/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const reps = opt('--reps', 5), top = opt('--top', 12);
const names = args.filter((a, i) => !a.startsWith('-') && !['--reps', '--top'].includes(args[i - 1] ?? ''));

const gpu = await dawnDevice();
if (typeof gpu === 'string') { console.error(`bench/webgpu-profile: ${gpu}`); process.exit(1); }
const { device } = gpu;

for (const name of names) {
  const dir = join(SHARED, 'models', name);
  const model = loadModel(join(dir, readdirSync(dir).find((f) => f.endsWith('.onnx'))!));
  const ds = join(dir, readdirSync(dir).find((f) => f.startsWith('test_data_set'))!);
  const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
  const { artifact } = compileWebGpuModel(model.graph, { inputShapes: Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims])), source: name });
  const m = artifact.manifest;
  const S = GPUBufferUsage.STORAGE;
  const bufs = {
    arena: device.createBuffer({ size: Math.max(m.arena.bytes, 256), usage: S }),
    weights: device.createBuffer({ size: Math.max(Math.ceil(m.weights.bytes / 4) * 4, 256), usage: S }),
    status: device.createBuffer({ size: Math.max(m.statusSlots, 1) * 256, usage: S }),
  };
  const pipes = new Map<number, GPUComputePipeline>();
  const pipe = async (k: number): Promise<GPUComputePipeline> => {
    if (!pipes.has(k)) pipes.set(k, await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: m.shaders[k]! }), entryPoint: 'main' } }));
    return pipes.get(k)!;
  };
  const time = async (p: GPUComputePipeline, bg: GPUBindGroup, wg: readonly number[]): Promise<number> => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(...(wg as [number, number, number]));
    pass.end();
    const t = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const sgOk = device.features.has('subgroups');
  const rows: { node: string; op: string; ms: number; portableMs?: number; wg: readonly number[]; shader: number }[] = [];
  for (const d of m.dispatches) {
    // the subgroup form where the device takes it, timed interleaved with the portable one
    const forms = sgOk && d.subgroups ? [d.subgroups, d] : [d];
    const runs = await Promise.all(forms.map(async (f) => {
      const p = await pipe(f.shader);
      return { f, p, bg: device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: d.bindings.map((b, i) => ({ binding: i, resource: { buffer: bufs[b.region], offset: b.offset, size: b.bytes } })) }), ts: [] as number[] };
    }));
    for (let r = 0; r < reps + 1; r++) for (const x of runs) { const ms = await time(x.p, x.bg, x.f.workgroups); if (r > 0) x.ts.push(ms); }
    rows.push({ node: d.node, op: d.op, ms: median(runs[0]!.ts), ...(runs[1] ? { portableMs: median(runs[1].ts) } : {}), wg: runs[0]!.f.workgroups, shader: runs[0]!.f.shader });
  }
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const byOp = new Map<string, { ms: number; n: number }>();
  for (const r of rows) { const e = byOp.get(r.op) ?? { ms: 0, n: 0 }; e.ms += r.ms; e.n++; byOp.set(r.op, e); }
  console.log(`${name}: ${rows.length} dispatches, ${total.toFixed(1)} ms summed (each alone, median of ${reps})`);
  const alt = rows.filter((r) => r.portableMs !== undefined);
  if (alt.length) console.log(`  ${alt.length} dispatches in subgroup form: ${alt.reduce((a, r) => a + r.ms, 0).toFixed(1)} ms; the portable form of the same: ${alt.reduce((a, r) => a + r.portableMs!, 0).toFixed(1)} ms`);
  for (const [op, e] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${op.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  ${(100 * e.ms / total).toFixed(0).padStart(3)}%  x${e.n}`);
  console.log('  slowest:');
  for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, top)) console.log(`  ${r.ms.toFixed(2).padStart(8)} ms  ${r.op.padEnd(20)} ${r.node}  wg [${r.wg.join(',')}] shader ${r.shader}`);
  for (const b of Object.values(bufs)) b.destroy();
}
process.exit(0);

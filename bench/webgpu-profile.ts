// Where a WebGPU artifact spends its GPU time, per dispatch, summed per op and listed for the slowest dispatches.
// Two modes:
// - timestamps (the default where the adapter has 'timestamp-query'): the whole run encoded as the runtime does,
//   in one command buffer, each dispatch in its own compute pass with begin/end timestamps; per dispatch the
//   median over the repeats of (end - begin), and the run's span (first begin to last end) beside their sum, so
//   the gaps between passes show. Inputs are the data set's, weights the model's: every dispatch sees real values.
//   Both forms (subgroup where the device takes it, then portable) are profiled when the artifact has any.
// - `--alone`: each dispatch timed by itself (its own submit, host clock), subgroup and portable forms interleaved;
//   on a GPU that adds the submit's round trip (~0.1 ms on an H200 through Dawn) to every dispatch, on a CPU
//   adapter (lavapipe) it is what a dispatch costs anyway.
// The kernel forms (runtime/webgpu/forms.ts) are the adapter's unless `--forms gpu|cpu` says which.
//   npx tsx bench/webgpu-profile.ts [--alone] [--reps N] [--top N] [--forms auto|gpu|cpu] [-O0..-O3] MODEL...   (models from ../shared/models)

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dawnDevice, dawnDeviceWith } from '../backends/webgpu/dawn.js';
import { compileWebGpuModel } from '../backends/webgpu/compile.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../ir/tensor.js';
import { chooseForms, formsFromEnv, type AdapterFacts, type FormsChoice } from '../runtime/webgpu/forms.js';
import type { DispatchSpec, WebGpuManifest } from '../runtime/webgpu/types.js';
import { SHARED } from '../test/helpers/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const reps = opt('--reps', 5), top = opt('--top', 12);
const level = Number(args.find((a) => /^-O[0-3]$/.test(a))?.slice(2) ?? 3) as 0 | 1 | 2 | 3;
const formsArg = args.includes('--forms') ? args[args.indexOf('--forms') + 1] as FormsChoice : undefined;
const names = args.filter((a, i) => !a.startsWith('-') && !['--reps', '--top', '--forms'].includes(args[i - 1] ?? ''));

const gpu = await dawnDevice();
if (typeof gpu === 'string') { console.error(`bench/webgpu-profile: ${gpu}`); process.exit(1); }
const useTimestamps = !args.includes('--alone') && gpu.adapter.features.has('timestamp-query');
// the timestamp mode needs a device with the feature: a second one, otherwise as dawnDevice's
const ts = useTimestamps ? await dawnDeviceWith(['timestamp-query' as GPUFeatureName], ['disable-dawn-features=timestamp_quantization']) : gpu;
if (typeof ts === 'string') { console.error(`bench/webgpu-profile: ${ts}`); process.exit(1); }
const { device } = ts;
const info = (device as { adapterInfo?: AdapterFacts & { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
const sgOk = device.features.has('subgroups') && (info?.subgroupMinSize ?? 0) >= 8;
const forms = chooseForms(info, formsArg ?? formsFromEnv());
console.log(`profile: ${useTimestamps ? 'timestamp queries, one command buffer' : 'each dispatch alone'}, -O${level}, ${reps} reps; ${forms} forms; subgroups ${sgOk ? `${info?.subgroupMinSize}-${info?.subgroupMaxSize} lanes` : 'not used'}`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
interface Row { node: string; op: string; ms: number; portableMs?: number; wg: readonly number[]; shader: number }

for (const name of names) {
  const dir = join(SHARED, 'models', name);
  const model = loadModel(join(dir, readdirSync(dir).find((f) => f.endsWith('.onnx'))!));
  const ds = join(dir, readdirSync(dir).find((f) => f.startsWith('test_data_set'))!);
  const inputs = model.graph.inputs.map((_, k) => readValueFile(join(ds, `input_${k}.pb`)) as Tensor);
  const { artifact } = compileWebGpuModel(model.graph, { inputShapes: Object.fromEntries(model.graph.inputs.map((n, i) => [n, inputs[i]!.dims])), source: name }, { level });
  // each dispatch in the chosen forms (a CPU form in place of the dispatch's own where it has one)
  const m: WebGpuManifest = { ...artifact.manifest, dispatches: artifact.manifest.dispatches.map(({ cpu, subgroups, ...d }) => (forms === 'cpu' && cpu ? { ...d, ...cpu } : { ...d, ...(subgroups ? { subgroups } : {}) })) };
  const S = GPUBufferUsage.STORAGE, CD = GPUBufferUsage.COPY_DST;
  const bufs = {
    arena: device.createBuffer({ size: Math.max(m.arena.bytes, 256), usage: S | CD }),
    weights: device.createBuffer({ size: Math.max(Math.ceil(m.weights.bytes / 4) * 4, 256), usage: S | CD }),
    status: device.createBuffer({ size: Math.max(m.statusSlots, 1) * 256, usage: S }),
  };
  const w = new Uint8Array(Math.ceil(m.weights.bytes / 4) * 4);
  w.set(artifact.weights.subarray(0, m.weights.bytes));
  if (w.byteLength) device.queue.writeBuffer(bufs.weights, 0, w);
  m.inputs.forEach((io, k) => {
    const t = inputs[k]!, src = t.data as ArrayLike<number | bigint> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
    // int64 feeds are stored as int32 (the runtime narrows them the same way)
    const bytes = io.feed === 'int64' ? new Uint8Array(Int32Array.from(src as BigInt64Array, (v) => Number(v)).buffer) : new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    const copy = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    copy.set(bytes);
    if (copy.byteLength) device.queue.writeBuffer(bufs.arena, io.offset, copy);
  });
  const pipes = new Map<number, GPUComputePipeline>();
  const pipe = async (k: number): Promise<GPUComputePipeline> => {
    if (!pipes.has(k)) pipes.set(k, await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: m.shaders[k]! }), entryPoint: 'main' } }));
    return pipes.get(k)!;
  };
  const step = async (d: DispatchSpec, f: { shader: number; workgroups: readonly number[] }): Promise<Step> => {
    const p = await pipe(f.shader);
    return { p, wg: f.workgroups as [number, number, number], bg: device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: d.bindings.map((b, i) => ({ binding: i, resource: { buffer: bufs[b.region], offset: b.offset, size: b.bytes } })) }) };
  };
  const { rows, note } = useTimestamps ? await timestamps(m, step) : { rows: await alone(m, step), note: undefined };
  report(name, rows, note);
  for (const b of Object.values(bufs)) b.destroy();
}
process.exit(0);

/** A dispatch ready to encode: its pipeline, bind group and workgroup counts. */
interface Step { p: GPUComputePipeline; wg: [number, number, number]; bg: GPUBindGroup }

/** Every dispatch in one command buffer, each in a pass with timestamps; per dispatch the median over reps. */
async function timestamps(m: WebGpuManifest, mk: (d: DispatchSpec, f: { shader: number; workgroups: readonly number[] }) => Promise<Step>): Promise<{ rows: Row[]; note: string }> {
  const n = m.dispatches.length;
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolve = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const profileForms = async (forms: { shader: number; workgroups: readonly number[] }[]) => {
    const steps = await Promise.all(m.dispatches.map((d, i) => mk(d, forms[i]!)));
    const per: number[][] = steps.map(() => []), span: number[] = [];
    for (let r = 0; r < reps + 2; r++) {
      const enc = device.createCommandEncoder();
      steps.forEach((s, i) => {
        const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(s.p); pass.setBindGroup(0, s.bg); pass.dispatchWorkgroups(...s.wg);
        pass.end();
      });
      enc.resolveQuerySet(qs, 0, 2 * n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      if (r < 2) continue; // warm-up
      steps.forEach((_, i) => per[i]!.push(Number(t[2 * i + 1]! - t[2 * i]!) / 1e6));
      span.push(Number(t[2 * n - 1]! - t[0]!) / 1e6);
    }
    // the run as runtime/webgpu encodes it (every dispatch in one pass): that pass's begin to end
    const one: number[] = [];
    for (let r = 0; r < reps + 2; r++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
      for (const s of steps) { pass.setPipeline(s.p); pass.setBindGroup(0, s.bg); pass.dispatchWorkgroups(...s.wg); }
      pass.end();
      enc.resolveQuerySet(qs, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ, 0, 16);
      const t = new BigUint64Array(read.getMappedRange(0, 16).slice(0));
      read.unmap();
      if (r >= 2) one.push(Number(t[1]! - t[0]!) / 1e6);
    }
    return { ms: per.map(median), span: median(span), onePass: median(one), forms };
  };
  const chosen = m.dispatches.map((d) => (sgOk && d.subgroups ? d.subgroups : d));
  const a = await profileForms(chosen);
  const b = sgOk && m.dispatches.some((d) => d.subgroups) ? await profileForms([...m.dispatches]) : undefined;
  const note = `GPU time of the run in one pass (as the runtime encodes it): ${a.onePass.toFixed(3)} ms${b ? ` (all portable forms: ${b.onePass.toFixed(3)} ms)` : ''}; `
    + `a pass per dispatch, first begin to last end: ${a.span.toFixed(3)} ms${b ? ` (portable: ${b.span.toFixed(3)} ms)` : ''}`;
  qs.destroy(); resolve.destroy(); read.destroy();
  return { note, rows: m.dispatches.map((d, i) => ({ node: d.node, op: d.op, ms: a.ms[i]!, ...(b && d.subgroups && sgOk ? { portableMs: b.ms[i]! } : {}), wg: chosen[i]!.workgroups, shader: chosen[i]!.shader })) };
}

/** Each dispatch alone (its own submit), subgroup and portable forms interleaved. */
async function alone(m: WebGpuManifest, mk: (d: DispatchSpec, f: { shader: number; workgroups: readonly number[] }) => Promise<Step>): Promise<Row[]> {
  const time = async (s: Step): Promise<number> => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(s.p); pass.setBindGroup(0, s.bg); pass.dispatchWorkgroups(...s.wg);
    pass.end();
    const t = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t;
  };
  const rows: Row[] = [];
  for (const d of m.dispatches) {
    const forms = sgOk && d.subgroups ? [d.subgroups, d] : [d];
    const runs = await Promise.all(forms.map(async (f) => ({ f, s: await mk(d, f), ts: [] as number[] })));
    for (let r = 0; r < reps + 1; r++) for (const x of runs) { const ms = await time(x.s); if (r > 0) x.ts.push(ms); }
    rows.push({ node: d.node, op: d.op, ms: median(runs[0]!.ts), ...(runs[1] ? { portableMs: median(runs[1].ts) } : {}), wg: runs[0]!.f.workgroups, shader: runs[0]!.f.shader });
  }
  return rows;
}

function report(name: string, rows: Row[], note?: string): void {
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const byOp = new Map<string, { ms: number; n: number }>();
  for (const r of rows) { const e = byOp.get(r.op) ?? { ms: 0, n: 0 }; e.ms += r.ms; e.n++; byOp.set(r.op, e); }
  console.log(`${name}: ${rows.length} dispatches, ${total.toFixed(3)} ms summed (median of ${reps} per dispatch)`);
  if (note) console.log(`  ${note}`);
  const alt = rows.filter((r) => r.portableMs !== undefined);
  if (alt.length) console.log(`  ${alt.length} dispatches in subgroup form: ${alt.reduce((a, r) => a + r.ms, 0).toFixed(3)} ms; the portable form of the same: ${alt.reduce((a, r) => a + r.portableMs!, 0).toFixed(3)} ms`);
  for (const [op, e] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${op.padEnd(28)} ${e.ms.toFixed(3).padStart(9)} ms  ${(100 * e.ms / total).toFixed(0).padStart(3)}%  x${e.n}`);
  console.log('  slowest:');
  for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, top)) {
    console.log(`  ${r.ms.toFixed(3).padStart(9)} ms${r.portableMs !== undefined ? ` (portable ${r.portableMs.toFixed(3)})` : ''}  ${r.op.padEnd(20)} ${r.node}  wg [${r.wg.join(',')}] shader ${r.shader}`);
  }
}

/// <reference types="@webgpu/types" />
// The WebGPU runtime: loads an artifact onto a GPUDevice (weights uploaded once, every pipeline and bind group
// created up front), checks each run's feeds, encodes every dispatch into one command buffer, and reads the
// outputs back (run) or leaves them on the GPU for chaining (runOnGpu). Imports nothing of the compiler; works
// wherever WebGPU does (browsers, Node on Dawn).

import { OnnxcRuntimeError } from '../wasm/errors.js';
import { checkFeeds } from '../wasm/feeds.js';
import type { TensorValue, WasmManifest } from '../wasm/types.js';
import { chooseForms, formsFromEnv, type AdapterFacts, type FormsChoice, type KernelForms } from './forms.js';
import { align4, gpuTensor, isGpuTensor, typedOf, type GpuTensor } from './gpu-tensor.js';
import type { WebGpuArtifact, WebGpuIo, WebGpuManifest } from './types.js';

export type { GpuTensor } from './gpu-tensor.js';

export interface WebGpuSessionOptions {
  /** The device to run on; by default one from navigator.gpu (browsers). */
  readonly device?: GPUDevice;
  /** Kernel forms (forms.ts): 'gpu' the split forms, 'cpu' one invocation per tile or row, 'auto' (the default, or
   *  ONNXC_WEBGPU_FORMS where set) 'cpu' on CPU adapters (lavapipe, SwiftShader) and 'gpu' elsewhere. */
  readonly forms?: FormsChoice;
}

/** A feed: a tensor {type, dims, data} as the wasm runtime takes it, or a GpuTensor another session produced. */
export type WebGpuFeed = unknown;

export interface WebGpuSession {
  readonly manifest: WebGpuManifest;
  readonly device: GPUDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The kernel forms this session runs (WebGpuSessionOptions.forms). */
  readonly forms: KernelForms;
  run(feeds: Readonly<Record<string, WebGpuFeed>>): Promise<Record<string, TensorValue>>;
  /** Run, leaving every output on the GPU in its own buffer (the caller destroys them). */
  runOnGpu(feeds: Readonly<Record<string, WebGpuFeed>>): Promise<Record<string, GpuTensor>>;
  /** Free the session's GPU buffers (the device stays the caller's). */
  release(): void;
}

const STATUS_SLOT = 256;

export async function createSession(artifact: WebGpuArtifact, options: WebGpuSessionOptions = {}): Promise<WebGpuSession> {
  const m = artifact.manifest;
  const fail = (msg: string): never => { throw new OnnxcRuntimeError(`onnxc: ${m.model}: ${msg}`, 'artifact'); };
  if (m.format !== 'onnxc-webgpu/1') fail(`not a WebGPU artifact (format ${String(m.format)})`);
  if (artifact.weights.byteLength < m.weights.bytes) fail(`weights have ${artifact.weights.byteLength} bytes, the manifest needs ${m.weights.bytes}`);
  const own = options.device ? undefined : await defaultDevice(fail);
  const device = options.device ?? own!.device;
  const lim = device.limits;
  for (const d of m.dispatches) {
    for (const b of d.bindings) {
      if (b.bytes > lim.maxStorageBufferBindingSize) fail(`node '${d.node}' binds ${b.bytes} bytes, more than the device's maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize})`);
      if (b.offset % lim.minStorageBufferOffsetAlignment) fail(`node '${d.node}' binds at offset ${b.offset}, not a multiple of ${lim.minStorageBufferOffsetAlignment}`);
    }
    if (d.bindings.length > lim.maxStorageBuffersPerShaderStage) fail(`node '${d.node}' needs ${d.bindings.length} storage buffers, the device allows ${lim.maxStorageBuffersPerShaderStage}`);
  }
  const sizes = { arena: Math.max(m.arena.bytes, STATUS_SLOT), weights: Math.max(align4(m.weights.bytes), STATUS_SLOT), status: Math.max(m.statusSlots, 1) * STATUS_SLOT };
  for (const [k, v] of Object.entries(sizes)) if (v > lim.maxBufferSize) fail(`the ${k} buffer needs ${v} bytes, more than the device's maxBufferSize (${lim.maxBufferSize})`);

  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  const S = GPUBufferUsage.STORAGE, CS = GPUBufferUsage.COPY_SRC, CD = GPUBufferUsage.COPY_DST;
  const buffers = {
    arena: device.createBuffer({ label: 'onnxc arena', size: sizes.arena, usage: S | CS | CD }),
    weights: device.createBuffer({ label: 'onnxc weights', size: sizes.weights, usage: S | CS | CD }),
    status: device.createBuffer({ label: 'onnxc status', size: sizes.status, usage: S | CS | CD }),
  };
  // a copy: Dawn crashes on typed arrays over a SharedArrayBuffer, and writeBuffer wants a multiple of 4 bytes
  const w = new Uint8Array(align4(m.weights.bytes));
  w.set(artifact.weights.subarray(0, m.weights.bytes));
  if (w.byteLength) device.queue.writeBuffer(buffers.weights, 0, w);
  // each dispatch in the forms this device runs (CPU forms on CPU adapters, subgroup shaders only where the device
  // has them), and only the shaders those forms use are compiled
  // what the adapter says of itself: device.adapterInfo, else (browsers before it, the default device) the adapter's
  const forms = chooseForms((device as { adapterInfo?: AdapterFacts }).adapterInfo ?? own?.info, options.forms ?? formsFromEnv());
  const sg = subgroupsUsable(device);
  const chosen = m.dispatches.map((d0) => { const d = (forms === 'cpu' && d0.cpu) || d0; return sg && d.subgroups ? d.subgroups : d; });
  const pipelines = new Map<number, Promise<GPUComputePipeline>>();
  for (const c of chosen) {
    if (pipelines.has(c.shader)) continue;
    const module = device.createShaderModule({ label: `onnxc shader ${c.shader}`, code: m.shaders[c.shader]! });
    pipelines.set(c.shader, device.createComputePipelineAsync({ label: `onnxc pipeline ${c.shader}`, layout: 'auto', compute: { module, entryPoint: 'main' } }));
  }
  const ready = new Map(await Promise.all([...pipelines].map(async ([k, p]) => [k, await p] as const)));
  const steps = m.dispatches.map((d, i) => ({
    pipeline: ready.get(chosen[i]!.shader)!, workgroups: chosen[i]!.workgroups,
    bindGroup: device.createBindGroup({
      label: d.node, layout: ready.get(chosen[i]!.shader)!.getBindGroupLayout(0),
      entries: d.bindings.map((b, i) => ({ binding: i, resource: { buffer: buffers[b.region], offset: b.offset, size: b.bytes } })),
    }),
  }));
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (oom || invalid) {
    for (const b of Object.values(buffers)) b.destroy();
    fail(`the device refused the artifact: ${(invalid ?? oom)!.message}`);
  }

  let busy = false, released = false;
  // int64-fed inputs are checked as int64 (8 bytes each), then narrowed to the int32 the arena stores
  const feedSpecs = m.inputs.map((i) => (i.feed === 'int64' ? { ...i, dtype: 'int64', bytes: i.bytes * 2 } : i));
  const feedManifest = { model: m.model, inputs: feedSpecs } as unknown as WasmManifest;
  const failFeed = (msg: string, io: string): never => { throw new OnnxcRuntimeError(`onnxc: ${m.model}: input '${io}' ${msg}`, 'feed', undefined, io); };

  /** Feeds written into the arena (CPU ones) or copied on the GPU (GpuTensors), on `enc`. */
  function writeFeeds(feeds: Readonly<Record<string, WebGpuFeed>>, enc: GPUCommandEncoder): void {
    if (typeof feeds !== 'object' || feeds === null) checkFeeds(feedManifest, feeds);
    const onGpu = Object.entries(feeds).filter(([, f]) => isGpuTensor(f)) as [string, GpuTensor][];
    const cpu = Object.fromEntries(Object.entries(feeds).filter(([, f]) => !isGpuTensor(f)));
    for (const [name, t] of onGpu) {
      const io = m.inputs.find((i) => i.name === name);
      if (!io) checkFeeds(feedManifest, { [name]: t }); // the 'not an input' message
      checkGpuFeed(io!, t, failFeed);
      if (io!.bytes) enc.copyBufferToBuffer(t.buffer, 0, buffers.arena, io!.offset, align4(io!.bytes));
    }
    const given = new Set(onGpu.map(([n]) => n));
    const checked = checkFeeds({ ...feedManifest, inputs: feedSpecs.filter((s) => !given.has(s.name)) } as WasmManifest,
      Object.fromEntries(Object.entries(cpu).filter(([n]) => !given.has(n))));
    for (const c of checked) {
      if (!c.bytes || c.bytes.byteLength === 0) continue;
      const io = m.inputs.find((i) => i.name === c.spec.name)!;
      const data = io.feed === 'int64' ? narrowInt64(c.bytes, (msg) => failFeed(msg, io.name)) : c.bytes;
      const copy = new Uint8Array(align4(data.byteLength));
      copy.set(data);
      device.queue.writeBuffer(buffers.arena, io.offset, copy);
    }
  }

  /** Encode and submit one run; `after` adds the copies out of the arena (and may take the status slots' copy:
   *  then it returns true, and `finish` reads them itself). Returns what `finish` returns. */
  async function execute<T>(feeds: Readonly<Record<string, WebGpuFeed>>, after: (enc: GPUCommandEncoder) => boolean, finish: (statusBytes?: ArrayBuffer) => Promise<T>): Promise<T> {
    if (released) throw new OnnxcRuntimeError(`onnxc: ${m.model}: the session was released`, 'artifact');
    if (busy) throw new OnnxcRuntimeError(`onnxc: ${m.model}: a run is already in progress`, 'busy');
    busy = true;
    try {
      // one error scope per run, popped while the results are read back: awaiting it first would add a wait on
      // Dawn's event loop to every run
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder({ label: 'onnxc run' });
      try {
        writeFeeds(feeds, enc);
      } catch (e) {
        await device.popErrorScope();
        throw e;
      }
      if (m.statusSlots) device.queue.writeBuffer(buffers.status, 0, new Uint8Array(sizes.status));
      const pass = enc.beginComputePass();
      for (const s of steps) {
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
      }
      pass.end();
      const statusTaken = after(enc);
      let status: GPUBuffer | undefined;
      if (m.statusSlots && !statusTaken) {
        status = device.createBuffer({ label: 'onnxc status read', size: sizes.status, usage: GPUBufferUsage.MAP_READ | CD });
        enc.copyBufferToBuffer(buffers.status, 0, status, 0, sizes.status);
      }
      device.queue.submit([enc.finish()]);
      const [err, result] = await Promise.allSettled([device.popErrorScope(), (async () => {
        let statusBytes: ArrayBuffer | undefined;
        if (status) {
          try {
            await status.mapAsync(GPUMapMode.READ);
            statusBytes = status.getMappedRange().slice(0);
          } finally {
            status.destroy();
          }
        }
        return finish(statusBytes);
      })()]);
      const refused = err.status === 'fulfilled' ? err.value : undefined;
      if (refused) throw new OnnxcRuntimeError(`onnxc: ${m.model}: the device refused the run: ${refused.message}`, 'kernel');
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    } finally {
      busy = false;
    }
  }

  // one readback buffer: the outputs, then the status slots (one mapAsync per run: each costs a wait on lavapipe)
  const outBytes = m.outputs.reduce((a, o) => a + align4(o.bytes), 0);
  const readSize = Math.max(outBytes + (m.statusSlots ? sizes.status : 0), 4);

  // (kept for the session's life: runs never overlap)
  const readback = device.createBuffer({ label: 'onnxc readback', size: readSize, usage: GPUBufferUsage.MAP_READ | CD });

  async function run(feeds: Readonly<Record<string, WebGpuFeed>>): Promise<Record<string, TensorValue>> {
    return execute(feeds, (enc) => {
      let at = 0;
      for (const o of m.outputs) {
        if (o.bytes) enc.copyBufferToBuffer(buffers[o.region], o.offset, readback, at, align4(o.bytes));
        at += align4(o.bytes);
      }
      if (m.statusSlots) enc.copyBufferToBuffer(buffers.status, 0, readback, outBytes, sizes.status);
      return true;
    }, async () => {
      await readback.mapAsync(GPUMapMode.READ);
      let bytes: ArrayBuffer;
      try {
        bytes = readback.getMappedRange().slice(0);
      } finally {
        readback.unmap();
      }
      if (m.statusSlots) checkStatus(m, new Uint32Array(bytes, outBytes, sizes.status / 4));
      const out: Record<string, TensorValue> = {};
      let at = 0;
      for (const o of m.outputs) {
        out[o.name] = { type: o.dtype, dims: [...o.dims], data: typedOf(m.model, o.name, o.dtype, bytes.slice(at, at + o.bytes)) };
        at += align4(o.bytes);
      }
      return out;
    });
  }

  async function runOnGpu(feeds: Readonly<Record<string, WebGpuFeed>>): Promise<Record<string, GpuTensor>> {
    const outs: GPUBuffer[] = [];
    return execute(feeds, (enc) => {
      for (const o of m.outputs) {
        const b = device.createBuffer({ label: `onnxc output ${o.name}`, size: Math.max(align4(o.bytes), 4), usage: S | CS | CD });
        if (o.bytes) enc.copyBufferToBuffer(buffers[o.region], o.offset, b, 0, align4(o.bytes));
        outs.push(b);
      }
      return false;
    }, async (statusBytes) => {
      try {
        if (statusBytes) checkStatus(m, new Uint32Array(statusBytes));
      } catch (e) {
        for (const b of outs) b.destroy();
        throw e;
      }
      return Object.fromEntries(m.outputs.map((o, k) => [o.name, gpuTensor(device, m.model, o.name, o.dtype, o.dims, outs[k]!, o.bytes)]));
    });
  }

  return {
    manifest: m, device, forms, inputNames: m.inputs.map((i) => i.name), outputNames: m.outputs.map((o) => o.name), run, runOnGpu,
    release() { released = true; for (const b of Object.values(buffers)) b.destroy(); readback.destroy(); },
  };
}

function checkGpuFeed(io: WebGpuIo, t: GpuTensor, fail: (msg: string, io: string) => never): void {
  const want = `${io.dtype}[${io.dims.join(',')}]`;
  if (t.type !== io.dtype || t.dims.length !== io.dims.length || t.dims.some((d, i) => d !== io.dims[i])) {
    fail(`must be ${want}${io.feed === 'int64' ? ' on the GPU (int64 is fed from the CPU)' : ''}, got a GPU tensor ${t.type}[${t.dims.join(',')}]`, io.name);
  }
  if (t.buffer.size < align4(io.bytes)) fail(`GPU tensor's buffer has ${t.buffer.size} bytes, ${want} needs ${io.bytes}`, io.name);
}

/** int64 feed bytes as int32, every value checked to fit (so the narrowing is exact). */
function narrowInt64(bytes: Uint8Array, fail: (msg: string) => never): Uint8Array {
  const n = bytes.byteLength / 8;
  const wide = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = wide[i]!;
    if (v < -2147483648n || v > 2147483647n) fail(`element ${i} is ${v}: this WebGPU artifact stores the input as int32 (WebGPU has no 64-bit integers), so each value must lie in [-2^31, 2^31)`);
    out[i] = Number(v);
  }
  return new Uint8Array(out.buffer);
}

/** The status slots after a run: the first dispatch (in order) whose slot is set names the error. */
function checkStatus(m: WebGpuManifest, words: Uint32Array): void {
  for (const d of m.dispatches) {
    const s = d.bindings.find((b) => b.region === 'status');
    if (!s) continue;
    const code = words[s.offset / 4]!;
    if (code === 0) continue;
    const value = (words[s.offset / 4 + 1]! | 0);
    throw new OnnxcRuntimeError(`onnxc: ${m.model}: node '${d.node}' (${d.op}): index ${value} is out of range`, 'index-out-of-range', d.node);
  }
}

/** Whether subgroup shaders run here: the feature, and subgroups of 8+ lanes (they broadcast from lanes 0-7). */
function subgroupsUsable(device: GPUDevice): boolean {
  const info = (device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo;
  return device.features.has('subgroups') && (info?.subgroupMinSize ?? 0) >= 8;
}

async function defaultDevice(fail: (msg: string) => never): Promise<{ device: GPUDevice; info?: AdapterFacts }> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return fail('WebGPU is not available here (no navigator.gpu); pass { device }');
  const adapter = await gpu.requestAdapter();
  if (!adapter) return fail('no WebGPU adapter was found');
  // adapter.info's fields are getters (a spread copies none); GPUAdapter.isFallbackAdapter where browsers had it first
  const a = adapter as { info?: AdapterFacts; isFallbackAdapter?: boolean }, i = a.info;
  const info: AdapterFacts = { isFallbackAdapter: i?.isFallbackAdapter ?? a.isFallbackAdapter, vendor: i?.vendor, architecture: i?.architecture, device: i?.device, description: i?.description };
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
  return { device, info };
}

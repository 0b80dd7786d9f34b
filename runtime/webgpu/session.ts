/// <reference types="@webgpu/types" />
// The WebGPU runtime: loads an artifact onto a GPUDevice (weights uploaded once, every pipeline and bind group
// created up front), checks each run's feeds, encodes every dispatch into one command buffer, and reads the
// outputs back. Imports nothing of the compiler; works wherever WebGPU does (browsers, Node on Dawn).

import { OnnxcRuntimeError } from '../wasm/errors.js';
import { checkFeeds } from '../wasm/feeds.js';
import type { TensorValue, TypedArray, WasmManifest } from '../wasm/types.js';
import type { WebGpuArtifact, WebGpuManifest } from './types.js';

export interface WebGpuSessionOptions {
  /** The device to run on; by default one from navigator.gpu (browsers). */
  readonly device?: GPUDevice;
}

export interface WebGpuSession {
  readonly manifest: WebGpuManifest;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Readonly<Record<string, unknown>>): Promise<Record<string, TensorValue>>;
  /** Free the session's GPU buffers (the device stays the caller's). */
  release(): void;
}

const STATUS_SLOT = 256;
const ARRAYS: Readonly<Record<string, new (b: ArrayBuffer) => TypedArray>> = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array };
const align4 = (n: number): number => Math.ceil(n / 4) * 4;

export async function createSession(artifact: WebGpuArtifact, options: WebGpuSessionOptions = {}): Promise<WebGpuSession> {
  const m = artifact.manifest;
  const fail = (msg: string): never => { throw new OnnxcRuntimeError(`onnxc: ${m.model}: ${msg}`, 'artifact'); };
  if (m.format !== 'onnxc-webgpu/1') fail(`not a WebGPU artifact (format ${String(m.format)})`);
  if (artifact.weights.byteLength < m.weights.bytes) fail(`weights have ${artifact.weights.byteLength} bytes, the manifest needs ${m.weights.bytes}`);
  const device = options.device ?? await defaultDevice(fail);
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
  const modules = m.shaders.map((code, i) => device.createShaderModule({ label: `onnxc shader ${i}`, code }));
  const pipelines = await Promise.all(modules.map((module, i) => device.createComputePipelineAsync({ label: `onnxc pipeline ${i}`, layout: 'auto', compute: { module, entryPoint: 'main' } })));
  const steps = m.dispatches.map((d) => ({
    pipeline: pipelines[d.shader]!, workgroups: d.workgroups,
    bindGroup: device.createBindGroup({
      label: d.node, layout: pipelines[d.shader]!.getBindGroupLayout(0),
      entries: d.bindings.map((b, i) => ({ binding: i, resource: { buffer: buffers[b.region], offset: b.offset, size: b.bytes } })),
    }),
  }));
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (oom || invalid) {
    for (const b of Object.values(buffers)) b.destroy();
    fail(`the device refused the artifact: ${(invalid ?? oom)!.message}`);
  }

  const outBytes = m.outputs.reduce((a, o) => a + align4(o.bytes), 0);
  const readSize = Math.max(outBytes + (m.statusSlots ? sizes.status : 0), 4);
  let busy = false, released = false;
  const feedManifest = { model: m.model, inputs: m.inputs } as Pick<WasmManifest, 'model' | 'inputs'>;

  async function run(feeds: Readonly<Record<string, unknown>>): Promise<Record<string, TensorValue>> {
    if (released) throw new OnnxcRuntimeError(`onnxc: ${m.model}: the session was released`, 'artifact');
    if (busy) throw new OnnxcRuntimeError(`onnxc: ${m.model}: a run is already in progress`, 'busy');
    const checked = checkFeeds(feedManifest as WasmManifest, feeds);
    busy = true;
    const readback = device.createBuffer({ label: 'onnxc readback', size: readSize, usage: GPUBufferUsage.MAP_READ | CD });
    try {
      device.pushErrorScope('validation');
      for (const c of checked) {
        if (!c.bytes || c.bytes.byteLength === 0) continue;
        const copy = new Uint8Array(align4(c.bytes.byteLength));
        copy.set(c.bytes);
        device.queue.writeBuffer(buffers.arena, c.spec.offset, copy);
      }
      if (m.statusSlots) device.queue.writeBuffer(buffers.status, 0, new Uint8Array(sizes.status));
      const enc = device.createCommandEncoder({ label: 'onnxc run' });
      const pass = enc.beginComputePass();
      for (const s of steps) {
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
      }
      pass.end();
      let at = 0;
      for (const o of m.outputs) {
        if (o.bytes) enc.copyBufferToBuffer(buffers[o.region], o.offset, readback, at, align4(o.bytes));
        at += align4(o.bytes);
      }
      if (m.statusSlots) enc.copyBufferToBuffer(buffers.status, 0, readback, at, sizes.status);
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      if (err) throw new OnnxcRuntimeError(`onnxc: ${m.model}: the device refused the run: ${err.message}`, 'kernel');
      await readback.mapAsync(GPUMapMode.READ);
      const bytes = readback.getMappedRange().slice(0);
      readback.unmap();
      if (m.statusSlots) checkStatus(m, new Uint32Array(bytes, at, sizes.status / 4));
      const out: Record<string, TensorValue> = {};
      at = 0;
      for (const o of m.outputs) {
        const C = ARRAYS[o.dtype];
        if (!C) throw new OnnxcRuntimeError(`onnxc: ${m.model}: output '${o.name}' has dtype ${o.dtype}, which the runtime cannot read`, 'artifact', undefined, o.name);
        out[o.name] = { type: o.dtype, dims: [...o.dims], data: new C(bytes.slice(at, at + o.bytes)) };
        at += align4(o.bytes);
      }
      return out;
    } finally {
      readback.destroy();
      busy = false;
    }
  }

  return {
    manifest: m, inputNames: m.inputs.map((i) => i.name), outputNames: m.outputs.map((o) => o.name), run,
    release() { released = true; for (const b of Object.values(buffers)) b.destroy(); },
  };
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

async function defaultDevice(fail: (msg: string) => never): Promise<GPUDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return fail('WebGPU is not available here (no navigator.gpu); pass { device }');
  const adapter = await gpu.requestAdapter();
  if (!adapter) return fail('no WebGPU adapter was found');
  return adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } });
}

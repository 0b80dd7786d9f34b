/// <reference types="@webgpu/types" />
// A WebGPU device in Node through Dawn (the npm package `webgpu`, a dev dependency): for tests, the CLI and
// benchmarks, never for the shipped runtime. Without an adapter it says what to install.

export interface DawnDevice {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
}

export const NO_ADAPTER = 'no WebGPU adapter: install Mesa >= 25 lavapipe (scripts/ci-webgpu-setup.sh on Debian 12) or run on a machine with a GPU';

let cached: Promise<DawnDevice | string> | undefined;

/** One device for the process (Dawn's GPU object is pinned on globalThis: if it is collected, Dawn crashes at
 *  random), or the reason there is none. */
export function dawnDevice(): Promise<DawnDevice | string> {
  cached ??= open();
  return cached;
}

/** A second device of its own that has `extra` features besides what dawnDevice asks for, where the adapter offers
 *  them, from a GPU object made with Dawn's command-line `flags` (bench/webgpu-profile.ts: 'timestamp-query' and
 *  'disable-dawn-features=timestamp_quantization', without which Dawn rounds timestamps to 65.5 us). */
export async function dawnDeviceWith(extra: readonly GPUFeatureName[], flags: readonly string[] = []): Promise<DawnDevice | string> {
  const first = await dawnDevice(); // the globals, and the reason where there is no adapter
  if (typeof first === 'string') return first;
  const mod = await import('webgpu') as { create(flags: string[]): GPU };
  const g = globalThis as { __onnxcDawnGpuWith?: GPU[] };
  const gpu = mod.create([...flags]);
  (g.__onnxcDawnGpuWith ??= []).push(gpu); // pinned, as dawnDevice's
  return open(extra, gpu);
}

async function open(extra: readonly GPUFeatureName[] = [], given?: GPU): Promise<DawnDevice | string> {
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    mod = await import('webgpu') as typeof mod;
  } catch (e) {
    return `the npm package 'webgpu' (Dawn's Node binding, a dev dependency: npm install webgpu) is not installed: ${(e as Error).message}`;
  }
  Object.assign(globalThis, mod.globals);
  const g = globalThis as { __onnxcDawnGpu?: GPU };
  g.__onnxcDawnGpu ??= mod.create([]);
  const adapter = await (given ?? g.__onnxcDawnGpu).requestAdapter();
  if (!adapter) return NO_ADAPTER;
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    // subgroups (where the adapter has them) let runtime/webgpu take the faster GEMM form
    requiredFeatures: [...(adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : []), ...extra.filter((f) => adapter.features.has(f))],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  return { device, adapter };
}

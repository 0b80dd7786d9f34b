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

async function open(): Promise<DawnDevice | string> {
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    mod = await import('webgpu') as typeof mod;
  } catch (e) {
    return `the npm package 'webgpu' (Dawn's Node binding, a dev dependency: npm install webgpu) is not installed: ${(e as Error).message}`;
  }
  Object.assign(globalThis, mod.globals);
  const g = globalThis as { __onnxcDawnGpu?: GPU };
  g.__onnxcDawnGpu ??= mod.create([]);
  const adapter = await g.__onnxcDawnGpu.requestAdapter();
  if (!adapter) return NO_ADAPTER;
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    // subgroups (where the adapter has them) let runtime/webgpu take the faster GEMM form
    requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  return { device, adapter };
}

/// <reference types="@webgpu/types" />
// Outputs that stay on the GPU (session.runOnGpu) for chaining: each is its own GPUBuffer (the session's arena is
// reused by the next run), readable later with read(), and may be fed to another session's run as an input (copied
// on the GPU, never through the CPU). Also the readback helper both run forms share.

import { OnnxcRuntimeError } from '../wasm/errors.js';
import type { TensorValue, TypedArray } from '../wasm/types.js';

export interface GpuTensor {
  readonly type: string;
  readonly dims: readonly number[];
  /** Holds the tensor's bytes from offset 0 (the buffer's size is rounded up to a multiple of 4). */
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  /** Copy the values back to the CPU. */
  read(): Promise<TensorValue>;
  /** Free the buffer (reading or feeding it afterwards is an error). */
  destroy(): void;
}

const ARRAYS: Readonly<Record<string, new (b: ArrayBuffer) => TypedArray>> = {
  float32: Float32Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array,
  // int64 outputs are word pairs in the arena (kernels write them sign-extended)
  int64: BigInt64Array,
};
export const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/** A typed array of `dtype` over a copy of `bytes` (which may be longer: readback ranges are padded). */
export function typedOf(model: string, name: string, dtype: string, bytes: ArrayBuffer): TypedArray {
  const C = ARRAYS[dtype];
  if (!C) throw new OnnxcRuntimeError(`onnxc: ${model}: output '${name}' has dtype ${dtype}, which the runtime cannot read`, 'artifact', undefined, name);
  return new C(bytes);
}

export function isGpuTensor(x: unknown): x is GpuTensor {
  return typeof x === 'object' && x !== null && 'buffer' in x && typeof (x as { read?: unknown }).read === 'function';
}

/** A GPU-resident output over `buffer` (which it owns). */
export function gpuTensor(device: GPUDevice, model: string, name: string, type: string, dims: readonly number[], buffer: GPUBuffer, bytes: number): GpuTensor {
  let destroyed = false;
  return {
    type, dims: [...dims], buffer, bytes,
    async read() {
      if (destroyed) throw new OnnxcRuntimeError(`onnxc: ${model}: output '${name}' was destroyed`, 'artifact', undefined, name);
      const rb = device.createBuffer({ label: `onnxc read ${name}`, size: Math.max(align4(bytes), 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      try {
        const enc = device.createCommandEncoder();
        if (bytes) enc.copyBufferToBuffer(buffer, 0, rb, 0, align4(bytes));
        device.queue.submit([enc.finish()]);
        await rb.mapAsync(GPUMapMode.READ);
        const copy = rb.getMappedRange().slice(0, bytes);
        rb.unmap();
        return { type, dims: [...dims], data: typedOf(model, name, type, copy) };
      } finally {
        rb.destroy();
      }
    },
    destroy() { destroyed = true; buffer.destroy(); },
  };
}

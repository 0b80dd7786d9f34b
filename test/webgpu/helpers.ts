// Test helpers for the WebGPU backend: the Dawn device (or why there is none: tests skip with that reason, and
// fail instead under CI or ONNXC_REQUIRE_WEBGPU=1), compiling a graph through the lowering core, running it
// inside validation/out-of-memory error scopes, and comparing with the reference interpreter.

import { runGraph } from '../../backends/reference/interpreter.js';
import { dawnDevice, type DawnDevice } from '../../backends/webgpu/dawn.js';
import { webgpuBackend } from '../../backends/webgpu/backend.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { planLowering } from '../../lowering/plan.js';
import { prepareForLowering } from '../../lowering/prepare.js';
import type { FormsChoice } from '../../runtime/webgpu/forms.js';
import { createSession } from '../../runtime/webgpu/session.js';
import type { WebGpuArtifact } from '../../runtime/webgpu/types.js';

/** Whether a missing adapter must fail the tests (CI installs lavapipe; see scripts/ci-webgpu-setup.sh). */
export const REQUIRE_WEBGPU = process.env.CI === 'true' || process.env.ONNXC_REQUIRE_WEBGPU === '1';

const found = await dawnDevice();
/** The device, or undefined locally when none was found. */
export const gpu: DawnDevice | undefined = typeof found === 'string' ? undefined : found;
/** Why WebGPU tests skip (empty when they run). */
export const skipReason: string = typeof found === 'string' ? found : '';
if (!gpu && !REQUIRE_WEBGPU) console.warn(`WebGPU tests skipped: ${skipReason}`);

/** Run `f` in validation and out-of-memory error scopes; a reported GPU error fails it. */
export async function scoped<T>(f: (d: GPUDevice) => Promise<T>): Promise<T> {
  const d = needDevice();
  d.pushErrorScope('validation');
  d.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = await f(d);
  } finally {
    const oom = await d.popErrorScope();
    const invalid = await d.popErrorScope();
    if (oom || invalid) throw new Error(`WebGPU error: ${(invalid ?? oom)!.message}`);
  }
  return result;
}

export function needDevice(): GPUDevice {
  if (!gpu) throw new Error(`WebGPU is required here (CI): ${skipReason}`);
  return gpu.device;
}

/** `g` lowered as given (no pass pipeline: kernel tests test kernels). */
export function compileWebGpu(g: Graph, inputs: readonly Tensor[]): WebGpuArtifact {
  const inputShapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
  return webgpuBackend.emit(planLowering(webgpuBackend, prepareForLowering(g, { inputShapes, source: g.name })), undefined);
}

/** Run `g` compiled for WebGPU on `inputs` (positional), on the shared device or on `on`, in the kernel forms the
 *  session picks (runtime/webgpu/forms.ts: on lavapipe the CPU forms, or ONNXC_WEBGPU_FORMS's) or `forms`. */
export async function runWebGpu(g: Graph, inputs: readonly Tensor[], on?: GPUDevice, forms?: FormsChoice): Promise<Tensor[]> {
  return runArtifact(compileWebGpu(g, inputs), g, inputs, on, forms);
}

/** Run `art`, compiled from `g`, on `inputs` (positional), on the shared device (in error scopes) or on `on`. */
export async function runArtifact(art: WebGpuArtifact, g: Graph, inputs: readonly Tensor[], on?: GPUDevice, forms?: FormsChoice): Promise<Tensor[]> {
  const run = async (device: GPUDevice): Promise<Tensor[]> => {
    const s = await createSession(art, { device, ...(forms ? { forms } : {}) });
    try {
      const feeds = Object.fromEntries(g.inputs.map((n, i) => [n, { type: inputs[i]!.dtype, dims: inputs[i]!.dims, data: inputs[i]!.data }]));
      const outs = await s.run(feeds);
      return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
    } finally {
      s.release();
    }
  };
  return on ? run(on) : scoped(run);
}

/** worstError of every form: the GPU forms (split, grouped) and the CPU forms (one invocation per tile or row), each
 *  on this device and on one without subgroups (where a kernel's subgroup shader is not its portable one; on
 *  lavapipe's 8-lane subgroups the split forms' subgroup shaders take their CPU path). */
export async function worstErrorAllForms(g: Graph, inputs: readonly Tensor[]): Promise<number> {
  const ref = runGraph(g, inputs) as Tensor[];
  const art = compileWebGpu(g, inputs);
  const plain = await deviceWithoutSubgroups();
  try {
    let worst = 0;
    for (const forms of ['gpu', 'cpu'] as const) {
      for (const on of [undefined, plain!]) worst = Math.max(worst, worstRelativeError(await runArtifact(art, g, inputs, on, forms), ref));
    }
    return worst;
  } finally {
    plain?.destroy();
  }
}

/** Worst error of every output against the reference interpreter, relative to max(1, max |expected|). */
export async function worstError(g: Graph, inputs: readonly Tensor[]): Promise<number> {
  const ours = await runWebGpu(g, inputs);
  const ref = runGraph(g, inputs) as Tensor[];
  return worstRelativeError(ours, ref);
}

/** A second Dawn device without the subgroups feature (its own adapter: an adapter makes one device), so a test
 *  can run the portable form of kernels that also have a subgroup form; undefined without WebGPU. */
export async function deviceWithoutSubgroups(): Promise<GPUDevice | undefined> {
  const g = (globalThis as { __onnxcDawnGpu?: GPU }).__onnxcDawnGpu;
  const adapter = await g?.requestAdapter();
  return adapter ? adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } }) : undefined;
}

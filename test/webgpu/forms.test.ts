// Kernel forms per device (runtime/webgpu/forms.ts): which adapters count as CPU ones, how the option and
// ONNXC_WEBGPU_FORMS override the choice, that the GPU forms are byte for byte what bfdd6b7 emitted (they were
// timed on an H200 and cannot be re-timed without one) and that the CPU forms are the one-invocation forms. That
// both compute the reference's values: the conv, matmul, reduce and pool-softmax tests (worstErrorAllForms).

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileWebGpuModel } from '../../backends/webgpu/compile.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { chooseForms, formsFromEnv, isCpuAdapter, type AdapterFacts, type FormsChoice } from '../../runtime/webgpu/forms.js';
import { createSession } from '../../runtime/webgpu/session.js';
import type { Tensor } from '../../ir/tensor.js';
import { sharedModels } from '../helpers/shared.js';
import { gpuFormsHash, splitKernelsModel } from './gpu-forms.js';
import { gpu, REQUIRE_WEBGPU, scoped, skipReason } from './helpers.js';

// what adapters report (GPUAdapterInfo): lavapipe as Dawn reports it here; the others as their drivers name themselves
const LAVAPIPE: AdapterFacts = { isFallbackAdapter: true, vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1' };
const ADAPTERS: [string, AdapterFacts, boolean][] = [
  ['lavapipe (Dawn, Mesa 25)', LAVAPIPE, true],
  ['lavapipe with no fallback flag', { ...LAVAPIPE, isFallbackAdapter: undefined }, true],
  ['llvmpipe named only in the description', { vendor: 'mesa', description: 'llvmpipe (LLVM 17.0.6, 256 bits)' }, true],
  ['SwiftShader (Chrome)', { vendor: 'google', architecture: '', device: 'swiftshader', description: 'SwiftShader Device (Subzero)' }, true],
  ['WARP (D3D12)', { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }, true],
  ['a fallback adapter of unknown name', { isFallbackAdapter: true, vendor: '', architecture: '', device: '', description: '' }, true],
  ['NVIDIA H200 (Dawn, Vulkan)', { isFallbackAdapter: false, vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' }, false],
  ['Apple M2 (browser)', { vendor: 'apple', architecture: 'metal-3', device: '', description: '' }, false],
  ['Mesa radv on an AMD GPU', { vendor: 'amd', architecture: 'rdna-3', device: '', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' }, false],
  ['no adapter info (older browsers)', undefined as unknown as AdapterFacts, false],
];

describe('kernel forms per adapter (runtime/webgpu/forms.ts)', () => {
  for (const [name, info, cpu] of ADAPTERS) {
    it(`${name}: ${cpu ? 'CPU' : 'GPU'} forms`, () => {
      expect(isCpuAdapter(info)).toBe(cpu);
      expect(chooseForms(info)).toBe(cpu ? 'cpu' : 'gpu');
      expect(chooseForms(info, 'auto')).toBe(cpu ? 'cpu' : 'gpu');
    });
  }

  it('a form asked for is taken whatever the adapter; anything else is refused', () => {
    const h200 = ADAPTERS[6]![1];
    expect(chooseForms(LAVAPIPE, 'gpu')).toBe('gpu');
    expect(chooseForms(h200, 'cpu')).toBe('cpu');
    expect(() => chooseForms(LAVAPIPE, 'fast' as never)).toThrow(/forms option must be one of auto, gpu, cpu, got 'fast'/);
  });

  describe('ONNXC_WEBGPU_FORMS', () => {
    const saved = process.env['ONNXC_WEBGPU_FORMS'];
    afterEach(() => { if (saved === undefined) delete process.env['ONNXC_WEBGPU_FORMS']; else process.env['ONNXC_WEBGPU_FORMS'] = saved; });
    it('is gpu, cpu, auto or unset (empty); anything else is refused', () => {
      for (const v of ['gpu', 'cpu', 'auto'] as const) {
        process.env['ONNXC_WEBGPU_FORMS'] = v;
        expect(formsFromEnv()).toBe(v);
      }
      process.env['ONNXC_WEBGPU_FORMS'] = '';
      expect(formsFromEnv()).toBeUndefined();
      delete process.env['ONNXC_WEBGPU_FORMS'];
      expect(formsFromEnv()).toBeUndefined();
      process.env['ONNXC_WEBGPU_FORMS'] = 'split';
      expect(() => formsFromEnv()).toThrow(/ONNXC_WEBGPU_FORMS must be one of auto, gpu, cpu, got 'split'/);
    });
  });
});

/** GPU-form hashes of the artifacts bfdd6b7 emitted (test/webgpu/gpu-forms.ts; -O0: the pass pipeline, which other
 *  changes move, is left out). A change here must come from a deliberate change of the GPU kernels; split_kernels
 *  depends on nothing else, while the shared models also go through the importer and prepareForLowering: where those
 *  change the graphs, re-pin from a tree whose backends/webgpu matches this one. */
const GPU_FORMS_AT_BFDD6B7: Record<string, string> = {
  split_kernels: 'ad997c8a172958fcda13c2a53f519425d6e6331396f4e6bfe955748c45a1b6fd',
  mnist: 'b458ae063a61eef4d89461f5093bb0800ef673a0a300ebd281b1420e4b1b48a1',
  mobilenet_v2: 'ed239b991fecf187d3979e445307a7996529ba2f520bb4cc95079b1f02447584',
  squeezenet1_1: 'f2d55f80bcbf88397ce6fe2ce13ea0fd83f9a9130d6480df32364e15565585f1',
  gpt2_tiny: '1a6b38221e4f54445c10053fc662cb0bd8825c6aafd409c74a6d3c96227ea32b',
};

describe('the GPU forms are what bfdd6b7 emitted; the CPU forms are the one-invocation forms', () => {
  it('split_kernels (a dispatch of each split or grouped kernel)', () => {
    const art = compileWebGpuModel(splitKernelsModel().graph, { source: 'split_kernels' }, { level: 0 }).artifact;
    expect(gpuFormsHash(art)).toBe(GPU_FORMS_AT_BFDD6B7['split_kernels']);
    const m = art.manifest;
    const split = m.dispatches.filter((d) => /workgroupBarrier/.test(m.shaders[d.shader]!));
    expect(split.map((d) => d.op)).toEqual(['Conv', 'Conv', 'Gemm', 'MatMul', 'LayerNormalization', 'Softmax', 'GlobalAveragePool', 'GlobalMaxPool']);
    // each split dispatch has a CPU form and nothing else has; CPU forms share no workgroup memory and no barrier
    expect(m.dispatches.filter((d) => d.cpu)).toEqual(split);
    for (const d of split) {
      for (const f of [d.cpu!, ...(d.cpu!.subgroups ? [d.cpu!.subgroups] : [])]) expect(m.shaders[f.shader]).not.toMatch(/workgroupBarrier|var<workgroup>/);
      expect(d.cpu!.shader).not.toBe(d.shader);
    }
  });

  const wanted = ['mnist', 'mobilenet_v2', 'squeezenet1_1', 'gpt2_tiny'];
  const models = sharedModels().filter((m) => wanted.includes(m.name));
  it.skipIf(models.length === 0)(`shared models ${wanted.join(', ')}${models.length ? '' : ' (skipped: no shared models; set ONNXC_SHARED)'}`, () => {
    for (const sm of models) {
      const model = loadModel(sm.model);
      const ds = sm.dataSets[0]!;
      const inputShapes = Object.fromEntries(model.graph.inputs.map((n, k) => [n, (readValueFile(join(ds, `input_${k}.pb`)) as Tensor).dims]));
      const art = compileWebGpuModel(model.graph, { source: sm.name, inputShapes }, { level: 0 }).artifact;
      expect(gpuFormsHash(art), sm.name).toBe(GPU_FORMS_AT_BFDD6B7[sm.name]);
      expect(art.manifest.dispatches.some((d) => d.cpu), `${sm.name} has CPU forms`).toBe(true);
    }
  }, 120_000);
});

const run = gpu !== undefined || REQUIRE_WEBGPU;
describe.skipIf(!run)(`kernel forms on this device${run ? '' : ` (skipped: ${skipReason})`}`, () => {
  const saved = process.env['ONNXC_WEBGPU_FORMS'];
  afterEach(() => { if (saved === undefined) delete process.env['ONNXC_WEBGPU_FORMS']; else process.env['ONNXC_WEBGPU_FORMS'] = saved; });

  it('auto takes the CPU forms on a CPU adapter and the GPU forms elsewhere; the option, then ONNXC_WEBGPU_FORMS, override it', async () => {
    const info = (gpu!.device as { adapterInfo?: AdapterFacts }).adapterInfo;
    console.log(`adapter: ${JSON.stringify(info && { isFallbackAdapter: info.isFallbackAdapter, vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description })}`);
    const auto = isCpuAdapter(info) ? 'cpu' : 'gpu', other = auto === 'cpu' ? 'gpu' : 'cpu';
    const art = compileWebGpuModel(splitKernelsModel().graph, { source: 'split_kernels' }, { level: 0 }).artifact;
    const formsOf = async (device: GPUDevice, forms?: FormsChoice): Promise<string> => {
      const s = await createSession(art, { device, ...(forms ? { forms } : {}) });
      s.release();
      return s.forms;
    };
    await scoped(async (device) => {
      delete process.env['ONNXC_WEBGPU_FORMS'];
      expect(await formsOf(device)).toBe(auto);
      expect(await formsOf(device, 'gpu')).toBe('gpu');
      expect(await formsOf(device, 'cpu')).toBe('cpu');
      process.env['ONNXC_WEBGPU_FORMS'] = other;
      expect(await formsOf(device)).toBe(other);
      expect(await formsOf(device, 'auto')).toBe(auto);
      process.env['ONNXC_WEBGPU_FORMS'] = 'both';
      await expect(formsOf(device)).rejects.toThrow(/ONNXC_WEBGPU_FORMS must be one of/);
    });
  }, 120_000);

  it('a session on its own device (navigator.gpu, as in browsers) reads the adapter the same way', async () => {
    delete process.env['ONNXC_WEBGPU_FORMS'];
    const g = globalThis as { navigator?: { gpu?: GPU }; __onnxcDawnGpu?: GPU };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: g.__onnxcDawnGpu }, configurable: true, writable: true });
    try {
      const art = compileWebGpuModel(splitKernelsModel().graph, { source: 'split_kernels' }, { level: 0 }).artifact;
      const s = await createSession(art);
      const info = (s.device as { adapterInfo?: AdapterFacts }).adapterInfo;
      expect(s.forms).toBe(isCpuAdapter(info) ? 'cpu' : 'gpu');
      s.release();
      s.device.destroy();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved); else delete g.navigator;
    }
  }, 120_000);
});

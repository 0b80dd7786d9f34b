// Which kernel forms a session runs: 'gpu' (the split forms: K or input channels in slices, lane groups per row, for
// chips with many cores) or 'cpu' (one invocation per tile or row, for CPU adapters such as lavapipe and SwiftShader,
// where the split forms' extra invocations and barriers ran 1.1-1.45x slower). An artifact carries both where they
// differ (DispatchSpec.cpu). Chosen by the adapter unless overridden by the session option or ONNXC_WEBGPU_FORMS.

import { OnnxcRuntimeError } from '../wasm/errors.js';

export type KernelForms = 'gpu' | 'cpu';
/** What a session is asked for: a form, or 'auto' (by the adapter). */
export type FormsChoice = KernelForms | 'auto';

/** What the adapter says of itself (GPUAdapterInfo; `isFallbackAdapter` where the implementation reports it). */
export interface AdapterFacts {
  readonly isFallbackAdapter?: boolean;
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
}

/** Software rasterisers' names as adapters report them (Dawn on lavapipe: vendor 'mesa', architecture 'software',
 *  device 'llvmpipe-llvm-15-0-6-256-bits-', description 'llvmpipe: Mesa 25.0.7 ...'; Chrome's SwiftShader; WARP). */
const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render/i;

/** Whether the adapter runs shaders on the CPU. */
export function isCpuAdapter(info: AdapterFacts | undefined): boolean {
  if (!info) return false;
  if (info.isFallbackAdapter === true || info.architecture?.toLowerCase() === 'software') return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => s !== undefined && SOFTWARE.test(s));
}

const CHOICES: readonly FormsChoice[] = ['auto', 'gpu', 'cpu'];

/** The override in the environment (ONNXC_WEBGPU_FORMS=gpu|cpu|auto; Node), or undefined. */
export function formsFromEnv(): FormsChoice | undefined {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.['ONNXC_WEBGPU_FORMS'];
  if (v === undefined || v === '') return undefined;
  if (!(CHOICES as readonly string[]).includes(v)) throw new OnnxcRuntimeError(`onnxc: ONNXC_WEBGPU_FORMS must be one of ${CHOICES.join(', ')}, got '${v}'`, 'artifact');
  return v as FormsChoice;
}

/** The forms to run for `asked` (the session option, else formsFromEnv's): a form as asked, or for 'auto' by the
 *  adapter (unknown adapters: 'gpu'). */
export function chooseForms(info: AdapterFacts | undefined, asked: FormsChoice = 'auto'): KernelForms {
  if (!CHOICES.includes(asked)) throw new OnnxcRuntimeError(`onnxc: the forms option must be one of ${CHOICES.join(', ')}, got '${String(asked)}'`, 'artifact');
  if (asked !== 'auto') return asked;
  return isCpuAdapter(info) ? 'cpu' : 'gpu';
}

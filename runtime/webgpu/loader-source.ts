// The loader.js (and loader.d.ts) written beside each WebGPU artifact, built from the runtime's own TypeScript:
// prebuilt into dist/runtime/webgpu/ by `npm run build`; from source (tests, tsx), bundled on first use.
// Compiler-side: the runtime entry does not import it.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWebGpuLoader, type WebGpuLoaderFiles } from './loader-build.js';

let cached: WebGpuLoaderFiles | undefined;

export function webgpuLoaderFiles(): WebGpuLoaderFiles {
  if (cached) return cached;
  const here = fileURLToPath(new URL('.', import.meta.url));
  const js = `${here}loader.bundle.js`, dts = `${here}loader.bundle.d.ts`;
  cached = existsSync(js) && existsSync(dts)
    ? { 'loader.js': readFileSync(js, 'utf8'), 'loader.d.ts': readFileSync(dts, 'utf8') }
    : bundleWebGpuLoader(here);
  return cached;
}

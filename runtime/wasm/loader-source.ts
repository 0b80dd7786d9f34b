// The loader.js (and loader.d.ts) written beside each compiled model, built from the runtime's own TypeScript
// (loader-entry.ts + what it imports) so the two cannot drift: prebuilt into dist/runtime/wasm/ by `npm run
// build`; run from source (tests, tsx), bundled on first use. Compiler-side: the runtime entry does not import it.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleLoader, type LoaderFiles } from './loader-build.js';

export type { LoaderFiles } from './loader-build.js';

let cached: LoaderFiles | undefined;

/** The loader files: prebuilt beside this module when built (dist/), bundled from source otherwise. */
export function loaderFiles(): LoaderFiles {
  if (cached) return cached;
  const here = fileURLToPath(new URL('.', import.meta.url));
  const js = `${here}loader.bundle.js`, dts = `${here}loader.bundle.d.ts`;
  cached = existsSync(js) && existsSync(dts)
    ? { 'loader.js': readFileSync(js, 'utf8'), 'loader.d.ts': readFileSync(dts, 'utf8') }
    : bundleLoader(here);
  return cached;
}

/** The loader's text (kept as a constant for size checks in tests and benchmarks). */
export const LOADER_JS: string = loaderFiles()['loader.js'];

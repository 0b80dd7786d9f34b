// `npm run build`, second step: bundle the artifact loader (runtime/wasm/loader-entry.ts and the runtime it
// imports) into dist/runtime/wasm/loader.bundle.js + .d.ts, which `onnxc compile` copies into every artifact.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleLoader } from '../dist/runtime/wasm/loader-build.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = bundleLoader(`${root}runtime/wasm/`);
writeFileSync(`${root}dist/runtime/wasm/loader.bundle.js`, files['loader.js']);
writeFileSync(`${root}dist/runtime/wasm/loader.bundle.d.ts`, files['loader.d.ts']);
console.log(`loader.js ${(files['loader.js'].length / 1024).toFixed(1)} KiB (dist/runtime/wasm/loader.bundle.js)`);

// `npm run build`, second step: bundle the artifact loaders (runtime/wasm/loader-entry.ts and
// runtime/webgpu/loader-entry.ts, each with the runtime it imports) into dist/runtime/{wasm,webgpu}/loader.bundle.js
// + .d.ts, which `onnxc compile` copies into every artifact of that target.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleLoader } from '../dist/runtime/wasm/loader-build.js';
import { bundleWebGpuLoader } from '../dist/runtime/webgpu/loader-build.js';
import { bundleCli } from './bundle-cli.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = bundleLoader(`${root}runtime/wasm/`);
writeFileSync(`${root}dist/runtime/wasm/loader.bundle.js`, files['loader.js']);
writeFileSync(`${root}dist/runtime/wasm/loader.bundle.d.ts`, files['loader.d.ts']);
console.log(`loader.js ${(files['loader.js'].length / 1024).toFixed(1)} KiB (dist/runtime/wasm/loader.bundle.js)`);
const gpu = bundleWebGpuLoader(`${root}runtime/webgpu/`);
writeFileSync(`${root}dist/runtime/webgpu/loader.bundle.js`, gpu['loader.js']);
writeFileSync(`${root}dist/runtime/webgpu/loader.bundle.d.ts`, gpu['loader.d.ts']);
console.log(`webgpu loader.js ${(gpu['loader.js'].length / 1024).toFixed(1)} KiB (dist/runtime/webgpu/loader.bundle.js)`);
console.log(`cli bundle: ${await bundleCli(root)} modules (dist/cli/)`);

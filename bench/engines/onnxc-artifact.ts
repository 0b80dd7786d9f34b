// Loading a compiled onnxc artifact folder as a benchmark engine, through runtime/wasm as a deployment would.
// Kept apart from the compiler so the memory probe can load an artifact without loading Binaryen.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { createSession, type TensorValue, type WasmManifest } from '../../runtime/wasm/index.js';
import type { PreparedEngine } from './types.js';

const fileBytes = (path: string): number | undefined => (existsSync(path) ? statSync(path).size : undefined);

/** Load a compiled artifact folder through runtime/wasm, as a deployment would. */
export async function loadArtifact(dir: string): Promise<PreparedEngine> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WasmManifest;
  const wasm = readFileSync(join(dir, 'model.wasm'));
  const weights = manifest.weights.file ? readFileSync(join(dir, manifest.weights.file)) : undefined;
  const t0 = performance.now();
  const session = await createSession({ wasm, manifest, ...(weights ? { weights } : {}) });
  const loadMs = performance.now() - t0;
  return {
    info: {
      loadMs, codeBytes: wasm.length, loaderBytes: fileBytes(join(dir, 'loader.js')),
      weightBytes: manifest.weights.bytes, linearMemoryBytes: manifest.pages * 65536,
    },
    async run(feeds) {
      const f: Record<string, TensorValue> = {};
      for (const [n, t] of Object.entries(feeds)) f[n] = { type: t.dtype, dims: t.dims, data: t.data as TensorValue['data'] };
      const out = await session.run(f);
      return session.outputNames.map((n): Tensor => {
        const o = out[n]!;
        return makeTensor(o.type as Tensor['dtype'], o.dims, o.data as never);
      });
    },
    // a threaded artifact's workers end here
    dispose: () => session.release(),
  };
}

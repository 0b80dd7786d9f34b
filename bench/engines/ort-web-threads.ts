// onnxruntime-web's wasm backend with 2 threads (numThreads 2: its own pthread pool of Node worker threads), the
// peer of onnxc-wasm-2t. onnxruntime-web initialises its runtime once per realm, so this engine hosts it in a worker
// thread of its own (ort-web-threads-worker.mjs) beside the 1-thread ort-web-wasm; each run's wall time includes
// one message round trip (inputs copied over, outputs transferred back).

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { numberToF16Bits } from '../../ir/float16.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromOrt } from './ort-tensor.js';
import type { Engine } from './types.js';

type Reply = { ok?: boolean; error?: string; outputNames?: string[]; outputs?: { type: string; dims: number[]; data: unknown }[] };

export const ortWeb2t: Engine = {
  name: 'ort-web-wasm-2t',
  summary: 'onnxruntime-web wasm execution provider, SIMD, numThreads 2 (in its own worker thread), graphOptimizationLevel all',
  async prepare(model) {
    const worker = new Worker(fileURLToPath(new URL('./ort-web-threads-worker.mjs', import.meta.url)));
    let pending: ((r: Reply) => void) | undefined;
    worker.on('message', (r: Reply) => { const p = pending; pending = undefined; p?.(r); });
    worker.on('error', (e: Error) => { const p = pending; pending = undefined; p?.({ error: e.message }); });
    const ask = (msg: unknown): Promise<Reply> => new Promise((resolve, reject) => {
      pending = (r) => (r.error ? reject(new Error(`onnxruntime-web (2 threads): ${r.error}`)) : resolve(r));
      worker.postMessage(msg);
    });
    const t0 = performance.now();
    try {
      await ask({ op: 'load', path: model.path, numThreads: 2 });
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    const loadMs = performance.now() - t0;
    return {
      info: { loadMs },
      async run(feeds): Promise<Tensor[]> {
        // onnxruntime takes float16 as its bits
        const f = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, { type: t.dtype, dims: t.dims, data: t.dtype === 'float16' ? Uint16Array.from(t.data as Float32Array, numberToF16Bits) : t.data }]));
        const r = await ask({ op: 'run', feeds: f });
        return r.outputs!.map((o) => fromOrt(o));
      },
      async dispose() {
        await ask({ op: 'release' }).catch(() => undefined);
        await worker.terminate();
      },
    };
  },
};

// The thread that hosts onnxruntime-web with several threads for bench/engines/ort-web-threads.ts: onnxruntime-web
// initialises its wasm runtime once per JavaScript realm, so a second thread count needs a realm of its own.
// Messages: { op: 'load', path, numThreads } -> { ok, outputNames } | { error }; { op: 'run', feeds } -> { outputs }.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const ort = await import('onnxruntime-web');
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.op === 'load') {
      ort.env.wasm.numThreads = msg.numThreads;
      ort.env.wasm.simd = 'fixed';
      ort.env.wasm.proxy = false;
      session = await ort.InferenceSession.create(readFileSync(msg.path), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      parentPort.postMessage({ ok: true, outputNames: session.outputNames });
    } else if (msg.op === 'run') {
      const feeds = {};
      for (const [n, t] of Object.entries(msg.feeds)) feeds[n] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const outputs = session.outputNames.map((n) => ({ type: out[n].type, dims: out[n].dims, data: out[n].data }));
      parentPort.postMessage({ outputs }, outputs.map((o) => o.data.buffer));
    } else if (msg.op === 'release') {
      await session?.release();
      parentPort.postMessage({ ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e?.message ?? e) });
  }
});

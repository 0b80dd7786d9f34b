// The code each thread-pool worker runs (runtime/wasm/threads.ts), as text, so loader.js needs no second file and
// no path to find one: Node starts it as a data: URL module, a browser as a Blob worker. Plain JavaScript in a
// string (not a function's toString): bundlers and test transforms rewrite function bodies, never string literals.

/** One worker: instantiate the module on the shared memory, say so, then live inside the module's `worker` entry
 *  (backends/wasm/parallel-entries.ts) until the session quits. After a trap in one of its items it sets abort (the
 *  main thread stops the run) and goes back to waiting for work. `port` is Node's
 *  parentPort, or undefined in a browser worker (self). */
const BODY = `(port) => {
  const post = port ? (m) => port.postMessage(m) : (m) => self.postMessage(m);
  const start = (msg) => {
    let entry;
    try {
      entry = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } }).exports.worker;
    } catch (e) {
      post({ type: 'error', message: String(e) });
      return;
    }
    post({ type: 'ready' });
    const i32 = new Int32Array(msg.memory.buffer);
    for (;;) {
      try {
        entry(msg.tid);
        post({ type: 'quit' });
        return;
      } catch (e) {
        // the main thread, waiting for this worker's item, sees abort and traps too
        Atomics.store(i32, msg.ctrl.abort / 4, 1);
        post({ type: 'trap', message: String(e) });
      }
    }
  };
  if (port) port.once('message', start);
  else self.onmessage = (e) => { self.onmessage = null; start(e.data); };
}`;

/** The worker script for Node (an ES module: worker_threads gives the port). */
export const NODE_WORKER_SOURCE = `import { parentPort } from 'node:worker_threads';\n(${BODY})(parentPort);\n`;

/** The worker script for browsers (a classic Web Worker). */
export const WEB_WORKER_SOURCE = `(${BODY})(undefined);\n`;

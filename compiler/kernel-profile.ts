// Per-kernel profile of a wasm artifact built with `exportKernels`: whole runs, then every kernel timed alone in
// graph order inside a full pass (so each sees the memory state run() leaves it), summed by op. `onnxc bench
// --profile` and bench/perf-kernels.ts print it: the next slow kernel is found by a command, not by guessing.

import type { WasmArtifact } from '../backends/wasm/compile.js';
import type { TensorValue } from '../runtime/wasm/types.js';

export interface KernelTime { readonly node: string; readonly op: string; readonly fn: string; readonly medianMs: number; readonly minMs: number }
export interface OpTime { readonly op: string; readonly medianMs: number; readonly minMs: number; readonly count: number }
export interface KernelProfile {
  readonly runMedianMs: number; readonly runMinMs: number; readonly reps: number;
  readonly kernels: readonly KernelTime[];
  /** Ops by summed median time, largest first. */
  readonly byOp: readonly OpTime[];
}

// the WebAssembly JS API is not in the project's lib settings (see runtime/wasm/session.ts)
interface Instance { exports: Record<string, unknown> }
const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: Instance }> } }).WebAssembly;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function profileKernels(artifact: WasmArtifact, feeds: Readonly<Record<string, TensorValue>>, reps = 20, warmup = 5): Promise<KernelProfile> {
  const { manifest } = artifact;
  if ((manifest.threads ?? 1) > 1) throw new Error('profileKernels: a threaded artifact needs its worker pool; profile the 1-thread build');
  const { instance } = await WA.instantiate(artifact.wasm);
  const ex = instance.exports;
  const fns = artifact.kernels.map((k) => {
    const f = ex[k.fn];
    if (typeof f !== 'function') throw new Error(`profileKernels: the module does not export '${k.fn}' (compile with exportKernels)`);
    return f as () => void;
  });
  const mem = (): Uint8Array => new Uint8Array((ex['memory'] as { buffer: ArrayBuffer }).buffer);
  if (manifest.weights.file) mem().set(artifact.weights, manifest.weights.offset);
  // the arena reuses input buffers once they are dead, so the inputs go in again before every pass
  const feed = (): void => {
    for (const io of manifest.inputs) {
      const v = feeds[io.name];
      if (!v || io.bytes === 0) continue;
      const d = v.data as unknown as ArrayBufferView;
      mem().set(new Uint8Array(d.buffer, d.byteOffset, Math.min(d.byteLength, io.bytes)), io.offset);
    }
  };
  const run = ex['run'] as () => void;
  for (let i = 0; i < warmup; i++) { feed(); run(); }
  const whole: number[] = [];
  for (let i = 0; i < reps; i++) { feed(); const s = performance.now(); run(); whole.push(performance.now() - s); }
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    feed();
    fns.forEach((f, j) => { const s = performance.now(); f(); times[j]!.push(performance.now() - s); });
  }
  const kernels = artifact.kernels.map((k, j) => ({ node: k.node, op: k.op, fn: k.fn, medianMs: median(times[j]!), minMs: Math.min(...times[j]!) }));
  const ops = new Map<string, { medianMs: number; minMs: number; count: number }>();
  for (const k of kernels) {
    const e = ops.get(k.op) ?? { medianMs: 0, minMs: 0, count: 0 };
    ops.set(k.op, { medianMs: e.medianMs + k.medianMs, minMs: e.minMs + k.minMs, count: e.count + 1 });
  }
  const byOp = [...ops].map(([op, e]) => ({ op, ...e })).sort((a, b) => b.medianMs - a.medianMs);
  return { runMedianMs: median(whole), runMinMs: Math.min(...whole), reps, kernels, byOp };
}

/** The profile as text: the whole run, time by op, the `top` slowest kernels (median and fastest of the reps; on a
 *  shared machine the fastest is the run least disturbed by other processes). */
export function formatProfile(p: KernelProfile, top = 15): string[] {
  const ms = (v: number, w = 8): string => v.toFixed(3).padStart(w);
  const sum = p.kernels.reduce((s, k) => s + k.medianMs, 0), sumMin = p.kernels.reduce((s, k) => s + k.minMs, 0);
  return [
    `profile    run median ${p.runMedianMs.toFixed(3)} ms (fastest ${p.runMinMs.toFixed(3)}), sum of ${p.kernels.length} kernels ${sum.toFixed(3)} ms (fastest ${sumMin.toFixed(3)}), ${p.reps} reps`,
    'by op      median, fastest (ms)',
    ...p.byOp.map((o) => `  ${o.op.padEnd(28)} ${ms(o.medianMs)} ${ms(o.minMs)}  x${o.count}`),
    `top ${Math.min(top, p.kernels.length)} kernels`,
    ...[...p.kernels].sort((a, b) => b.medianMs - a.medianMs).slice(0, top).map((k) => `  ${k.fn.padEnd(36)} ${ms(k.medianMs)} ${ms(k.minMs)}  ${k.node}`),
  ];
}

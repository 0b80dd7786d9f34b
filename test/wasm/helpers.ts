// Test helpers for the wasm backend: compile a graph (optimised or not), run it through runtime/wasm and
// compare with the reference interpreter.

import { runGraph } from '../../backends/reference/interpreter.js';
import binaryen from '../../backends/wasm/binaryen.js';
import { Fn } from '../../backends/wasm/fn.js';
import { gemm, type GemmSpec } from '../../backends/wasm/kernels/gemm-core.js';
import { gemmItem, splitGemm } from '../../backends/wasm/parallel.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { toTensorValue } from '../../compiler/compile.js';
import { GraphBuilder } from '../../models/builder.js';

/** Run `g` compiled to wasm on `inputs` (positional); outputs as IR tensors. */
export function runWasm(g: Graph, inputs: readonly Tensor[], optimize = true): Tensor[] {
  const shapes = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]!.dims]));
  const a = compileWasm(g, { inputShapes: shapes, optimize, embedLimit: Infinity });
  const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest });
  const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
}

/** Max abs error of every output against the reference interpreter, relative to max |expected| (or absolute when tiny). */
export function worstError(g: Graph, inputs: readonly Tensor[], optimize = true): number {
  const ours = runWasm(g, inputs, optimize);
  const ref = runGraph(g, inputs) as Tensor[];
  return worstRelativeError(ours, ref);
}

/** A deterministic pseudo-random float32 tensor in [-2, 2). */
export function randTensor(dims: readonly number[], seed = 1): Tensor<'float32'> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; data[i] = (s / 2 ** 32) * 4 - 2; }
  return { dtype: 'float32', dims: [...dims], data };
}

/** A kernel test case: a graph and its inputs, compared with the reference within `tol`. */
export interface KernelCase { name: string; build(): { g: Graph; inputs: Tensor[] }; tol?: number }

/** A case of float32 graph inputs of the given shapes, seeded from `seed`, feeding the graph `make` builds. */
export function singleCase(
  name: string, shapes: number[][], make: (b: GraphBuilder, xs: string[]) => string, tol = 1e-5, seed = 11,
): KernelCase {
  return {
    name, tol,
    build() {
      const b = new GraphBuilder();
      const xs = shapes.map((s, i) => b.input(`x${i}`, 'float32', s));
      b.output(make(b, xs));
      return { g: b.build(), inputs: shapes.map((s, i) => randTensor(s, seed + i)) };
    },
  };
}

interface Instance { readonly exports: Readonly<Record<string, unknown>> }
const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => Instance; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** `body` as the exported function 'f' of `m` (its features and memory set by the caller): validated, optimised,
 *  instantiated; the module's memory as floats and f. */
export function instantiate(m: binaryen.Module, fn: Fn, body: binaryen.ExpressionRef): { mem: Float32Array; run: () => void } {
  m.addFunction('f', binaryen.none, binaryen.none, fn.vars, body);
  m.addFunctionExport('f', 'f');
  if (!m.validate()) throw new Error('module failed validation');
  m.optimize();
  const inst = new WA.Instance(new WA.Module(m.emitBinary()), {});
  return { mem: new Float32Array((inst.exports['memory'] as { buffer: ArrayBuffer }).buffer), run: inst.exports['f'] as () => void };
}

/** The GEMM core on `s` as one function's body: serially, or (threads > 0) as the chunks of the threaded build's
 *  split (parallel.ts splitGemm, gemmItem) one after another; undefined where the split declines the shape. */
export function gemmBody(fn: Fn, s: GemmSpec, threads: number): binaryen.ExpressionRef | undefined {
  if (!threads) return gemm(fn, s);
  const split = splitGemm(s.M, s.N, s.K, 2, threads);
  return split ? fn.block(Array.from({ length: split.count }, (_, i) => gemmItem(fn, s, split, () => fn.c32(i)))) : undefined;
}

/** `f` on f32x4 applied lane-wise to `xs` (a multiple of 4 floats, copied in bit for bit) by a module of its own: a
 *  loop of vector loads, f, stores. For sweeping a vector formula (math.ts, rnn-act.ts) without a graph around it. */
export function applyLanewise(f: (fn: Fn, x: binaryen.ExpressionRef) => binaryen.ExpressionRef, xs: Float32Array): Float32Array {
  const n = xs.length, bytes = n * 4, m = new binaryen.Module();
  if (n % 4 !== 0) throw new Error(`applyLanewise: ${n} floats, not a multiple of 4`);
  try {
    m.setFeatures(binaryen.Features.SIMD128);
    const pages = Math.max(1, Math.ceil((2 * bytes) / 65536));
    m.setMemory(pages, pages, 'memory');
    const fn = new Fn(m), i = fn.i32();
    const { mem, run } = instantiate(m, fn, fn.loop(i, 0, bytes, (iv) => [m.v128.store(bytes, 16, iv(), f(fn, m.v128.load(0, 16, iv())))], 16));
    mem.set(xs);
    run();
    return mem.slice(n, 2 * n);
  } finally {
    m.dispose();
  }
}

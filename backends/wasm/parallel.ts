// Threads (`compile --threads N`): one module, one shared memory, N instances running the same kernel sequence
// (SPMD). A kernel that splits its work claims work items (GEMM row/column chunks, conv row blocks) from one shared
// counter until none are left; the others run on thread 0 alone; a barrier (spin, then wait) sits wherever the
// threads that write a tensor differ from those that read it. No JavaScript runs between kernels.

import binaryen from './binaryen.js';
import { THREAD_CTRL as T } from './abi.js';
import { CAN_WAIT_GLOBAL, EPOCH_GLOBAL, TID_GLOBAL } from './parallel-entries.js';
import type { Expr, Fn } from './fn.js';
import type { KernelContext, KernelGen } from './kernels/types.js';
import { gemm, type GemmSpec, type MatOperand } from './kernels/gemm-core.js';

/** What a kernel of a threaded module's top-level graph may use (subgraph kernels run on one thread: none). */
export interface Parallel {
  /** Threads compiled for (the most that take part; per-thread scratch is laid out for this many). */
  readonly threads: number;
  /** Set by the kernel when it split its work: it then runs on every thread. Such a kernel must write memory only
   *  inside claimed items (claimGrid): a worker may enter it after the main thread has moved on to later kernels. */
  used: boolean;
}

const PARALLEL = new WeakMap<Fn, Parallel>();

/** Mark `fn` (one kernel's function) as running on every thread of a `threads`-thread module. */
export function allowParallel(fn: Fn, threads: number): Parallel {
  const p = { threads, used: false };
  PARALLEL.set(fn, p);
  return p;
}

/** The kernel's threading, when its work may be split (a threaded module, top-level graph). */
export const parallelOf = (ctx: Pick<KernelContext, 'fn'>): Parallel | undefined => PARALLEL.get(ctx.fn);

/** This thread's index (0: the main thread). */
export const threadId = (fn: Fn): Expr => fn.m.global.get(TID_GLOBAL, binaryen.i32);

/** Bytes from the base of a per-thread scratch slot of `slotBytes` to this thread's. */
export const threadSlot = (fn: Fn, slotBytes: number): Expr => fn.m.i32.mul(threadId(fn), fn.c32(slotBytes));

/** Spins of the main thread waiting for workers' items before it sleeps (tens of microseconds). */
const MAIN_SPIN = 1 << 13;

/** Work items per thread at most: more than one, so a thread the OS deschedules is covered by the others. */
const ITEMS_PER_THREAD = 4;
/** Multiply-adds one GEMM item is worth at least (~1 us): below that the claim and barrier cost more than it. */
const MIN_ITEM_MACS = 1 << 15;

/** How many items `macs` of work is split into for `threads` threads (1: not split). */
export const itemsFor = (macs: number, threads: number): number => Math.max(1, Math.min(threads * ITEMS_PER_THREAD, Math.floor(macs / MIN_ITEM_MACS)));

/** `for each item of a grid of static dims, claimed by whichever thread comes first`: the flat index is decoded
 *  into one getter per dim (outermost first). A claim is a compare-exchange on the job word that succeeds only
 *  within this kernel's epoch (parallel-entries.ts), so a worker late to an earlier kernel claims nothing here.
 *  The main thread then waits until every item is done; one grid per kernel. */
export function claimGrid(fn: Fn, dims: readonly number[], body: (idx: (() => Expr)[]) => Expr[]): Expr {
  const m = fn.m;
  const total = dims.reduce((a, b) => a * b, 1);
  const c = fn.i32(), w = fn.local(binaryen.i64);
  const i64c = m.i64.const as unknown as (v: bigint) => Expr;
  const idx = dims.map((_, d) => {
    const inner = dims.slice(d + 1).reduce((a, b) => a * b, 1);
    return (): Expr => {
      const q = inner === 1 ? fn.get(c) : m.i32.div_u(fn.get(c), fn.c32(inner));
      return d === 0 ? q : m.i32.rem_u(q, fn.c32(dims[d]!));
    };
  });
  const label = `claim${c.index}`;
  const seen = fn.i32(), spins = fn.i32();
  const done = (): Expr => m.i32.atomic.load(0, fn.c32(T.done));
  return fn.block([
    m.block(`${label}_end`, [m.loop(label, fn.block([
      fn.set(w, m.i64.atomic.load(0, fn.c32(T.job))),
      m.br(`${label}_end`, m.i32.ne(m.i32.wrap(m.i64.shr_u(fn.get(w), i64c(32n))), m.global.get(EPOCH_GLOBAL, binaryen.i32))),
      fn.set(c, m.i32.wrap(fn.get(w))),
      m.br(`${label}_end`, m.i32.ge_u(fn.get(c), fn.c32(total))),
      m.br(label, m.i64.ne(m.i64.atomic.rmw.cmpxchg(0, fn.c32(T.job), fn.get(w), m.i64.add(fn.get(w), i64c(1n))), fn.get(w))),
      ...body(idx),
      // the last item done wakes the main thread if it sleeps
      m.if(m.i32.and(m.i32.eq(m.i32.atomic.rmw.add(0, fn.c32(T.done), fn.c32(1)), fn.c32(total - 1)), m.i32.atomic.load(0, fn.c32(T.waiting))),
        m.drop(m.memory.atomic.notify(fn.c32(T.done), fn.c32(1)))),
      m.br(label),
    ]))]),
    // the main thread returns only when the workers' items are done too (a worker's trap sets abort): it spins a
    // while, then (where it may block) sleeps, so a worker the OS preempted mid-item gets this core
    m.if(m.i32.eqz(threadId(fn)), fn.block([fn.set(spins, fn.c32(0)), m.loop(`${label}_wait`, fn.block([
      fn.set(seen, done()),
      m.if(m.i32.lt_u(fn.get(seen), fn.c32(total)), fn.block([
        m.if(m.i32.atomic.load(0, fn.c32(T.abort)), m.unreachable()),
        fn.set(spins, m.i32.add(fn.get(spins), fn.c32(1))),
        m.if(m.i32.and(m.global.get(CAN_WAIT_GLOBAL, binaryen.i32), m.i32.gt_u(fn.get(spins), fn.c32(MAIN_SPIN))), fn.block([
          m.i32.atomic.store(0, fn.c32(T.waiting), fn.c32(1)),
          m.drop(m.memory.atomic.wait32(fn.c32(T.done), fn.get(seen), i64c(1_000_000n))),
          m.i32.atomic.store(0, fn.c32(T.waiting), fn.c32(0)),
        ])),
        m.br(`${label}_wait`),
      ])),
    ]))])),
  ]);
}

/** How a GEMM is cut into items: `count` chunks of `size` rows or columns (the last one `last`). */
export interface GemmSplit { readonly axis: 'rows' | 'cols'; readonly size: number; readonly count: number; readonly last: number }

/** Rows when there are enough (each item whole 4-row tiles), else columns in whole tiles; undefined when the GEMM
 *  is too small to split. Every output element is computed by the same instructions in the same K order whatever
 *  the cut (the core's per-element sum does not depend on the tile), so N threads give the 1-thread bits. */
export function splitGemm(M: number, N: number, K: number, threads: number, items = itemsFor(M * N * K, threads)): GemmSplit | undefined {
  if (items < 2) return undefined;
  const cut = (n: number, unit: number, axis: GemmSplit['axis']): GemmSplit | undefined => {
    const size = Math.ceil(Math.ceil(n / items) / unit) * unit, count = Math.ceil(n / size);
    return count < 2 ? undefined : { axis, size, count, last: n - (count - 1) * size };
  };
  // column chunks are whole panels (8) and whole 1x24 tiles for a one-row A
  if (M >= 4 * items && (M >= N || N < 8 * items)) return cut(M, 4, 'rows');
  return cut(N, M === 1 ? 24 : 8, 'cols') ?? (M >= 8 ? cut(M, 4, 'rows') : undefined);
}

/** The GEMM item `c` (an i32 getter) of `split`: its operands moved to the chunk, then the core on it. */
export function gemmItem(fn: Fn, s: GemmSpec, split: GemmSplit, c: () => Expr): Expr {
  const m = fn.m;
  const pre: Expr[] = [];
  const move = (op: MatOperand | undefined, elems: number): MatOperand | undefined => {
    if (!op || elems === 0) return op;
    const l = fn.i32();
    const off = m.i32.mul(c(), fn.c32(elems * 4));
    pre.push(fn.set(l, op.dyn ? m.i32.add(fn.get(op.dyn), off) : off));
    return { ...op, dyn: l };
  };
  const z = split.size;
  // a panel-packed B's column n0 (a multiple of 8) starts n0 / 8 panels of K * 8 floats in
  const moved: GemmSpec = split.axis === 'rows'
    ? { ...s, a: move(s.a, z * s.a.rs)!, c: move(s.c, z * s.c.rs)!, bias: move(s.bias, z * (s.bias?.rs ?? 0)), residual: move(s.residual, z * (s.residual?.rs ?? 0)) }
    : { ...s, b: move(s.b, s.b.panels ? z * s.K : z * s.b.cs)!, c: move(s.c, z * s.c.cs)!, bias: move(s.bias, z * (s.bias?.cs ?? 0)), residual: move(s.residual, z * (s.residual?.cs ?? 0)) };
  const sized = (n: number): GemmSpec => (split.axis === 'rows' ? { ...moved, M: n } : { ...moved, N: n });
  const body = split.last === split.size
    ? gemm(fn, sized(split.size))
    : m.if(m.i32.eq(c(), fn.c32(split.count - 1)), gemm(fn, sized(split.last)), gemm(fn, sized(split.size)));
  return fn.block([...pre, body]);
}

/** A whole GEMM as a kernel's only work: split across the threads when worth it, else as it was. */
export function parallelGemm(ctx: Pick<KernelContext, 'fn'>, s: GemmSpec): Expr {
  const par = parallelOf(ctx);
  const split = par && splitGemm(s.M, s.N, s.K, par.threads);
  if (!par || !split) return gemm(ctx.fn, s);
  par.used = true;
  return claimGrid(ctx.fn, [split.count], ([c]) => [gemmItem(ctx.fn, s, split, c!)]);
}

/** Ops whose kernels give each thread its own slot of scratch (fused-conv.ts: im2col blocks). */
const PER_THREAD_SCRATCH = ['onnxc.FusedConv'] as const;

/** The backend for a `threads`-thread module: the same, with per-thread scratch laid out where kernels use it. */
export function withThreadScratch<B extends { readonly kernels: Readonly<Partial<Record<string, KernelGen>>> }>(backend: B, threads: number): B {
  if (threads <= 1) return backend;
  const kernels: Partial<Record<string, KernelGen>> = { ...backend.kernels };
  for (const op of PER_THREAD_SCRATCH) {
    const k = kernels[op];
    if (k?.scratch) kernels[op] = { ...k, scratch: (ctx) => k.scratch!(ctx) * threads };
  }
  return { ...backend, kernels };
}

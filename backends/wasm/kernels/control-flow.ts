// If and Loop: their subgraphs are planned by the lowering core (KernelGen.bodies) and compiled to functions of
// the module; these kernels only choose, repeat and move tensors between the node's buffers and the bodies'.
// If: both branches compiled, the condition read at run time (one branch when it is known at compile time).
// Loop: run-time trip count and/or condition; loop-carried values live in the body's input slots of the arena
// and are rewritten from its outputs after each iteration; scan outputs go straight to row i of the node's output.

import binaryen from '../binaryen.js';
import type { Graph } from '../../../ir/graph.js';
import { limits } from '../../../ir/limits.js';
import { scalar } from '../../../ir/tensor.js';
import { nodeFreeVars } from '../../../lowering/free-vars.js';
import type { BodySpec, StaticType } from '../../../lowering/protocol.js';
import { ERROR_CODE, ERROR_RECORD } from '../abi.js';
import { elemBytes, type Expr, type Fn } from '../fn.js';
import type { BodyRef, KernelContext, KernelGen, PlanContext, TensorRef } from './types.js';

const typeOf = (t: TensorRef | undefined): StaticType | undefined => (t ? { dtype: t.dtype, dims: t.dims } : undefined);
const bytesOf = (t: TensorRef): number => t.size * elemBytes(t.dtype);
const BOOL: StaticType = { dtype: 'bool', dims: [] };
const I64: StaticType = { dtype: 'int64', dims: [] };

/** dst <- src, whole tensor (nothing when they are the same bytes). */
export function copyTensor(fn: Fn, dst: TensorRef, src: TensorRef): Expr {
  if (dst.ptr.base === src.ptr.base || bytesOf(dst) === 0) return fn.m.nop();
  return fn.m.memory.copy(fn.c32(dst.ptr.base), fn.c32(src.ptr.base), fn.c32(bytesOf(dst)));
}

/** dst[i] <- src[i] for every pair, as if at once: when a source is another pair's destination (a body passing
 *  carried values along in another order), every source is first staged in `scratch`. */
export function parallelCopy(fn: Fn, pairs: readonly (readonly [TensorRef, TensorRef])[], scratch: number): Expr {
  const moves = pairs.filter(([d, s]) => d.ptr.base !== s.ptr.base && bytesOf(d) > 0);
  const overlaps = (a: TensorRef, b: TensorRef): boolean => a.ptr.base < b.ptr.base + bytesOf(b) && b.ptr.base < a.ptr.base + bytesOf(a);
  const clash = moves.some(([, s], i) => moves.some(([d], j) => i !== j && overlaps(s, d)));
  if (!clash) return fn.block(moves.map(([d, s]) => copyTensor(fn, d, s)));
  const staged: Expr[] = [], back: Expr[] = [];
  let at = scratch;
  for (const [d, s] of moves) {
    const tmp: TensorRef = { ...s, ptr: { base: at } };
    staged.push(copyTensor(fn, tmp, s));
    back.push(copyTensor(fn, d, tmp));
    at += bytesOf(s);
  }
  return fn.block([...staged, ...back]);
}

/** Write the error record (code, value, size as i64) and trap, naming this kernel (a body may have overwritten
 *  the index). */
export function trapWith(ctx: KernelContext, code: number, value64: Expr, size: number): Expr {
  const { m, fn } = ctx;
  return fn.block([
    m.i32.store(ERROR_RECORD.kernel, 4, fn.c32(0), fn.c32(ctx.kernelIndex)),
    m.i32.store(ERROR_RECORD.code, 4, fn.c32(0), fn.c32(code)),
    m.i64.store(ERROR_RECORD.value, 8, fn.c32(0), value64),
    m.i64.store(ERROR_RECORD.size, 8, fn.c32(0), m.i64.const(BigInt(size))),
    m.unreachable(),
  ]);
}

/** A single-element bool tensor as an i32 truth value. */
const truth = (fn: Fn, t: TensorRef): Expr => fn.m.i32.load8_u(0, 1, fn.c32(t.ptr.base));

const condConst = (t: TensorRef | undefined): boolean | undefined => (t?.constant ? Boolean(t.constant.data[0]) : undefined);

const IF: KernelGen = {
  refuse: (ctx) => (ctx.inputs[0]?.size !== 1 ? { reason: 'form', detail: `cond has ${ctx.inputs[0]?.size ?? 0} elements; If needs exactly one` } : undefined),
  bodies(ctx) {
    const a = ctx.attrs as { then_branch: Graph; else_branch: Graph };
    const outputs = ctx.outputs.map(typeOf);
    const known = condConst(ctx.inputs[0]);
    const branches = known === undefined ? [a.then_branch, a.else_branch] : [known ? a.then_branch : a.else_branch];
    return branches.map((graph): BodySpec => ({ graph, inputs: [], outputs }));
  },
  emit(ctx) {
    const { fn, m } = ctx;
    const run = (b: BodyRef): Expr => fn.block([b.call(), ...ctx.outputs.flatMap((o, i) => (o ? [copyTensor(fn, o, b.outputs[i]!)] : []))]);
    if (ctx.bodies.length === 1) return run(ctx.bodies[0]!);
    return m.if(truth(fn, ctx.inputs[0]!), run(ctx.bodies[0]!), run(ctx.bodies[1]!));
  },
};

/** Loop's operands: M, cond, n carried values in; n carried values and k scan outputs out. */
function loopShape(ctx: PlanContext): { n: number; k: number; body: Graph } {
  const body = (ctx.attrs as { body: Graph }).body;
  const n = Math.max(0, ctx.inputs.length - 2);
  return { n, k: body.outputs.length - 1 - n, body };
}

/** Bytes to stage carried values through when the body passes them along in another order. */
const carriedBytes = (ctx: PlanContext): number => ctx.inputs.slice(2).reduce((a, t) => a + (t ? bytesOf(t) : 0), 0);

/** A Loop with a small constant trip count whose body reads the iteration number is unrolled: each copy of the
 *  body is prepared with its own iteration number as a constant, so what depends on it (Slice starts, Gather
 *  positions) folds to static shapes (the node suite's test_loop11). Small bodies only: code grows with M. */
const UNROLL_MAX_TRIPS = 16, UNROLL_MAX_NODES = 32;

function unrollTrips(ctx: PlanContext): number | undefined {
  const M = ctx.inputs[0]?.constant;
  const { body } = loopShape(ctx);
  if (!M || M.data.length !== 1 || body.nodes.length > UNROLL_MAX_NODES) return undefined;
  const trips = Number(M.data[0]);
  const iter = body.inputs[0];
  const reads = iter !== undefined && body.nodes.some((n) => n.inputs.includes(iter) || nodeFreeVars(n).has(iter));
  return reads && trips >= 1 && trips <= UNROLL_MAX_TRIPS ? trips : undefined;
}

const LOOP: KernelGen = {
  scratch: carriedBytes,
  refuse(ctx) {
    const { n } = loopShape(ctx);
    for (const [i, t] of [ctx.inputs[0], ctx.inputs[1]].entries()) {
      if (t && t.size !== 1) return { reason: 'form', detail: `${i === 0 ? 'M' : 'cond'} has ${t.size} elements; Loop needs exactly one` };
    }
    if (ctx.inputs.slice(2).some((t) => !t)) return { reason: 'form', detail: `a loop-carried input is omitted (${n} expected)` };
    return undefined;
  },
  bodies(ctx) {
    const { n, k, body } = loopShape(ctx);
    const carried = ctx.inputs.slice(2).map((t) => typeOf(t)!);
    const scans = Array.from({ length: k }, (_, j) => { const o = ctx.outputs[n + j]; return o ? { dtype: o.dtype, dims: o.dims.slice(1) } : undefined; });
    const spec = { graph: body, inputs: [I64, BOOL, ...carried], outputs: [BOOL, ...carried, ...scans] };
    const unroll = unrollTrips(ctx);
    if (unroll === undefined) return [spec];
    return Array.from({ length: unroll }, (_, j) => ({ ...spec, values: [scalar('int64', BigInt(j))] }));
  },
  emit(ctx) {
    if (ctx.bodies.length > 1) return emitUnrolled(ctx);
    const { fn, m } = ctx;
    const { n, k } = loopShape(ctx);
    const b = ctx.bodies[0]!;
    const [M, cond] = [ctx.inputs[0], ctx.inputs[1]];
    const i = fn.local(binaryen.i64), go = fn.i32(), trips = fn.local(binaryen.i64);
    // scan outputs were planned for a number of iterations (lowering/prepare.ts pins it to a constant M)
    const scans = Array.from({ length: k }, (_, j) => ctx.outputs[n + j]).map((o, j) => (o ? { o, src: b.outputs[1 + n + j]! } : undefined)).filter((x) => x !== undefined);
    const planned = scans.length ? scans[0]!.o.dims[0]! : undefined;
    const limit = limits.maxLoopIterations;
    const brk = 'loop_done', top = 'loop_next';
    const iter: Expr[] = [
      m.br(brk, m.i32.eqz(fn.get(go))),
      ...(M ? [m.br(brk, m.i64.ge_s(fn.get(i), fn.get(trips)))] : []),
      m.if(m.i64.ge_s(fn.get(i), m.i64.const(BigInt(limit))), trapWith(ctx, ERROR_CODE.loop, fn.get(i), limit)),
      ...(planned !== undefined ? [m.if(m.i64.ge_s(fn.get(i), m.i64.const(BigInt(planned))), trapWith(ctx, ERROR_CODE.trips, m.i64.add(fn.get(i), m.i64.const(1n)), planned))] : []),
      m.i64.store(0, 8, fn.c32(b.inputs[0]!.ptr.base), fn.get(i)),
      m.i32.store8(0, 1, fn.c32(b.inputs[1]!.ptr.base), fn.get(go)),
      b.call(),
      fn.set(go, truth(fn, b.outputs[0]!)),
      // scan outputs first: a body may scan a carried input that the copies below overwrite
      ...scans.map(({ o, src }) => {
        const row = bytesOf(src);
        return row === 0 ? m.nop() : m.memory.copy(m.i32.add(fn.c32(o.ptr.base), m.i32.mul(m.i32.wrap(fn.get(i)), fn.c32(row))), fn.c32(src.ptr.base), fn.c32(row));
      }),
      parallelCopy(fn, Array.from({ length: n }, (_, c) => [b.inputs[2 + c]!, b.outputs[1 + c]!] as const), ctx.scratch.base),
      fn.set(i, m.i64.add(fn.get(i), m.i64.const(1n))),
      m.br(top),
    ];
    return fn.block([
      ...Array.from({ length: n }, (_, c) => copyTensor(fn, b.inputs[2 + c]!, ctx.inputs[2 + c]!)),
      fn.set(go, cond ? truth(fn, cond) : fn.c32(1)),
      ...(M ? [fn.set(trips, m.i64.load(0, 8, fn.c32(M.ptr.base)))] : []),
      fn.set(i, m.i64.const(0n)),
      m.block(brk, [m.loop(top, m.block(null, iter))]),
      ...(planned !== undefined ? [m.if(m.i64.ne(fn.get(i), m.i64.const(BigInt(planned))), trapWith(ctx, ERROR_CODE.trips, fn.get(i), planned))] : []),
      ...Array.from({ length: n }, (_, c) => (ctx.outputs[c] ? copyTensor(fn, ctx.outputs[c]!, b.inputs[2 + c]!) : m.nop())),
    ]);
  },
};

/** One body per iteration. The bodies share one arena region (only one runs at a time), so carried values move
 *  from one body's outputs to the next body's inputs through the kernel's scratch. */
function emitUnrolled(ctx: KernelContext): Expr {
  const { fn, m } = ctx;
  const { n, k } = loopShape(ctx);
  const bodies = ctx.bodies, trips = bodies.length;
  const cond = ctx.inputs[1];
  const go = fn.i32();
  const scans = Array.from({ length: k }, (_, j) => ctx.outputs[n + j]);
  const planned = scans.some((o) => o) ? trips : undefined;
  const staged = (c: number): TensorRef => {
    const at = ctx.inputs.slice(2, 2 + c).reduce((a, t) => a + bytesOf(t!), ctx.scratch.base);
    return { ...ctx.inputs[2 + c]!, ptr: { base: at } };
  };
  const carriedOut = (from: (c: number) => TensorRef): Expr[] => Array.from({ length: n }, (_, c) => (ctx.outputs[c] ? copyTensor(fn, ctx.outputs[c]!, from(c)) : m.nop()));
  const done = 'unrolled_done';
  const steps: Expr[] = [];
  bodies.forEach((b, j) => {
    // the condition is false before iteration j: the carried values are in this body's input slots
    steps.push(m.if(m.i32.eqz(fn.get(go)), fn.block([
      ...(planned !== undefined ? [trapWith(ctx, ERROR_CODE.trips, m.i64.const(BigInt(j)), planned)] : []),
      ...carriedOut((c) => b.inputs[2 + c]!), m.br(done),
    ])));
    steps.push(m.i32.store8(0, 1, fn.c32(b.inputs[1]!.ptr.base), fn.get(go)), b.call(), fn.set(go, truth(fn, b.outputs[0]!)));
    scans.forEach((o, s) => {
      const src = b.outputs[1 + n + s]!;
      if (o && bytesOf(src)) steps.push(m.memory.copy(fn.c32(o.ptr.base + j * bytesOf(src)), fn.c32(src.ptr.base), fn.c32(bytesOf(src))));
    });
    const next = bodies[j + 1];
    if (!next) { steps.push(...carriedOut((c) => b.outputs[1 + c]!)); return; }
    for (let c = 0; c < n; c++) steps.push(copyTensor(fn, staged(c), b.outputs[1 + c]!));
    for (let c = 0; c < n; c++) steps.push(copyTensor(fn, next.inputs[2 + c]!, staged(c)));
  });
  const first = bodies[0]!;
  return fn.block([
    ...Array.from({ length: n }, (_, c) => copyTensor(fn, first.inputs[2 + c]!, ctx.inputs[2 + c]!)),
    fn.set(go, cond ? truth(fn, cond) : fn.c32(1)),
    m.block(done, steps),
  ]);
}

export const CONTROL_FLOW = { If: IF, Loop: LOOP } as const;

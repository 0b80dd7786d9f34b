// Index checks for every kernel that reads positions from a tensor (Gather, GatherElements, GatherND, Scatter*,
// loss targets, sequence lengths): the reference's rule (a negative index counts from the end once, then it must lie
// in [0, n)), so no kernel ever reads or writes outside a tensor. A run-time index is checked in wasm, as i64 for
// int64 tensors before it is narrowed; when it is out of range the kernel writes the error record (abi.ts) and
// traps, and the runtime turns that into an error naming the node. A constant index tensor is checked here, at
// compile time, and its reads carry no check.

import binaryen from '../binaryen.js';
import { KernelError } from '../../../ir/errors.js';
import { toNumbers } from '../../../ir/tensor.js';
import { ERROR_CODE, ERROR_RECORD } from '../abi.js';
import type { Expr, Fn, Local } from '../fn.js';
import { valType } from '../fn.js';
import { ld } from './scalar.js';
import type { KernelContext, TensorRef } from './types.js';

/** 'wrap': ONNX's rule for Gather & co., [-n, n) with negatives counted from the end. 'plain': [0, n) only (loss
 *  targets, sequence lengths). */
export type IndexRule = 'wrap' | 'plain';

/** Write the error record (code, offending value as i64, axis size) and trap. run() wrote the kernel index. */
export function trapIndex(fn: Fn, value64: Expr, n: number, rule: IndexRule = 'wrap'): Expr {
  const m = fn.m;
  return fn.block([
    m.i32.store(ERROR_RECORD.code, 4, fn.c32(0), fn.c32(rule === 'wrap' ? ERROR_CODE.index : ERROR_CODE.position)),
    m.i64.store(ERROR_RECORD.value, 8, fn.c32(0), value64),
    m.i64.store(ERROR_RECORD.size, 8, fn.c32(0), m.i64.const(BigInt(n))),
    m.unreachable(),
  ]);
}

/** Statements that set `dst` (an i32 local) to element `at` of the integer tensor `idx`, normalised by `rule`, and
 *  trap (error record) when it is outside the range. Unless `trusted` (the values were checked already), the
 *  cost is one compare and branch; the cold path reloads the value so the record holds it as it was read. */
export function readIndex(fn: Fn, idx: TensorRef, at: () => Expr, n: number, dst: Local, rule: IndexRule = 'wrap', trusted = false): Expr[] {
  const m = fn.m;
  const t = valType(idx.dtype);
  if (t === 'i64') {
    const v = fn.local(binaryen.i64), N = (): Expr => m.i64.const(BigInt(n));
    return [
      fn.set(v, ld(fn, idx, at())),
      ...(rule === 'wrap' ? [fn.set(v, m.select(m.i64.lt_s(fn.get(v), m.i64.const(0n)), m.i64.add(fn.get(v), N()), fn.get(v)))] : []),
      // unsigned: a value still negative after the wrap is huge, so one compare covers both ends
      ...(trusted ? [] : [m.if(m.i64.ge_u(fn.get(v), N()), trapIndex(fn, ld(fn, idx, at()), n, rule))]),
      fn.set(dst, m.i32.wrap(fn.get(v))),
    ];
  }
  if (t !== 'i32') throw new KernelError(`index tensor '${idx.name}' is ${idx.dtype}; expected an integer type`);
  return [
    fn.set(dst, ld(fn, idx, at())),
    ...(rule === 'wrap' ? [fn.set(dst, m.select(m.i32.lt_s(fn.get(dst), fn.c32(0)), m.i32.add(fn.get(dst), fn.c32(n)), fn.get(dst)))] : []),
    ...(trusted ? [] : [m.if(m.i32.ge_u(fn.get(dst), fn.c32(n)), trapIndex(fn, m.i64.extend_s(ld(fn, idx, at())), n, rule))]),
  ];
}

/** Throw a KernelError naming the node when a constant index tensor holds a value out of range; `sizeAt(i)` is the
 *  axis size element i indexes. */
export function checkConstIndices(ctx: Pick<KernelContext, 'site'>, idx: TensorRef, sizeAt: (i: number) => number, what: string, rule: IndexRule = 'wrap'): void {
  if (idx.constant === undefined) return;
  const vals = toNumbers(idx.constant);
  vals.forEach((v, i) => {
    const n = sizeAt(i);
    const lo = rule === 'wrap' ? -n : 0;
    if (!Number.isInteger(v) || v < lo || v >= n) {
      throw new KernelError(`${what} ${String(idx.constant!.data[i])} (constant '${idx.name}') is out of range [${lo}, ${n - 1}]`, ctx.site);
    }
  });
}

/** A reader for kernels: constant index tensors are checked now (and read unchecked), run-time ones in wasm. */
export function indexReader(ctx: Pick<KernelContext, 'site' | 'fn'>, idx: TensorRef, sizeAt: (i: number) => number, what: string, rule: IndexRule = 'wrap') {
  checkConstIndices(ctx, idx, sizeAt, what, rule);
  const trusted = idx.constant !== undefined;
  return (at: () => Expr, n: number, dst: Local, checked = true): Expr[] => readIndex(ctx.fn, idx, at, n, dst, rule, trusted || !checked);
}

// What every WebGPU kernel shares: the linear invocation index of a 1-D dispatch (split over y past 65535
// workgroups), strided views of a binding (offset and broadcast code from static dims), and refusals common to
// all kernels (run-time int64 values, which WebGPU cannot hold).

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, bitcast, eq, expr, ge, mul, not, select, shr, u32, type Expr, type WType } from '../wgsl/ast.js';
import { MAX_WORKGROUPS_PER_DIM, WORKGROUP_SIZE, type Body, type Buffer, type ShaderBuilder, type StatusBinding } from '../wgsl/module.js';
import { input, type LowerContext, type Operand } from './types.js';

export const stridesOf = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
};
export const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Workgroup counts for `threads` invocations of a `WORKGROUP_SIZE`-wide 1-D kernel. */
export function grid1d(threads: number): readonly [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / WORKGROUP_SIZE));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y, 1];
}

/** The 1-D kernel's entry: `body` runs for each index below `threads` (the rest return at once). */
export function main1d(s: ShaderBuilder, threads: number, body: (b: Body, i: Expr<'u32'>) => void): ShaderBuilder {
  const [gx] = grid1d(threads);
  return s.main([WORKGROUP_SIZE], (b, gid) => {
    const i = b.let('i', gx === 1 ? gid.x : add(gid.x, mul(gid.y, u32(gx * WORKGROUP_SIZE))));
    b.if(ge(i, u32(threads)), (t) => t.return());
    body(b, i);
  });
}

/** The coordinates of linear index `i` in `dims` (row-major), as u32 lets; constant 0 for size-1 dims. */
export function coords(b: Body, i: Expr<'u32'>, dims: readonly number[], hint = 'c'): Expr<'u32'>[] {
  const st = stridesOf(dims);
  return dims.map((d, k) => {
    if (d === 1) return u32(0);
    const q = st[k] === 1 ? i : expr('u32', { kind: 'bin', op: '/', a: i.node, b: u32(st[k]!).node });
    return b.let(`${hint}${k}`, k === 0 ? q : expr('u32', { kind: 'bin', op: '%', a: q.node, b: u32(d).node }));
  });
}

/** Σ c_k · stride_k over the dims where the stride matters. */
export function offsetOf(cs: readonly Expr<'u32'>[], strides: readonly number[]): Expr<'u32'> {
  let acc: Expr<'u32'> | undefined;
  cs.forEach((c, k) => {
    const st = strides[k]!;
    if (st === 0) return;
    const term = st === 1 ? c : mul(c, u32(st));
    acc = acc ? add(acc, term) : term;
  });
  return acc ?? u32(0);
}

/** Strides of `dims` read as broadcast to `outDims` (numpy rules): 0 along broadcast dims. */
export function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const st = stridesOf(dims);
  const lead = outDims.length - dims.length;
  return outDims.map((_, k) => (k < lead || dims[k - lead] === 1 ? 0 : st[k - lead]!));
}

/** Refuses a node with a run-time value WebGPU cannot store (int64 is allowed only as a constant). */
export function refuseRuntimeInt64(ctx: PlanContext, constOk: readonly number[] = []): Refusal | undefined {
  const bad = [...ctx.inputs.map((r, i) => (r && r.constant === undefined && !constOk.includes(i) ? r : undefined)), ...ctx.outputs]
    .find((r) => r && (r.dtype === 'int64' || r.dtype === 'uint64'));
  return bad ? { reason: 'dtype', dtype: bad.dtype, detail: `WebGPU has no 64-bit integers: '${bad.name}' is a run-time ${bad.dtype}` } : undefined;
}

/** A refusal unless every input and output is float32 (inputs listed in `except` are exempt). */
export function refuseNonFloat(ctx: PlanContext, except: readonly number[] = []): Refusal | undefined {
  const bad = [...ctx.inputs.filter((_, i) => !except.includes(i)), ...ctx.outputs].find((r) => r && r.dtype !== 'float32');
  return bad ? { reason: 'dtype', dtype: bad.dtype, detail: `the webgpu kernel computes float32, not ${bad.dtype} ('${bad.name}')` } : undefined;
}

/** Binds the node inputs `which` in order, one binding per distinct buffer (WebGPU refuses two writable bindings
 *  over the same bytes in one dispatch; inputs with one root are one value): each input's binding, and the operands
 *  to list first in the dispatch. */
export function bindInputs(s: ShaderBuilder, ctx: LowerContext, which: readonly { readonly index: number; readonly hint: string; readonly elem: 'f32' | 'i32' | 'u32' }[]): { bufs: Map<number, Buffer<WType>>; operands: Operand[] } {
  const bufs = new Map<number, Buffer<WType>>();
  const operands: Operand[] = [];
  const byRoot = new Map<string, Buffer<WType>>();
  for (const w of which) {
    const root = ctx.inputRoots[w.index];
    const shared = root !== undefined ? byRoot.get(root) : undefined;
    if (shared && shared.elem === w.elem) { bufs.set(w.index, shared); continue; }
    const buf = s.buffer(w.hint, w.elem, 'read');
    if (root !== undefined) byRoot.set(root, buf);
    bufs.set(w.index, buf);
    operands.push(input(w.index));
  }
  return { bufs, operands };
}

/** Element i of a run-time int64 tensor bound as u32 words, narrowed to i32: a value past int32 sets the node's
 *  status (reported as out of range, with its low word) and reads as `fallback`; never silently wrapped. */
export function loadI64(b: Body, buf: Buffer<'u32'>, i: Expr<'u32'>, status: StatusBinding, fallback: Expr<'i32'>): Expr<'i32'> {
  const lo = b.let('lo', bitcast('i32', buf.at(mul(i, u32(2))) as Expr<'u32'>));
  const hi = b.let('hi', bitcast('i32', buf.at(add(mul(i, u32(2)), u32(1))) as Expr<'u32'>));
  const ok = b.let('in_range', eq(hi, shr(lo, u32(31))));
  b.if(not(ok), (t) => status.fail(t, 1, lo));
  return select(ok, lo, fallback);
}

// What every WebGPU kernel shares: the linear invocation index of a 1-D dispatch (split over y past 65535
// workgroups), strided views of a binding (offset and broadcast code from static dims), and refusals common to
// all kernels (run-time int64 values, which WebGPU cannot hold).

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { add, expr, ge, mul, u32, type Expr } from '../wgsl/ast.js';
import { MAX_WORKGROUPS_PER_DIM, WORKGROUP_SIZE, type Body, type ShaderBuilder } from '../wgsl/module.js';

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

// Rows reduced by a group of invocations each instead of one (Softmax, GlobalAveragePool/GlobalMaxPool): a
// 64-invocation workgroup holds 64 / L rows of L lanes; each lane walks every L-th element of its row, and the
// lanes combine through workgroup memory (a tree of log2 L steps). No invocation returns early, so all of them
// reach the barriers: lanes of rows past the last compute the last row again and `valid` says not to store.
// On an H200 (Dawn) one invocation per row leaves the chip idle and walks the row serially: gpt2_tiny's Softmax
// over 256 rows of 64 took 23 us a node that way.

import { add, lane, lt, max, min, mul, u32, type Expr } from '../wgsl/ast.js';
import { MAX_WORKGROUPS_PER_DIM, WORKGROUP_SIZE, type Body, type ShaderBuilder } from '../wgsl/module.js';

export interface RowGroup {
  /** This invocation's row (clamped to the last) and lane; whether the row is real. */
  readonly row: Expr<'u32'>;
  readonly lane: Expr<'u32'>;
  readonly valid: Expr<'bool'>;
  /** The lanes' combined value of `v` (the same in every lane of the row); call in uniform control flow. */
  combine(b: Body, v: Expr<'f32'>, op: 'sum' | 'max', hint: string): Expr<'f32'>;
}

/** Lanes per row for rows of `length` elements: 1 (one invocation per row) below 16 elements. */
export function rowLanes(rows: number, length: number): number {
  const L = length >= 256 ? 64 : length >= 64 ? 16 : length >= 16 ? 4 : 1;
  return L > 1 && Math.ceil(rows / (WORKGROUP_SIZE / L)) <= MAX_WORKGROUPS_PER_DIM ? L : 1;
}

/** Workgroup counts of the grouped form. */
export const rowGroupGrid = (rows: number, L: number): [number, number, number] => [Math.ceil(rows / (WORKGROUP_SIZE / L)), 1, 1];

/** Declares the form's entry point on `s` (workgroup WORKGROUP_SIZE) and runs `body` with the invocation's row.
 *  With `serial` (the shader for devices with subgroups): where subgroups are under 16 lanes (CPU adapters:
 *  lavapipe's 8, on which the grouped form ran gpt2_tiny's LayerNorm and Softmax slower), each invocation of the
 *  grid does one whole row instead, `serial(b, row)`, as the one-invocation-per-row form would. */
export function rowGroupMain(s: ShaderBuilder, rows: number, L: number, body: (b: Body, g: RowGroup) => void, serial?: (b: Body, row: Expr<'u32'>) => void): void {
  const lid = s.builtin('local_invocation_index', 'u32'), wid = s.builtin('workgroup_id', 'vec3<u32>');
  const red = s.workgroupArray('partial', 'f32', WORKGROUP_SIZE);
  s.main([WORKGROUP_SIZE, 1, 1], (b) => {
    if (serial) cpuRows(s, b, rows, lid, wid, serial);
    const ln = b.let('lane', modU(lid, L)), first = b.let('first', mul(divU(lid, L), u32(L)));
    const r = b.let('r', add(mul(lane(wid, 0), u32(WORKGROUP_SIZE / L)), divU(lid, L)));
    const valid = b.let('valid', lt(r, u32(rows)));
    const row = b.let('row', min(r, u32(rows - 1)));
    const combine = (cb: Body, v: Expr<'f32'>, op: 'sum' | 'max', hint: string): Expr<'f32'> => {
      const f = (x: Expr<'f32'>, y: Expr<'f32'>): Expr<'f32'> => (op === 'sum' ? add(x, y) : max(x, y));
      cb.set(red.at(lid), v);
      cb.barrier();
      for (let h = L / 2; h >= 1; h /= 2) {
        cb.if(lt(ln, u32(h)), (tb) => tb.set(red.at(lid), f(red.at(lid), red.at(add(lid, u32(h))))));
        cb.barrier();
      }
      const total = cb.let(hint, red.at(first) as Expr<'f32'>);
      cb.barrier(); // every lane has read its row's total before the array is written again
      return total;
    };
    body(b, { row, lane: ln, valid, combine });
  });
}

/** The serial stand-in on subgroups under 16 lanes: invocation i of the grid takes row i (the grouped grid has at
 *  least one invocation per row); no return inside (it would put the barriers after it under non-uniform control). */
export function cpuRows(s: ShaderBuilder, b: Body, rows: number, lid: Expr<'u32'>, wid: Expr<'vec3<u32>'>, serial: (b: Body, row: Expr<'u32'>) => void): void {
  const size = s.builtin('subgroup_size', 'u32');
  b.if(lt(size, u32(16)), (cb) => {
    const i = cb.let('i', add(mul(lane(wid, 0), u32(WORKGROUP_SIZE)), lid));
    cb.if(lt(i, u32(rows)), (rb) => serial(rb, i));
    cb.return();
  });
}

const divU = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? a : { type: 'u32', node: { kind: 'bin', op: '/', a: a.node, b: u32(k).node } });
const modU = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? u32(0) : { type: 'u32', node: { kind: 'bin', op: '%', a: a.node, b: u32(k).node } });

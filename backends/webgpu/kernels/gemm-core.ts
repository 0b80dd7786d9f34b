// The register-blocked GEMM every matrix kernel shares (MatMul, Gemm; Conv's 1x1 case): each invocation computes
// a TILE x TILE block of C in four vec4 accumulators, reading B four columns at a time (vec4 when B is row-major
// with N % 4 == 0) and, when A is row-major with K % 4 == 0, A four k at a time; on lavapipe this is ~5x a
// one-element-per-invocation kernel. Rows and columns past the edge are clamped on load and skipped on store.

import { add, f32, fma, lane, lt, min, mul, scale, u32, vec4, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Body } from '../wgsl/module.js';
import { coords, offsetOf, prod } from './common.js';

/** Rows and columns of C per invocation. */
export const TILE = 4;
/** Workgroup shape (invocations along N, along M). */
export const GEMM_WG = [8, 8] as const;

/** Element strides of an operand: per batch dim of C, then along its two matrix dims. */
export interface Operand2d { readonly batch: readonly number[]; readonly outer: number; readonly inner: number }

export interface GemmSpec {
  readonly M: number; readonly N: number; readonly K: number;
  /** C's batch dims (broadcast batch dims of A and B). */
  readonly batchDims: readonly number[];
  /** A's strides: outer along M, inner along K. */
  readonly a: Operand2d;
  /** B's strides: outer along K, inner along N. */
  readonly b: Operand2d;
  /** A bias added after scaling (Gemm's C): outer along M, inner along N. */
  readonly bias?: Operand2d & { readonly beta: number };
  readonly alpha?: number;
  /** A formula applied to each result (fused activation). */
  readonly epilogue?: (x: Expr<'vec4<f32>'>) => Expr<'vec4<f32>'>;
  /** A and B are the same buffer (MatMul(x, x)): one binding (WebGPU refuses two writable ones over it). */
  readonly sameAB?: boolean;
}

const vecOk = (o: Operand2d, along: 'inner', n: number): boolean => o[along] === 1 && n % 4 === 0 && o.outer % 4 === 0 && o.batch.every((s) => s % 4 === 0);

export function gemmShader(spec: GemmSpec): { shader: string; workgroups: [number, number, number] } {
  const { M, N, K } = spec;
  const aVec0 = vecOk(spec.a, 'inner', K), bVec0 = vecOk(spec.b, 'inner', N), yVec = N % 4 === 0;
  const aVec = aVec0 && (!spec.sameAB || bVec0), bVec = bVec0 && (!spec.sameAB || aVec0);
  const biasVec = spec.bias !== undefined && vecOk(spec.bias, 'inner', N);
  const s = new ShaderBuilder();
  const A = aVec ? s.buffer('a', 'vec4<f32>', 'read') : s.buffer('a', 'f32', 'read');
  const B = spec.sameAB ? A : bVec ? s.buffer('b', 'vec4<f32>', 'read') : s.buffer('b', 'f32', 'read');
  const C = spec.bias ? (biasVec ? s.buffer('bias', 'vec4<f32>', 'read') : s.buffer('bias', 'f32', 'read')) : undefined;
  const Y = yVec ? s.buffer('y', 'vec4<f32>', 'read_write') : s.buffer('y', 'f32', 'read_write');
  const tilesN = Math.ceil(N / TILE), tilesM = Math.ceil(M / TILE), batch = prod(spec.batchDims);
  const ld = (buf: typeof A, i: Expr<'u32'>): Expr<'f32'> => buf.at(i) as Expr<'f32'>;
  const ld4 = (buf: typeof A, i: Expr<'u32'>): Expr<'vec4<f32>'> => buf.at(i) as Expr<'vec4<f32>'>;
  const div4 = (e: Expr<'u32'>): Expr<'u32'> => ({ type: 'u32', node: { kind: 'bin', op: '/', a: e.node, b: u32(4).node } });

  s.main([GEMM_WG[0], GEMM_WG[1], 1], (b, gid) => {
    const tn = gid.x, tm = gid.y, z = gid.z;
    b.if(lt(u32(tilesN - 1), tn), (t) => t.return());
    b.if(lt(u32(tilesM - 1), tm), (t) => t.return());
    const col0 = b.let('col0', mul(tn, u32(TILE))), row0 = b.let('row0', mul(tm, u32(TILE)));
    const zc = spec.batchDims.length ? coords(b, z, spec.batchDims, 'z') : [];
    const base = (o: Operand2d, hint: string): Expr<'u32'> => b.let(hint, offsetOf(zc, o.batch));
    const aBase = base(spec.a, 'abase'), bBase = base(spec.b, 'bbase');
    // rows past M read row M-1 (never stored): no branch in the inner loop
    const rows = [0, 1, 2, 3].map((r) => b.let(`arow${r}`, add(aBase, mul(min(add(row0, u32(r)), u32(M - 1)), u32(spec.a.outer)))));
    const cols = bVec ? [] : [0, 1, 2, 3].map((c) => b.let(`bcol${c}`, add(bBase, mul(min(add(col0, u32(c)), u32(N - 1)), u32(spec.b.inner)))));
    const acc: LValue<'vec4<f32>'>[] = [0, 1, 2, 3].map((r) => b.var(`acc${r}`, vec4('f32', f32(0))));
    const bRow = (lb: Body, k: Expr<'u32'>): Expr<'vec4<f32>'> => {
      const koff = mul(k, u32(spec.b.outer));
      if (bVec) return lb.let('bv', ld4(B, div4(add(add(bBase, koff), col0))));
      return lb.let('bv', vec4('f32', ...cols.map((c) => ld(B, add(c, koff)))));
    };
    if (aVec) {
      b.for('k', u32(0), u32(K), (lb, k) => {
        const av = rows.map((r, i) => lb.let(`av${i}`, ld4(A, div4(add(r, k)))));
        for (let kk = 0; kk < 4; kk++) {
          const bv = bRow(lb, add(k, u32(kk)));
          acc.forEach((a, r) => lb.set(a, fma(vec4('f32', lane(av[r]!, kk as 0 | 1 | 2 | 3)), bv, a)));
        }
      }, 4);
    } else if (K > 0) {
      b.for('k', u32(0), u32(K), (lb, k) => {
        const bv = bRow(lb, k);
        const kOff = mul(k, u32(spec.a.inner));
        acc.forEach((a, r) => lb.set(a, fma(vec4('f32', ld(A, add(rows[r]!, kOff))), bv, a)));
      });
    }
    // epilogue and stores, row by row
    const cBase = spec.bias ? base(spec.bias, 'cbase') : undefined;
    for (let r = 0; r < TILE; r++) {
      const row = add(row0, u32(r));
      b.if(lt(row, u32(M)), (rb) => {
        let v: Expr<'vec4<f32>'> = spec.alpha !== undefined && spec.alpha !== 1 ? scale(acc[r]!, f32(spec.alpha)) : acc[r]!;
        if (spec.bias && C && cBase) {
          const bo = add(cBase, mul(row, u32(spec.bias.outer)));
          const cv = biasVec ? ld4(C, div4(add(bo, col0)))
            : vec4('f32', ...[0, 1, 2, 3].map((c) => ld(C, add(bo, mul(min(add(col0, u32(c)), u32(N - 1)), u32(spec.bias!.inner))))));
          v = add(v, spec.bias.beta === 1 ? cv : scale(cv, f32(spec.bias.beta)));
        }
        if (spec.epilogue) v = spec.epilogue(v);
        const val = rb.let('v', v);
        const yo = add(mul(u32(N), row), col0);
        if (yVec) {
          rb.set(Y.at(div4(add(mul(z, u32(M * N)), yo))), val);
        } else {
          for (let c = 0; c < TILE; c++) {
            rb.if(lt(add(col0, u32(c)), u32(N)), (cb) => cb.set(Y.at(add(add(mul(z, u32(M * N)), yo), u32(c))) as LValue<'f32'>, lane(val, c as 0 | 1 | 2 | 3)));
          }
        }
      });
    }
  });
  return { shader: s.print(), workgroups: [Math.ceil(tilesN / GEMM_WG[0]), Math.ceil(tilesM / GEMM_WG[1]), Math.max(1, batch)] };
}

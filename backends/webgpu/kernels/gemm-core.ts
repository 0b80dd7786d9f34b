// The register-blocked GEMM every matrix kernel shares (MatMul, Gemm; Conv's 1x1 case): each invocation computes
// a TILE x TILE block of C in four vec4 accumulators, reading B four columns at a time (vec4 when B is row-major
// with N % 4 == 0) and, when A is row-major with K % 4 == 0, A four k at a time; on lavapipe this is ~5x a
// one-element-per-invocation kernel. Rows and columns past the edge are clamped on load and skipped on store.
// Where A is row-major in vec4s and M >= 8, a second form for devices with subgroups of 8+ lanes: each lane owns
// four columns of SG_ROWS rows; the lanes of a subgroup load A's rows once between them (lane l loads rows
// l, l + 8, ...) and broadcast them, so a lane loads 1/4 of the A components the plain form does. On lavapipe a
// lane's load costs a bounds-checked scalar load per component (llvmpipe has no uniform-load path for storage
// buffers) while FMAs are 8-wide, so loads are the cost: ~2x on gpt2_tiny's Gemms (bench/webgpu-profile.ts).

import { add, and, eq, f32, fma, lane, lt, min, mod, mul, scale, u32, vec4, type Expr, type LValue, type WType } from '../wgsl/ast.js';
import { ShaderBuilder, type Body, type Buffer } from '../wgsl/module.js';
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

export interface GemmShaders {
  readonly shader: string;
  readonly workgroups: [number, number, number];
  /** The subgroup form, where it applies (runtime/webgpu uses it on devices with subgroups of 8+ lanes). */
  readonly subgroups?: { readonly shader: string; readonly workgroups: [number, number, number] };
  /** Where the shaders above are the split form: the unsplit forms, for CPU adapters. */
  readonly cpu?: Omit<GemmShaders, 'cpu'>;
}

/** Rows of C per subgroup-form workgroup (two A loads per lane per four k), and its width in lanes. */
const SG_ROWS = 16, SG_WG = 16;

interface Bindings { s: ShaderBuilder; A: Buffer<WType>; B: Buffer<WType>; C?: Buffer<WType>; Y: Buffer<WType>; aVec: boolean; bVec: boolean; biasVec: boolean; yVec: boolean }

function bindings(spec: GemmSpec, s: ShaderBuilder): Bindings {
  const { N, K } = spec;
  const aVec0 = vecOk(spec.a, 'inner', K), bVec0 = vecOk(spec.b, 'inner', N), yVec = N % 4 === 0;
  const aVec = aVec0 && (!spec.sameAB || bVec0), bVec = bVec0 && (!spec.sameAB || aVec0);
  const biasVec = spec.bias !== undefined && vecOk(spec.bias, 'inner', N);
  const A = aVec ? s.buffer('a', 'vec4<f32>', 'read') : s.buffer('a', 'f32', 'read');
  const B = spec.sameAB ? A : bVec ? s.buffer('b', 'vec4<f32>', 'read') : s.buffer('b', 'f32', 'read');
  const C = spec.bias ? (biasVec ? s.buffer('bias', 'vec4<f32>', 'read') : s.buffer('bias', 'f32', 'read')) : undefined;
  const Y = yVec ? s.buffer('y', 'vec4<f32>', 'read_write') : s.buffer('y', 'f32', 'read_write');
  return { s, A, B, ...(C ? { C } : {}), Y, aVec, bVec, biasVec, yVec };
}

const ld = (buf: Buffer<WType>, i: Expr<'u32'>): Expr<'f32'> => buf.at(i) as Expr<'f32'>;
const ld4 = (buf: Buffer<WType>, i: Expr<'u32'>): Expr<'vec4<f32>'> => buf.at(i) as Expr<'vec4<f32>'>;
const div4 = (e: Expr<'u32'>): Expr<'u32'> => ({ type: 'u32', node: { kind: 'bin', op: '/', a: e.node, b: u32(4).node } });

/** B's four columns from col0 at row k: one vec4 load, or four clamped scalar loads (`cols`: their offsets). */
function bRowOf(spec: GemmSpec, bd: Bindings, bBase: Expr<'u32'>, col0: Expr<'u32'>, cols: readonly Expr<'u32'>[]) {
  return (lb: Body, k: Expr<'u32'>): Expr<'vec4<f32>'> => {
    const koff = mul(k, u32(spec.b.outer));
    if (bd.bVec) return lb.let('bv', ld4(bd.B, div4(add(add(bBase, koff), col0))));
    return lb.let('bv', vec4('f32', ...cols.map((c) => ld(bd.B, add(c, koff)))));
  };
}

/** Scale, bias, epilogue and store of accumulator rows row0 + r (rows past M and columns past N skipped). */
function storeRows(b: Body, spec: GemmSpec, bd: Bindings, acc: readonly Expr<'vec4<f32>'>[], row0: Expr<'u32'>, col0: Expr<'u32'>, z: Expr<'u32'>, cBase: Expr<'u32'> | undefined): void {
  const { M, N } = spec;
  for (let r = 0; r < acc.length; r++) {
    const row = add(row0, u32(r));
    b.if(lt(row, u32(M)), (rb) => {
      let v: Expr<'vec4<f32>'> = spec.alpha !== undefined && spec.alpha !== 1 ? scale(acc[r]!, f32(spec.alpha)) : acc[r]!;
      if (spec.bias && bd.C && cBase) {
        const bo = add(cBase, mul(row, u32(spec.bias.outer)));
        const cv = bd.biasVec ? ld4(bd.C, div4(add(bo, col0)))
          : vec4('f32', ...[0, 1, 2, 3].map((c) => ld(bd.C!, add(bo, mul(min(add(col0, u32(c)), u32(N - 1)), u32(spec.bias!.inner))))));
        v = add(v, spec.bias.beta === 1 ? cv : scale(cv, f32(spec.bias.beta)));
      }
      if (spec.epilogue) v = spec.epilogue(v);
      const val = rb.let('v', v);
      const yo = add(mul(u32(N), row), col0);
      if (bd.yVec) {
        rb.set(bd.Y.at(div4(add(mul(z, u32(M * N)), yo))) as LValue<'vec4<f32>'>, val);
      } else {
        for (let c = 0; c < TILE; c++) {
          rb.if(lt(add(col0, u32(c)), u32(N)), (cb) => cb.set(bd.Y.at(add(add(mul(z, u32(M * N)), yo), u32(c))) as LValue<'f32'>, lane(val, c as 0 | 1 | 2 | 3)));
        }
      }
    });
  }
}

export function gemmShader(spec: GemmSpec): GemmShaders {
  // few tiles over a long K (gpt2_tiny's 64 x 256 x 1024 c_proj, mobilenet_v2's 1 x 1000 x 1280 classifier): the
  // split form; for devices with subgroups a shader that takes the split form where subgroups are 16+ lanes (GPUs)
  // and the unsplit forms' work, virtually mapped, below that (lavapipe's 8: the split form ran gpt2_tiny 4x slower)
  // CPU adapters get the unsplit forms (`cpu`: the runtime picks per device)
  const sg = subgroupGemm(spec);
  const unsplit = { ...plainGemm(spec), ...(sg ? { subgroups: sg } : {}) };
  const S = gemmSlices(spec);
  if (S > 1) return { ...splitGemm(spec, S, false), subgroups: splitGemm(spec, S, true), cpu: unsplit };
  return unsplit;
}

/** Invocations per workgroup of the split form. */
export const GEMM_SPLIT_THREADS = 128;
/** Invocations a dispatch should have before K is not split further (a big GPU holds ~270k). */
const SPLIT_TARGET = 32768;

/** Slices K is split into (1: not split): doubled while the dispatch has fewer than SPLIT_TARGET invocations and
 *  each slice keeps 32+ k (in steps of 4 where A is read in vec4s). */
export function gemmSlices(spec: GemmSpec): number {
  const tiles = Math.ceil(spec.N / TILE) * Math.ceil(spec.M / TILE) * prod(spec.batchDims);
  let S = 1;
  while (S < 16 && tiles * S < SPLIT_TARGET && spec.K / (2 * S) >= 32) S *= 2;
  return S;
}

/** The batch offsets of each operand for batch index z. */
function batchBases(b: Body, spec: GemmSpec, z: Expr<'u32'>): { aBase: Expr<'u32'>; bBase: Expr<'u32'>; cBase?: Expr<'u32'> } {
  const zc = spec.batchDims.length ? coords(b, z, spec.batchDims, 'z') : [];
  const base = (o: Operand2d, hint: string): Expr<'u32'> => b.let(hint, offsetOf(zc, o.batch));
  return { aBase: base(spec.a, 'abase'), bBase: base(spec.b, 'bbase'), ...(spec.bias ? { cBase: base(spec.bias, 'cbase') } : {}) };
}

/** The 4x4 tile at (row0, col0) over k = from, from + step, ... (step a multiple of 4 where A is vec4): its four
 *  accumulator rows. */
function tileProduct(b: Body, spec: GemmSpec, bd: Bindings, bases: { aBase: Expr<'u32'>; bBase: Expr<'u32'> }, row0: Expr<'u32'>, col0: Expr<'u32'>, from: Expr<'u32'>, step: number): LValue<'vec4<f32>'>[] {
  const { M, N, K } = spec;
  const { A, aVec, bVec } = bd;
  // rows past M read row M-1 (never stored): no branch in the inner loop
  const rows = [0, 1, 2, 3].map((r) => b.let(`arow${r}`, add(bases.aBase, mul(min(add(row0, u32(r)), u32(M - 1)), u32(spec.a.outer)))));
  const cols = bVec ? [] : [0, 1, 2, 3].map((c) => b.let(`bcol${c}`, add(bases.bBase, mul(min(add(col0, u32(c)), u32(N - 1)), u32(spec.b.inner)))));
  const acc: LValue<'vec4<f32>'>[] = [0, 1, 2, 3].map((r) => b.var(`acc${r}`, vec4('f32', f32(0))));
  const bRow = bRowOf(spec, bd, bases.bBase, col0, cols);
  if (aVec) {
    b.for('k', from, u32(K), (lb, k) => {
      const av = rows.map((r, i) => lb.let(`av${i}`, ld4(A, div4(add(r, k)))));
      for (let kk = 0; kk < 4; kk++) {
        const bv = bRow(lb, add(k, u32(kk)));
        acc.forEach((a, r) => lb.set(a, fma(vec4('f32', lane(av[r]!, kk as 0 | 1 | 2 | 3)), bv, a)));
      }
    }, step);
  } else if (K > 0) {
    b.for('k', from, u32(K), (lb, k) => {
      const bv = bRow(lb, k);
      const kOff = mul(k, u32(spec.a.inner));
      acc.forEach((a, r) => lb.set(a, fma(vec4('f32', ld(A, add(rows[r]!, kOff))), bv, a)));
    }, step);
  }
  return acc;
}

function plainGemm(spec: GemmSpec): { shader: string; workgroups: [number, number, number] } {
  const { M, N } = spec;
  const s = new ShaderBuilder();
  const bd = bindings(spec, s);
  const tilesN = Math.ceil(N / TILE), tilesM = Math.ceil(M / TILE), batch = prod(spec.batchDims);
  s.main([GEMM_WG[0], GEMM_WG[1], 1], (b, gid) => {
    b.if(lt(u32(tilesN - 1), gid.x), (t) => t.return());
    b.if(lt(u32(tilesM - 1), gid.y), (t) => t.return());
    plainTile(b, spec, bd, gid.x, gid.y, gid.z);
  });
  return { shader: s.print(), workgroups: [Math.ceil(tilesN / GEMM_WG[0]), Math.ceil(tilesM / GEMM_WG[1]), Math.max(1, batch)] };
}

/** One invocation's whole 4x4 tile (tn, tm) of batch z, stored. */
function plainTile(b: Body, spec: GemmSpec, bd: Bindings, tn: Expr<'u32'>, tm: Expr<'u32'>, z: Expr<'u32'>): void {
  const col0 = b.let('col0', mul(tn, u32(TILE))), row0 = b.let('row0', mul(tm, u32(TILE)));
  const bases = batchBases(b, spec, z);
  const acc = tileProduct(b, spec, bd, bases, row0, col0, u32(0), bd.aVec ? 4 : 1);
  storeRows(b, spec, bd, acc, row0, col0, z, bases.cBase);
}

/** The subgroup form (see the file header), or undefined where it does not apply: A not vec4 rows, or M < 8. */
function subgroupGemm(spec: GemmSpec): { shader: string; workgroups: [number, number, number] } | undefined {
  const { M, N } = spec;
  if (M < 8) return undefined;
  const s = new ShaderBuilder();
  const bd = bindings(spec, s);
  if (!bd.aVec) return undefined;
  const wid = s.builtin('workgroup_id', 'vec3<u32>');
  const tilesN = Math.ceil(N / TILE), batch = prod(spec.batchDims);
  s.main([SG_WG, 1, 1], (b, gid) => subgroupBlock(b, s, spec, bd, gid.x, lane(wid, 1), lane(wid, 2)));
  return { shader: s.print(), workgroups: [Math.ceil(tilesN / SG_WG), Math.ceil(M / sgRows(M)), Math.max(1, batch)] };
}
const sgRows = (M: number): number => (M >= SG_ROWS ? SG_ROWS : 8);

/** A lane of the subgroup form: column tile `tx` (past the last: computes the last again, stores nothing), the
 *  block of sgRows rows `by`, batch z. Every lane of a subgroup must get here (subgroupBroadcast). */
function subgroupBlock(b: Body, s: ShaderBuilder, spec: GemmSpec, bd: Bindings, tx: Expr<'u32'>, by: Expr<'u32'>, z: Expr<'u32'>): void {
  const { M, N, K } = spec;
  const sg = s.subgroups();
  const rowsPer = sgRows(M), tilesN = Math.ceil(N / TILE);
  const col0 = b.let('col0', mul(min(tx, u32(tilesN - 1)), u32(TILE)));
  const row0 = b.let('row0', mul(by, u32(rowsPer)));
  const bases = batchBases(b, spec, z);
  const mine = b.let('lane8', mod(sg.lane, u32(8)));
  const myRows = Array.from({ length: rowsPer / 8 }, (_, q) =>
    b.let(`arow${q}`, add(bases.aBase, mul(min(add(row0, add(mine, u32(8 * q))), u32(M - 1)), u32(spec.a.outer)))));
  const cols = bd.bVec ? [] : [0, 1, 2, 3].map((c) => b.let(`bcol${c}`, add(bases.bBase, mul(min(add(col0, u32(c)), u32(N - 1)), u32(spec.b.inner)))));
  const bRow = bRowOf(spec, bd, bases.bBase, col0, cols);
  const acc: LValue<'vec4<f32>'>[] = Array.from({ length: rowsPer }, (_, r) => b.var(`acc${r}`, vec4('f32', f32(0))));
  b.for('k', u32(0), u32(K), (lb, k) => {
    const loaded = myRows.map((r, q) => lb.let(`am${q}`, ld4(bd.A, div4(add(r, k)))));
    const av = acc.map((_, r) => lb.let(`av${r}`, sg.broadcast(loaded[r >> 3]!, r & 7)));
    for (let kk = 0; kk < 4; kk++) {
      const bv = bRow(lb, add(k, u32(kk)));
      acc.forEach((a, r) => lb.set(a, fma(vec4('f32', lane(av[r]!, kk as 0 | 1 | 2 | 3)), bv, a)));
    }
  }, 4);
  b.if(lt(tx, u32(tilesN)), (sb) => storeRows(sb, spec, bd, acc, row0, col0, z, bases.cBase));
}

/** The split form: S invocations of a workgroup take every S-th k (every S-th group of 4 where A is vec4) of the
 *  same 4x4 tile; slice 0 sums the partial tiles from workgroup memory and stores. `withSubgroups`: the shader for
 *  devices with subgroups, which on subgroups under 16 lanes (CPU adapters) does instead what the unsplit forms
 *  would, each invocation of the grid standing for one of theirs (the subgroup form's where it applies). */
function splitGemm(spec: GemmSpec, S: number, withSubgroups: boolean): { shader: string; workgroups: [number, number, number] } {
  const { M, N } = spec;
  const s = new ShaderBuilder();
  const bd = bindings(spec, s);
  const T = GEMM_SPLIT_THREADS / S;
  const tilesN = Math.ceil(N / TILE), tilesM = Math.ceil(M / TILE), tiles = tilesN * tilesM, batch = prod(spec.batchDims);
  const li = s.builtin('local_invocation_index', 'u32'), wid = s.builtin('workgroup_id', 'vec3<u32>');
  const red = s.workgroupArray('partial', 'vec4<f32>', GEMM_SPLIT_THREADS * TILE);
  const sgForm = withSubgroups && M >= 8 && bd.aVec;
  // the unsplit stand-in's invocations: the subgroup form's (rows of SG_WG lanes per block of rows) or one per tile
  const sgX = Math.ceil(tilesN / SG_WG) * SG_WG, standIns = sgForm ? sgX * Math.ceil(M / sgRows(M)) : tiles;
  const groupsX = Math.max(Math.ceil(tiles / T), withSubgroups ? Math.ceil(standIns / GEMM_SPLIT_THREADS) : 0);
  s.main([GEMM_SPLIT_THREADS, 1, 1], (b) => {
    const z = lane(wid, 1);
    if (withSubgroups) {
      s.diagnosticOff('subgroup_uniformity');
      const size = s.builtin('subgroup_size', 'u32');
      b.if(lt(size, u32(16)), (cb) => {
        const g = cb.let('g', add(mul(lane(wid, 0), u32(GEMM_SPLIT_THREADS)), li));
        // no return inside: a non-uniform return would put the split form's barrier under non-uniform control;
        // stand-ins past the last skip the work, in whole subgroups (sgX and the workgroup are multiples of 8)
        cb.if(lt(g, u32(standIns)), (wb) => {
          if (sgForm) subgroupBlock(wb, s, spec, bd, modU(g, sgX), div(g, sgX), z);
          else plainTile(wb, spec, bd, modU(g, tilesN), div(g, tilesN), z);
        });
        cb.return();
      });
    }
    // no early return: every invocation reaches the barrier; those past the last tile compute it again
    const slice = b.let('slice', div(li, T)), t = b.let('t', modU(li, T));
    const tr = b.let('tr', add(mul(lane(wid, 0), u32(T)), t));
    const valid = b.let('valid', lt(tr, u32(tiles)));
    const tile = b.let('tile', min(tr, u32(tiles - 1)));
    const col0 = b.let('col0', mul(modU(tile, tilesN), u32(TILE))), row0 = b.let('row0', mul(div(tile, tilesN), u32(TILE)));
    const bases = batchBases(b, spec, z);
    const acc = tileProduct(b, spec, bd, bases, row0, col0, bd.aVec ? mul(slice, u32(4)) : slice, (bd.aVec ? 4 : 1) * S);
    // partial tiles of slice q at [(q * T + t) * 4 + r]; slice 0 adds the others' and stores
    acc.forEach((a, r) => b.set(red.at(add(mul(li, u32(TILE)), u32(r))), a));
    b.barrier();
    b.if(and(eq(slice, u32(0)), valid), (sb) => {
      for (let q = 1; q < S; q++) acc.forEach((a, r) => sb.set(a, add(a, red.at(add(mul(add(u32(q * T), t), u32(TILE)), u32(r))) as Expr<'vec4<f32>'>)));
      storeRows(sb, spec, bd, acc, row0, col0, z, bases.cBase);
    });
  });
  return { shader: s.print(), workgroups: [groupsX, Math.max(1, batch), 1] };
}
const div = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? a : { type: 'u32', node: { kind: 'bin', op: '/', a: a.node, b: u32(k).node } });
const modU = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? u32(0) : mod(a, u32(k)));

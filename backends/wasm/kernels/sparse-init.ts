// The weights region stored sparse (lowering/sparse-weights.ts) and expanded inside the module: weights.bin (or the
// data segment) holds the dense runs and the compressed tensors; run() first calls an init function, once, that
// copies the runs and expands the compressed tensors into the dense region at the offsets the kernels were
// planned with. The runtime's loader is unchanged: it copies weights.bin to manifest.weights.offset as before.
// That stored copy is dead once expanded, so it is placed where memory is reused (placeStored): in the arena
// (free before the first run but for the inputs) and inside the dense region itself, each piece where the
// expansion reads it before writing over it; memory is then the arena and the dense region, as for a dense build.
// Float32 tensors that are exactly int4 blocks times a scale (a constant-folded int4 DequantizeLinear) are stored
// packed the same way and dequantised by the init function (lowering/int4-weights.ts, int4-init.ts); float32 tensors
// float16 holds exactly (a float16 model's weights) as float16 bits, widened by it (lowering/f16-weights.ts, f16-init.ts).

import binaryen from '../binaryen.js';
import { alignUp } from '../../../lowering/buffer-plan.js';
import type { LoweringPlan, PackedRef } from '../../../lowering/plan.js';
import { tensorBytes } from '../../../lowering/weights.js';
import { compressWords, worthCompressing } from '../../../lowering/sparse-weights.js';
import { assertNever } from '../../../ir/errors.js';
import { sizeOf } from '../../../ir/tensor.js';
import { isSparsePacking, sparseDecision, type SparseDecision } from './sparse-matmul.js';
import { swizzleTable, TABLE_BYTES } from './sparse-nm.js';
import { int4Form, type Int4Form } from '../../../lowering/int4-weights.js';
import { addInt4Expand, INT4_EXPAND } from './int4-init.js';
import { f16Form } from '../../../lowering/f16-weights.js';
import { addF16Expand, F16_EXPAND } from './f16-init.js';

/** A tensor stored sparse: which constant (or which node's pre-packed operand), and its sizes. */
export interface SparseEntry {
  readonly label: string;
  readonly denseBytes: number;
  readonly storedBytes: number;
  /** 'densified': expanded at load into the dense region the dense kernel reads; 'sparse-kernel': read in its
   *  compressed form by the sparse MatMul/Gemm kernel (sparse-matmul.ts; denseBytes is the B it replaced). */
  readonly use: 'densified' | 'sparse-kernel';
}

export interface StoredWeights {
  /** What weights.bin (or the data segment) holds. */
  readonly bytes: Uint8Array;
  /** Where `bytes` go in linear memory (manifest.weights.offset): possibly inside the arena or the dense region. */
  readonly offset: number;
  /** End of everything the weights take in memory. */
  readonly end: number;
  readonly entries: readonly SparseEntry[];
  /** Emits the init function and its guard; returns the expression run() starts with (undefined: nothing to do). */
  readonly emitInit: (m: binaryen.Module) => binaryen.ExpressionRef | undefined;
}

const STORED_ALIGN = 16;

/** Where the stored copy may go besides after the dense region: the lowest address it may take (the arena's start)
 *  and the address ranges [lo, hi) written before the first run (the inputs), which it must not overlap. */
export interface StoredPlacement {
  readonly lowest: number;
  readonly live: readonly (readonly [number, number])[];
}

/** One piece of the stored form: at `src` (from the stored region's start), `len` bytes (padding included). Init
 *  may read it in place from `lower` (an absolute address: its own expansion reads every byte before writing over
 *  it, and every earlier one writes below it) up to `upper` (its end; unbounded when absent). */
export interface Piece { readonly src: number; readonly len: number; readonly lower: number; readonly upper?: number }
/** A piece while the stored form is built: its bytes, and its place once the pieces are ordered. */
interface Stored extends Piece { readonly bytes: Uint8Array; src: number; readonly outOfPlace: boolean }

/** The lowest 16-aligned address of the stored region at which every piece lies in the arena (below `base`, clear
 *  of the live ranges), past the dense region (from `apart`, where init writes nothing), or in place (within its
 *  bounds); `apart` when no lower one does. The feasible addresses of each piece are a union of intervals, so the
 *  lowest feasible one is the left end of one of them: each is tried in order. */
export function placeStored(pieces: readonly Piece[], base: number, apart: number, place: StoredPlacement): number {
  const lowest = alignUp(place.lowest, STORED_ALIGN);
  const inArena = (a: number, z: number): boolean => a >= lowest && z <= base && place.live.every(([lo, hi]) => z <= lo || a >= hi);
  const fits = (x: number): boolean => pieces.every((p) => {
    const a = x + p.src, z = a + p.len;
    return a >= apart || (a >= p.lower && z <= (p.upper ?? Infinity)) || inArena(a, z);
  });
  const starts = [lowest, apart, ...place.live.map(([, hi]) => alignUp(hi, STORED_ALIGN))];
  const candidates = new Set<number>([lowest]);
  for (const p of pieces) {
    candidates.add(alignUp(p.lower, STORED_ALIGN) - p.src);
    for (const s of starts) candidates.add(s - p.src);
  }
  for (const x of [...candidates].filter((x) => x >= lowest && x < apart).sort((a, b) => a - b)) if (fits(x)) return x;
  return apart;
}

/** Labels of placed tensors by dense offset: a node's pre-packed operand by the node, a constant by its name. */
function labels(plan: LoweringPlan<never, unknown>): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of plan.nodes) {
    const d = sparseDecision(p.node);
    const why = !d || d.kernel !== 'dense' ? ''
      : d.larger ? `; ${d.pattern}: dense kernel (CSC measured ${d.ratio!.toFixed(2)}x, but its form of B is larger than the compressed one)`
        : `; ${d.pattern}: dense kernel ${d.ratio === undefined ? '(sparse unmeasured)' : `faster (sparse measured ${d.ratio.toFixed(2)}x)`}`;
    for (const t of p.packed) out.set(t.offset, `${p.node.name} (packed${why})`);
  }
  for (const name of plan.prepared.constants.keys()) { const o = plan.weights.offsetOf(name); if (o !== undefined && !out.has(o)) out.set(o, name); }
  return out;
}

/** The stored form of `plan`'s weights region placed at `base`; `enabled: false` (or nothing sparse) stores it as is.
 *  With `place`, the stored copy goes where placeStored finds room; without, just past the dense region. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function storeWeights(plan: LoweringPlan<any, any>, base: number, enabled: boolean, place?: StoredPlacement): StoredWeights {
  const layout = plan.weights;
  const dense = layout.contents();
  const placed = layout.placed();
  const sparse = placed.map((e) => enabled && worthCompressing(e.bytes));
  const int4 = placed.map((e, i): Int4Form | undefined => (enabled && !sparse[i] ? int4Form(e.bytes) : undefined));
  const half = placed.map((e, i): Uint16Array | undefined => (enabled && !sparse[i] && !int4[i] ? f16Form(e.bytes) : undefined));
  // the N:M kernel's swizzle table (sparse-nm.ts) is one per node in the region: stored once, copied at load
  const table = swizzleTable();
  const isTable = (b: Uint8Array): boolean => b.length === TABLE_BYTES && b.every((x, i) => x === table[i]);
  let firstTable = -1;
  const dup = placed.map((e, i) => {
    if (!enabled || sparse[i] || int4[i] || half[i] || !isTable(e.bytes)) return undefined;
    if (firstTable < 0) { firstTable = e.offset; return undefined; }
    return firstTable;
  });
  // CSC forms built at load (sparse-matmul.ts cscAtLoad): starts, indices, values stored as zeros (masks only in the
  // bitmask form), B by column stored compressed; csc_build fills them once everything is expanded. Subgraph
  // bodies share the weights region, so their nodes count too.
  /** `piece`: B by column in the bitmask form, when csc_mask reads it there instead of B being expanded first (K a
   *  multiple of 32: a mask group lies inside one column). */
  const cscOps: { starts: number; idx: number; vals: number; b: number; K: number; N: number; piece?: Stored }[] = [];
  const atLoad = new Set<number>();
  /** The placeholders csc_build fills: the dense region is fresh (zeroed) memory, so they are not stored at all. */
  const zeros = new Set<number>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const walk = (pl: LoweringPlan<any, any>): void => {
    for (const p of pl.nodes) {
      const pk = p.packed as readonly PackedRef[];
      if (pk.length === 4 && pk.map((t) => t.dtype).join(',') === 'int32,uint16,float32,float32') {
        cscOps.push({ starts: pk[0]!.offset, idx: pk[1]!.offset, vals: pk[2]!.offset, b: pk[3]!.offset, N: pk[3]!.dims[0]!, K: pk[3]!.dims[1]! });
        for (const t of pk) atLoad.add(t.offset);
        for (const t of pk.slice(0, 3)) zeros.add(t.offset);
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      for (const b of (p.bodies ?? []) as LoweringPlan<any, any>[]) walk(b);
    }
  };
  walk(plan);
  const storedSize = (b: Uint8Array): number => (enabled && worthCompressing(b) ? compressWords(b).length : b.length);
  const placeholder = placed.map((e, i) => sparse[i]! && zeros.has(e.offset));
  const kernelEntries: SparseEntry[] = plan.nodes.filter((p) => isSparsePacking(p.packed)).map((p) => ({
    label: `${p.node.name} (${kernelLabel(sparseDecision(p.node))})`, denseBytes: sizeOf(p.node.inputs[1] ? plan.valueRef(p.node.inputs[1]).dims : []) * 4,
    // the shared table is not this layer's
    storedBytes: (p.packed as readonly PackedRef[]).reduce((s, t) => s + (isTable(tensorBytes(t.constant)) || (enabled && zeros.has(t.offset)) ? 0 : atLoad.has(t.offset) ? storedSize(tensorBytes(t.constant)) : tensorBytes(t.constant).length), 0), use: 'sparse-kernel' as const,
  }));
  if (!sparse.some(Boolean) && !int4.some(Boolean) && !half.some(Boolean) && !dup.some((d) => d !== undefined) && !cscOps.length) return { bytes: dense, offset: base, end: base + dense.length, entries: kernelEntries, emitInit: () => undefined };
  // runs of dense tensors are stored as the dense bytes between them (padding included), copied with one memory.copy
  const ops: ({ kind: 'copy'; dst: number; piece: Stored; bytes: number } | { kind: 'expand'; dst: number; piece: Stored; words: number }
    | { kind: 'int4'; dst: number; piece: Stored; form: Int4Form } | { kind: 'f16'; dst: number; piece: Stored; count: number }
    | { kind: 'dup'; dst: number; from: number; bytes: number } | { kind: 'zero'; dst: number; bytes: number })[] = [];
  const entries: SparseEntry[] = [...kernelEntries];
  const name = labels(plan);
  const pieces: Stored[] = [];
  // where init may read the piece in place, relative to base (see Piece); its place in the stored form comes later
  const put = (b: Uint8Array, lower: number, upper?: number, outOfPlace = false): Stored => {
    const p: Stored = { bytes: b, src: 0, len: alignUp(b.length, STORED_ALIGN), lower: base + lower, outOfPlace: outOfPlace || upper !== undefined, ...(upper === undefined ? {} : { upper: base + upper }) };
    pieces.push(p);
    return p;
  };
  for (let i = 0; i < placed.length;) {
    const e = placed[i]!;
    const first = dup[i];
    if (first !== undefined) {
      // an earlier op (in offset order) has already written the first copy
      ops.push({ kind: 'dup', dst: e.offset, from: first, bytes: e.bytes.length });
      i++;
      continue;
    }
    const f = int4[i];
    if (f) {
      // read while its elements are written, out of place: above its own dense bytes
      ops.push({ kind: 'int4', dst: e.offset, piece: put(f.bytes, e.offset + e.bytes.length, undefined, true), form: f });
      entries.push({ label: `${name.get(e.offset) ?? `weights@${e.offset}`} (int4 blocks of ${f.block})`, denseBytes: e.bytes.length, storedBytes: f.bytes.length, use: 'densified' });
      i++;
      continue;
    }
    const h = half[i];
    if (h) {
      // widened front to back: element i's four bytes land below the halves not read yet when the stored halves end
      // at or past the dense tensor's end (f16-init.ts)
      ops.push({ kind: 'f16', dst: e.offset, piece: put(new Uint8Array(h.buffer), e.offset + h.byteLength), count: h.length });
      entries.push({ label: `${name.get(e.offset) ?? `weights@${e.offset}`} (float16)`, denseBytes: e.bytes.length, storedBytes: h.byteLength, use: 'densified' });
      i++;
      continue;
    }
    if (placeholder[i]) {
      // csc_build/csc_mask write it whole (its last slot included) once zeroed
      ops.push({ kind: 'zero', dst: e.offset, bytes: e.bytes.length });
      i++;
      continue;
    }
    const direct = sparse[i] ? cscOps.find((c) => c.b === e.offset && c.K % 32 === 0) : undefined;
    if (direct) {
      // B by column stays in its stored form: csc_mask reads the masks and values there (no expansion), after every
      // expansion, so in place only within B's own dense bytes, which nothing else writes
      direct.piece = put(compressWords(e.bytes), e.offset, e.offset + e.bytes.length);
      i++;
      continue;
    }
    if (sparse[i]) {
      const c = compressWords(e.bytes);
      ops.push({ kind: 'expand', dst: e.offset, piece: put(c, e.offset + e.bytes.length, undefined, true), words: e.bytes.length / 4 });
      // a CSC-at-load layer's parts are counted in its sparse-kernel entry
      if (!atLoad.has(e.offset)) entries.push({ label: name.get(e.offset) ?? `weights@${e.offset}`, denseBytes: e.bytes.length, storedBytes: c.length, use: 'densified' });
      i++;
      continue;
    }
    let j = i;
    while (j < placed.length && !sparse[j] && !int4[j] && !half[j] && dup[j] === undefined) j++;
    const from = e.offset, to = placed[j - 1]!.offset + placed[j - 1]!.bytes.length;
    // memory.copy moves overlapping bytes correctly when the source is at or above the destination
    ops.push({ kind: 'copy', dst: from, piece: put(dense.subarray(from, to), from), bytes: to - from });
    i = j;
  }
  // in the order of their bounds, so that each can lie in place; or those read only out of place (expansions other
  // than float16's) first, for the arena, when that ends lower
  const apart = alignUp(base + dense.length, STORED_ALIGN);
  const byLower = [...pieces].sort((a, b) => a.lower - b.lower);
  const orders = [byLower, [...byLower.filter((p) => p.outOfPlace), ...byLower.filter((p) => !p.outOfPlace)]];
  const laidOut = (order: readonly Stored[]): number => {
    let at = 0;
    for (const p of order) { p.src = at; at += p.len; }
    const x = place ? placeStored(order, base, apart, place) : apart;
    return Math.max(apart, x + at) * 2 + (x < apart ? 0 : 1);
  };
  const best = place && pieces.some((p) => p.outOfPlace) && laidOut(orders[1]!) < laidOut(orders[0]!) ? orders[1]! : orders[0]!;
  laidOut(best);
  const offset = place ? placeStored(best, base, apart, place) : apart;
  const bytes = new Uint8Array(best.reduce((n, p) => n + p.len, 0));
  for (const p of best) bytes.set(p.bytes, p.src);
  // after init, memory must read as if the stored copy had never been there: the dense bytes no op writes (padding,
  // the CSC placeholders, B read from its stored form, a sparse tensor's zeros) and the arena are zeroed where it lay
  const span: [number, number] = [offset, offset + bytes.length];
  const clip = (lo: number, hi: number): [number, number] | undefined => {
    const a = Math.max(lo, span[0]), z = Math.min(hi, span[1]);
    return a < z ? [a, z] : undefined;
  };
  const written = ops.map((op) => [op.dst, op.dst + (op.kind === 'f16' ? 4 * op.count : op.kind === 'int4' ? 4 * op.form.elements : op.kind === 'expand' ? 4 * op.words : op.bytes)] as const)
    .sort((a, b) => a[0] - b[0]);
  const unwritten: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of [...written, [dense.length, dense.length] as const]) {
    const r = lo > next ? clip(base + next, base + lo) : undefined;
    if (r) unwritten.push(r);
    next = Math.max(next, hi);
  }
  const arenaPart = clip(span[0], base);
  return {
    bytes, offset, end: Math.max(base + dense.length, offset + bytes.length), entries,
    emitInit(m) {
      if (ops.some((op) => op.kind === 'expand')) addExpand(m);
      if (ops.some((op) => op.kind === 'int4')) addInt4Expand(m);
      if (ops.some((op) => op.kind === 'f16')) addF16Expand(m);
      if (cscOps.some((c) => c.piece === undefined)) addCsc(m, false);
      if (cscOps.some((c) => c.piece !== undefined)) addCsc(m, true);
      const fill = (r: readonly [number, number] | undefined): binaryen.ExpressionRef[] => (r ? [m.memory.fill(m.i32.const(r[0]), m.i32.const(0), m.i32.const(r[1] - r[0]))] : []);
      const body = ops.flatMap((op): binaryen.ExpressionRef[] => {
        const dst = base + op.dst;
        switch (op.kind) {
          case 'copy': return [m.memory.copy(m.i32.const(dst), m.i32.const(offset + op.piece.src), m.i32.const(op.bytes))];
          case 'dup': return [m.memory.copy(m.i32.const(dst), m.i32.const(base + op.from), m.i32.const(op.bytes))];
          case 'f16': return [m.call(F16_EXPAND, [dst, offset + op.piece.src, op.count].map((v) => m.i32.const(v)), binaryen.none)];
          case 'int4': return [m.call(INT4_EXPAND, [dst, offset + op.piece.src, offset + op.piece.src + op.form.scalesAt, op.form.elements, Math.log2(op.form.block)].map((v) => m.i32.const(v)), binaryen.none)];
          // sparse_expand writes the non-zero words only
          case 'expand': return [...fill(clip(dst, dst + 4 * op.words)), m.call(EXPAND, [dst, offset + op.piece.src, op.words].map((v) => m.i32.const(v)), binaryen.none)];
          case 'zero': return fill(clip(dst, dst + op.bytes));
          default: return assertNever(op);
        }
      });
      // after every expansion: B by column is in place
      for (const c of cscOps) {
        body.push(c.piece === undefined
          ? m.call(CSC_BUILD, [base + c.starts, base + c.idx, base + c.vals, base + c.b, c.K, c.N].map((x) => m.i32.const(x)), binaryen.none)
          : m.call(CSC_MASK, [base + c.starts, base + c.idx, base + c.vals, offset + c.piece.src, c.K, c.N].map((x) => m.i32.const(x)), binaryen.none));
      }
      // then the rest, csc_mask's stored B included
      body.push(...unwritten.flatMap(fill), ...fill(arenaPart));
      m.addGlobal(READY, binaryen.i32, true, m.i32.const(0));
      m.addFunction(INIT, binaryen.none, binaryen.none, [], m.block(null, [...body, m.global.set(READY, m.i32.const(1))]));
      return m.if(m.i32.eqz(m.global.get(READY, binaryen.i32)), m.call(INIT, [], binaryen.none));
    },
  };
}

const EXPAND = 'sparse_expand', INIT = 'weights_init', READY = 'weights_ready', CSC_BUILD = 'csc_build', CSC_MASK = 'csc_mask';

/** csc_build(starts, idx, vals, src, K, N) and csc_mask (same parameters): B by column into the CSC kernel's form,
 *  as packCsc builds it at compile time: per column n, starts[n], then each weight that is not zero (f32.ne: -0 is
 *  zero, NaN kept) as its u16 input index and value; starts[N] = the count. csc_build reads B expanded at src
 *  ([N][K] float32); csc_mask reads it in the bitmask form at src (compressWords: ceil(N*K/32) masks, then the
 *  non-zero words in order), K a multiple of 32 so that a mask group lies inside one column: each set bit (lowest
 *  first, via ctz) is input index 32g + bit and the next stored value. Both branch-free (about half the weights are
 *  zero, in no order): every candidate is written at p, and p moves on past the kept ones only (the placeholders
 *  hold one slot more than the count for the last dropped one's write). */
function addCsc(m: binaryen.Module, fromMask: boolean): void {
  const i32 = binaryen.i32, f32 = binaryen.f32;
  // mp: the next word of B (csc_build) or the next mask (csc_mask); q: csc_mask's next stored value; k: the input
  // index (csc_mask: of the mask group's first bit)
  const [starts, idx, vals, src, K, N, n, p, k, mp, q, mask] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], v = 12;
  const get = (l: number): binaryen.ExpressionRef => m.local.get(l, i32);
  const c = (x: number): binaryen.ExpressionRef => m.i32.const(x);
  const add = (l: number, x: number): binaryen.ExpressionRef => m.local.set(l, m.i32.add(get(l), c(x)));
  const loop = (name: string, exit: binaryen.ExpressionRef, body: binaryen.ExpressionRef[]): binaryen.ExpressionRef =>
    m.block(`${name}_done`, [m.loop(name, m.block(null, [m.br(`${name}_done`, exit), ...body, m.br(name)]))]);
  // one candidate: input index `at`, its value in v
  const entry = (at: binaryen.ExpressionRef): binaryen.ExpressionRef[] => [
    m.i32.store16(0, 2, m.i32.add(get(idx), m.i32.shl(get(p), c(1))), at),
    m.f32.store(0, 4, m.i32.add(get(vals), m.i32.shl(get(p), c(2))), m.local.get(v, f32)),
    m.local.set(p, m.i32.add(get(p), m.f32.ne(m.local.get(v, f32), m.f32.const(0)))),
  ];
  const column = fromMask
    ? loop('groups', m.i32.ge_u(get(k), get(K)), [
      m.local.set(mask, m.i32.load(0, 4, get(mp))),
      loop('bits', m.i32.eqz(get(mask)), [
        m.local.set(v, m.f32.load(0, 4, get(q))),
        ...entry(m.i32.add(get(k), m.i32.ctz(get(mask)))),
        add(q, 4),
        m.local.set(mask, m.i32.and(get(mask), m.i32.sub(get(mask), c(1)))),
      ]),
      add(mp, 4), add(k, 32),
    ])
    : loop('rows', m.i32.ge_u(get(k), get(K)), [m.local.set(v, m.f32.load(0, 4, get(mp))), ...entry(get(k)), add(mp, 4), add(k, 1)]);
  const body = m.block(null, [
    m.local.set(mp, get(src)),
    // csc_mask: the values follow the masks
    ...(fromMask ? [m.local.set(q, m.i32.add(get(src), m.i32.shl(m.i32.shr_u(m.i32.add(m.i32.mul(get(N), get(K)), c(31)), c(5)), c(2))))] : []),
    m.local.set(p, c(0)), m.local.set(n, c(0)),
    loop('cols', m.i32.ge_u(get(n), get(N)), [
      m.i32.store(0, 4, m.i32.add(get(starts), m.i32.shl(get(n), c(2))), get(p)),
      m.local.set(k, c(0)), column, add(n, 1),
    ]),
    m.i32.store(0, 4, m.i32.add(get(starts), m.i32.shl(get(N), c(2))), get(p)),
  ]);
  m.addFunction(fromMask ? CSC_MASK : CSC_BUILD, binaryen.createType([i32, i32, i32, i32, i32, i32]), binaryen.none, [i32, i32, i32, i32, i32, i32, f32], body);
}

/** sparse_expand(dst, src, words): for each group of 32 words, its mask's set bits (lowest first, via ctz) say
 *  which dense words receive the next stored value; the others stay zero (the dense region is fresh memory). */
function addExpand(m: binaryen.Module): void {
  const i32 = binaryen.i32;
  const [dst, src, n, g, groups, vals, mask, base] = [0, 1, 2, 3, 4, 5, 6, 7];
  const get = (l: number): binaryen.ExpressionRef => m.local.get(l, i32);
  const c = (v: number): binaryen.ExpressionRef => m.i32.const(v);
  const body = m.block(null, [
    m.local.set(groups, m.i32.shr_u(m.i32.add(get(n), c(31)), c(5))),
    m.local.set(vals, m.i32.add(get(src), m.i32.shl(get(groups), c(2)))),
    m.local.set(g, c(0)),
    m.block('groups_done', [m.loop('groups', m.block(null, [
      m.br('groups_done', m.i32.ge_u(get(g), get(groups))),
      m.local.set(mask, m.i32.load(0, 4, m.i32.add(get(src), m.i32.shl(get(g), c(2))))),
      m.local.set(base, m.i32.add(get(dst), m.i32.shl(get(g), c(7)))),
      m.block('bits_done', [m.loop('bits', m.block(null, [
        m.br('bits_done', m.i32.eqz(get(mask))),
        m.i32.store(0, 4, m.i32.add(get(base), m.i32.shl(m.i32.ctz(get(mask)), c(2))), m.i32.load(0, 4, get(vals))),
        m.local.set(vals, m.i32.add(get(vals), c(4))),
        m.local.set(mask, m.i32.and(get(mask), m.i32.sub(get(mask), c(1)))),
        m.br('bits'),
      ]))]),
      m.local.set(g, m.i32.add(get(g), c(1))),
      m.br('groups'),
    ]))]),
  ]);
  m.addFunction(EXPAND, binaryen.createType([i32, i32, i32]), binaryen.none, [i32, i32, i32, i32, i32], body);
}

/** How a sparse-kernel layer runs, for its label: the kernel and the measurement that chose it. */
function kernelLabel(d: SparseDecision | undefined): string {
  if (!d) return 'sparse kernel';
  if (d.kernel === 'csc') return `CSC kernel${d.atLoad ? ' (its form built at load from the bitmask form)' : ''}${d.ratio === undefined ? '' : `, measured ${d.ratio.toFixed(2)}x dense at ${d.pattern}`}`;
  return `${d.pattern} kernel, ${d.nmKernel === 'rows' ? 'rows' : 'columns'} in lanes${d.ratio === undefined ? '' : `, measured ${d.ratio.toFixed(2)}x dense`}`;
}

/** `onnxc compile`'s report: one line saying which weights were stored sparse and which of them the sparse kernels
 *  read, then one line per layer on a sparse kernel or N:M-shaped but left dense (with the measured ratio). */
export function describeSparse(entries: readonly (readonly [string, number, number, string])[] | undefined): string | undefined {
  if (!entries?.length) return undefined;
  const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  const part = (use: string, what: string): string | undefined => {
    const es = entries.filter((e) => e[3] === use);
    if (!es.length) return undefined;
    const names = es.map((e) => e[0].replace(/ \(.*$/, ''));
    return `${es.length} ${what} (${kib(es.reduce((s, e) => s + e[1], 0))} -> ${kib(es.reduce((s, e) => s + e[2], 0))}: ${names.slice(0, 4).join(', ')}${names.length > 4 ? `, +${names.length - 4} more` : ''})`;
  };
  const head = [part('sparse-kernel', 'on a sparse kernel'), part('densified', 'stored compressed (sparse, int4 blocks or float16), densified at load')].filter(Boolean).join('; ');
  const layers = entries.filter((e) => e[3] === 'sparse-kernel' || /; [\d:%]+: dense kernel/.test(e[0])).map((e) => `\n  ${e[0]}`);
  return head + layers.join('');
}

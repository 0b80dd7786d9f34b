// The shared buffer planner: buffers alive at the same time never overlap, memory is reused when lifetimes are
// disjoint, the plan reports the live-bytes lower bound it is measured against, and it keeps the backend's
// alignment (wasm 16 bytes, WebGPU 256) and refuses buffers past its limits.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitError } from '../../ir/errors.js';
import { planArena as plan, type BufferLimits, type BufferReq } from '../../lowering/buffer-plan.js';

const WASM: BufferLimits = { align: 16 };
const planArena = (reqs: readonly BufferReq[], limits: BufferLimits = WASM): ReturnType<typeof plan> => plan(reqs, limits);

function overlaps(plan: ReturnType<typeof planArena>, reqs: readonly BufferReq[]): string | undefined {
  for (const a of reqs) for (const b of reqs) {
    if (a.id >= b.id || a.last < b.first || b.last < a.first) continue;
    const oa = plan.offsets.get(a.id)!, ob = plan.offsets.get(b.id)!;
    if (oa < ob + Math.max(b.bytes, 1) && ob < oa + Math.max(a.bytes, 1)) return `${a.id} and ${b.id}`;
  }
  return undefined;
}

describe('planArena', () => {
  it('reuses the memory of a dead buffer (a chain needs two buffers, not four)', () => {
    const reqs = [0, 1, 2, 3].map((k) => ({ id: `t${k}`, bytes: 1000, first: k, last: k + 1 }));
    const plan = planArena(reqs);
    expect(plan.arenaBytes).toBe(2 * 1008);
    expect(plan.lowerBoundBytes).toBe(2 * 1008);
    expect(plan.totalBytes).toBe(4 * 1008);
  });

  it('keeps buffers that are alive together apart (negative case: no reuse possible)', () => {
    const reqs = [0, 1, 2].map((k) => ({ id: `t${k}`, bytes: 64, first: 0, last: 5 }));
    const plan = planArena(reqs);
    expect(plan.arenaBytes).toBe(192);
    expect(overlaps(plan, reqs)).toBeUndefined();
  });

  it('never overlaps live buffers and stays within [lower bound, total] on random lifetimes', () => {
    const req = fc.record({ bytes: fc.integer({ min: 0, max: 5000 }), first: fc.integer({ min: 0, max: 20 }), len: fc.integer({ min: 0, max: 8 }) });
    fc.assert(fc.property(fc.array(req, { maxLength: 40 }), (rs) => {
      const reqs = rs.map((r, i) => ({ id: `b${String(i).padStart(2, '0')}`, bytes: r.bytes, first: r.first, last: r.first + r.len }));
      const plan = planArena(reqs);
      expect(overlaps(plan, reqs)).toBeUndefined();
      expect(plan.arenaBytes).toBeGreaterThanOrEqual(plan.lowerBoundBytes);
      expect(plan.arenaBytes).toBeLessThanOrEqual(plan.totalBytes);
      for (const o of plan.offsets.values()) expect(o % 16).toBe(0);
    }), { numRuns: 200 });
  });

  it('keeps a WebGPU-like 256-byte alignment for every offset and size', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 20 }), (sizes) => {
      const reqs = sizes.map((bytes, i) => ({ id: `b${String(i).padStart(2, '0')}`, bytes, first: i % 3, last: (i % 3) + 2 }));
      const p = planArena(reqs, { align: 256 });
      expect(overlaps(p, reqs)).toBeUndefined();
      for (const o of p.offsets.values()) expect(o % 256).toBe(0);
      expect(p.arenaBytes % 256).toBe(0);
    }), { numRuns: 100 });
  });

  it('refuses a buffer past maxBufferBytes with a LimitError naming value, node and limit', () => {
    const reqs = [{ id: 'small', bytes: 100, first: 0, last: 1 }, { id: 'huge', bytes: 5000, first: 1, last: 2, node: 'conv_7' }];
    let err: unknown;
    try { planArena(reqs, { align: 256, maxBufferBytes: 4096 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).limit).toBe('maxBufferBytes');
    expect((err as LimitError).describe()).toMatch(/node 'conv_7'.*value 'huge' needs 5000 bytes.*maxBufferBytes 4096/);
    // negative case: at the limit is fine
    expect(planArena([{ id: 'edge', bytes: 4096, first: 0, last: 0 }], { align: 256, maxBufferBytes: 4096 }).arenaBytes).toBe(4096);
  });

  it('refuses a plan whose arena exceeds maxArenaBytes', () => {
    const reqs = [0, 1].map((k) => ({ id: `t${k}`, bytes: 1000, first: 0, last: 1 }));
    expect(() => planArena(reqs, { align: 16, maxArenaBytes: 1500 })).toThrow(LimitError);
  });
});

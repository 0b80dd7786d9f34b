// The arena planner: buffers alive at the same time never overlap, memory is reused when lifetimes are
// disjoint, and the plan reports the live-bytes lower bound it is measured against.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planArena, type BufferReq } from '../../backends/wasm/memory-plan.js';

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
});

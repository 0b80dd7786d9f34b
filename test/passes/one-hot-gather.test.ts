// one-hot-gather against the reference interpreter: for generated labels (in range, negative, K and beyond; int64
// ones also past the int32 range, which a narrowing would wrap onto a row), arange lengths, leading shapes and
// weights (signed zeros included), the rewritten graph gives exactly the original's outputs; the int64 form on the
// wasm backend too, and only where the target runs its int64 Max/Min.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, getNumber } from '../../ir/tensor.js';
import type { Tensor } from '../../ir/tensor.js';
import { parseGraph } from '../../ir/text/index.js';
import { isTensor } from '../../ir/value.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext, type TargetQuery } from '../../passes/pass.js';
import { runWasm } from '../wasm/helpers.js';

const pass = getPass('one-hot-gather')!;

function oneHotGraph(lead: readonly number[], k: number, n: number, w: readonly number[], arangeLeft: boolean, dtype: 'int32' | 'int64' = 'int32'): string {
  const xs = [...lead, 1].join(','), ys = [...lead, n].join(',');
  const rdims = [...lead.map(() => 1), k].join(',');
  const eq = arangeLeft ? 'Equal(r, x)' : 'Equal(x, r)';
  return `graph g (x: ${dtype}[${xs}]) -> (y: float32[${ys}]) {
  const r: ${dtype}[${rdims}] = [${Array.from({ length: k }, (_, i) => i).join(', ')}]
  const w: float32[${k},${n}] = [${w.map((v) => (Object.is(v, -0) ? '-0.0' : String(v))).join(', ')}]
  e = ${eq} @eq
  c = Cast(e) @cast {saturate=1, round_mode="up", to=1}
  y = MatMul(c, w) @mm
}`;
}

const run = (g: ReturnType<typeof parseGraph>, x: Tensor): Tensor => {
  const [y] = runGraph(g, [x]);
  if (!y || !isTensor(y)) throw new Error('expected a tensor output');
  return y;
};

const cases = fc.record({
  lead: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 }),
  k: fc.integer({ min: 1, max: 6 }),
  n: fc.integer({ min: 1, max: 4 }),
  arangeLeft: fc.boolean(),
  int64: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1 << 30 }),
});

describe('one-hot-gather', () => {
  it('gives exactly the one-hot MatMul on the reference interpreter, labels out of range included', () => {
    fc.assert(fc.property(cases, ({ lead, k, n, arangeLeft, int64, seed }) => {
      let s = seed;
      const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const w = Array.from({ length: k * n }, () => { const r = rnd(); return r < 0.1 ? -0 : r < 0.2 ? 0 : Math.fround((r - 0.5) * 8); });
      const size = lead.reduce((a, b) => a * b, 1);
      const labels = Array.from({ length: size }, () => {
        const r = rnd();
        // int64: some labels 2^32 away from a row (int32 wrapping would land on it), and past 2^53
        if (int64 && r < 0.15) return BigInt(Math.floor(rnd() * k)) + (r < 0.07 ? 1n << 32n : -(1n << 60n));
        return Math.floor(rnd() * (k + 8)) - 4;
      });
      const g = inferGraph(parseGraph(oneHotGraph(lead, k, n, w, arangeLeft, int64 ? 'int64' : 'int32')));
      const out = pass.run(g, defaultContext());
      expect(out).not.toBe(g);
      verifyAfter(pass, g, out);
      expect(out.nodes.some((node) => node.op === 'Gather')).toBe(true);
      const x = int64 ? fromValues('int64', [...lead, 1], labels.map((v) => BigInt(v))) : fromValues('int32', [...lead, 1], labels.map(Number));
      const want = run(g, x), got = run(out, x);
      expect(got.dims).toEqual(want.dims);
      for (let i = 0; i < want.data.length; i++) expect(getNumber(got, i) === getNumber(want, i), `y[${i}]`).toBe(true);
    }), { numRuns: 60 });
  });

  it('labels outside [0, K) give a row of zeros, as the one-hot of nothing does', () => {
    const g = inferGraph(parseGraph(oneHotGraph([5], 3, 2, [1, 2, 3, 4, 5, 6], false)));
    const out = pass.run(g, defaultContext());
    const y = run(out, fromValues('int32', [5, 1], [-1, 3, 2, -2147483648, 2147483647]));
    expect(Array.from(y.data as Float32Array)).toEqual([0, 0, 0, 0, 5, 6, 0, 0, 0, 0]);
  });

  it('is idempotent and leaves a backend without Gather alone', () => {
    const g = inferGraph(parseGraph(oneHotGraph([2], 3, 2, [1, 2, 3, 4, 5, 6], false)));
    const once = pass.run(g, defaultContext());
    expect(pass.run(once, defaultContext())).toBe(once);
    expect(pass.run(g, defaultContext({ supportedOps: new Set(['Equal', 'Cast', 'MatMul', 'Squeeze', 'Clip']) }))).toBe(g);
  });

  it('int64 labels on the wasm backend: the one-hot MatMul\'s outputs, labels 2^32 and 2^60 away from a row included', () => {
    const w = [1, 2, 3, 4, 5, 6, 7, 8];
    const g = inferGraph(parseGraph(oneHotGraph([7], 4, 2, w, false, 'int64')));
    const out = pass.run(g, defaultContext());
    expect(out.nodes.map((node) => node.op)).toContain('Gather');
    const x = fromValues('int64', [7, 1], [0n, 3n, 4n, -1n, (1n << 32n) + 1n, -(1n << 60n) + 2n, 2n]);
    const [y] = runWasm(out, [x]);
    const want = run(g, x);
    expect(Array.from(y!.data as Float32Array).map((v, i) => v === getNumber(want, i))).not.toContain(false);
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 2, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6]);
  });

  it('int64 labels only where the backend runs the int64 clamp: not without Max/Min, not where the target refuses it', () => {
    const g64 = inferGraph(parseGraph(oneHotGraph([2], 3, 2, [1, 2, 3, 4, 5, 6], false, 'int64')));
    const g32 = inferGraph(parseGraph(oneHotGraph([2], 3, 2, [1, 2, 3, 4, 5, 6], false)));
    const noMinMax = defaultContext({ supportedOps: new Set(['Equal', 'Cast', 'MatMul', 'Squeeze', 'Clip', 'Gather']) });
    expect(pass.run(g64, noMinMax)).toBe(g64);
    expect(pass.run(g32, noMinMax)).not.toBe(g32);
    const target: TargetQuery = {
      name: 'int32-only',
      refusal: (node, graph) => {
        const t = graph.types.get(node.inputs[0]!);
        return t?.kind === 'tensor' && t.dtype === 'int64' ? { reason: 'dtype', detail: 'no int64', dtype: 'int64' } : undefined;
      },
    };
    expect(pass.run(g64, defaultContext({ target }))).toBe(g64);
    expect(pass.run(g32, defaultContext({ target }))).not.toBe(g32);
  });
});

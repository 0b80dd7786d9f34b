// one-hot-gather against the reference interpreter: for generated labels (in range, negative, K and beyond), arange
// lengths, leading shapes and weights (signed zeros included), the rewritten graph gives exactly the original's
// outputs.

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
import { defaultContext } from '../../passes/pass.js';

const pass = getPass('one-hot-gather')!;

function oneHotGraph(lead: readonly number[], k: number, n: number, w: readonly number[], arangeLeft: boolean): string {
  const xs = [...lead, 1].join(','), ys = [...lead, n].join(',');
  const rdims = [...lead.map(() => 1), k].join(',');
  const eq = arangeLeft ? 'Equal(r, x)' : 'Equal(x, r)';
  return `graph g (x: int32[${xs}]) -> (y: float32[${ys}]) {
  const r: int32[${rdims}] = [${Array.from({ length: k }, (_, i) => i).join(', ')}]
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
  seed: fc.integer({ min: 0, max: 1 << 30 }),
});

describe('one-hot-gather', () => {
  it('gives exactly the one-hot MatMul on the reference interpreter, labels out of range included', () => {
    fc.assert(fc.property(cases, ({ lead, k, n, arangeLeft, seed }) => {
      let s = seed;
      const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const w = Array.from({ length: k * n }, () => { const r = rnd(); return r < 0.1 ? -0 : r < 0.2 ? 0 : Math.fround((r - 0.5) * 8); });
      const size = lead.reduce((a, b) => a * b, 1);
      const labels = Array.from({ length: size }, () => Math.floor(rnd() * (k + 8)) - 4);
      const g = inferGraph(parseGraph(oneHotGraph(lead, k, n, w, arangeLeft)));
      const out = pass.run(g, defaultContext());
      expect(out).not.toBe(g);
      verifyAfter(pass, g, out);
      expect(out.nodes.some((node) => node.op === 'Gather')).toBe(true);
      const x = fromValues('int32', [...lead, 1], labels);
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
});

// layout-nhwc through the view ops (Squeeze, Unsqueeze, Reshape that merges adjacent axes): generated Conv nets with
// a view and a Relu after the conv (the graph output: a transpose back where the view left a permuted layout) give
// bit-identical outputs on the reference backend; and the rules' layout arithmetic.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../../backends/reference/interpreter.js';
import { fromValues, sizeOf, type Tensor } from '../../../ir/tensor.js';
import { parseGraph } from '../../../ir/text/index.js';
import { inferGraph } from '../../../ops/infer-graph.js';
import { layoutNhwc } from '../../../passes/layout/index.js';
import { mergeGroups, unsqueezePerm } from '../../../passes/layout/rules.js';
import { verifyAfter } from '../../../passes/manager.js';
import { defaultContext } from '../../../passes/pass.js';

type View = { op: 'Squeeze' | 'Unsqueeze'; axes: number[] } | { op: 'Reshape'; groups: number[][] };

const dims = fc.record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 3 }), w: fc.integer({ min: 1, max: 3 }) });

/** A view of a [n, c, h, w] value: squeeze some unit axes, unsqueeze at 1-2 places, or merge adjacent runs. */
const view = (shape: readonly number[]): fc.Arbitrary<View> => {
  const units = shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  const options: fc.Arbitrary<View>[] = [
    fc.uniqueArray(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 2, selector: (a) => (a < 0 ? a + 6 : a) })
      .filter((axes) => axes.every((a) => a !== 5 && a !== -6) || axes.length === 2)
      .map((axes) => ({ op: 'Unsqueeze' as const, axes })),
    fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }).map((cuts) => {
      const groups: number[][] = [[0]];
      cuts.forEach((cut, k) => { if (cut) groups.push([k + 1]); else groups[groups.length - 1]!.push(k + 1); });
      return { op: 'Reshape' as const, groups };
    }),
  ];
  if (units.length > 0) options.push(fc.subarray(units, { minLength: 1 }).map((axes) => ({ op: 'Squeeze' as const, axes })));
  return fc.oneof(...options);
};

function viewGraph(s: { n: number; c: number; h: number; w: number }, v: View): string {
  const x = [s.n, s.c, s.h, s.w];
  const wts = Array.from({ length: s.c * s.c }, (_, i) => ((i * 5) % 7) / 4 - 0.75);
  const lines = [`  const w1: float32[${s.c},${s.c},1,1] = [${wts.join(', ')}]`, `  a = Conv(x, w1) @c1 {auto_pad="NOTSET", group=1, kernel_shape=[1, 1]}`];
  if (v.op === 'Reshape') {
    const shape = v.groups.map((g) => g.reduce((p, a) => p * x[a]!, 1));
    lines.push(`  const shape: int64[${shape.length}] = [${shape.join(', ')}]`, '  v = Reshape(a, shape) @view {allowzero=0}');
  } else {
    lines.push(`  const axes: int64[${v.axes.length}] = [${v.axes.join(', ')}]`, `  v = ${v.op}(a, axes) @view`);
  }
  lines.push('  y = Relu(v) @relu');
  return `graph g (x: float32[${x.join(',')}]) -> (y) {\n${lines.join('\n')}\n}`;
}

describe('layout-nhwc through Squeeze, Unsqueeze and merging Reshapes', () => {
  it('gives bit-identical outputs and is idempotent on generated conv + view graphs', () => {
    const cases = dims.chain((s) => fc.tuple(fc.constant(s), view([s.n, s.c, s.h, s.w])));
    fc.assert(fc.property(cases, ([s, v]) => {
      const g = inferGraph(parseGraph(viewGraph(s, v)));
      const out = layoutNhwc.run(g, defaultContext());
      if (out !== g) verifyAfter(layoutNhwc, g, out);
      let k = 0;
      const x: Tensor = fromValues('float32', [s.n, s.c, s.h, s.w], Array.from({ length: sizeOf([s.n, s.c, s.h, s.w]) }, () => ((k++ * 7) % 17) / 8 - 1));
      const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
      expect(layoutNhwc.run(out, defaultContext())).toBe(out);
    }), { numRuns: 150 });
  });

  it('unsqueezePerm keeps the stored order of the old axes and makes NHWC when it can', () => {
    // [N,C,L] stored NLC, unsqueezed at the end: NHWC
    expect(unsqueezePerm([0, 2, 1], [3])).toEqual([0, 2, 3, 1]);
    // unsqueezed at 2: [N,C,1,L], NHWC again
    expect(unsqueezePerm([0, 2, 1], [2])).toEqual([0, 2, 3, 1]);
    // [N,L,C] logical stored as is, unsqueezed at 0: the new axis first
    expect(unsqueezePerm([0, 1, 2], [0])).toEqual([0, 1, 2, 3]);
    expect(unsqueezePerm([0, 2, 1], [3, 3])).toBeUndefined();
  });

  it('mergeGroups accepts only merges of adjacent runs, symbolic dims matched one to one', () => {
    expect(mergeGroups(['n', 2, 4, 4], ['n', 2, 16])).toEqual([[0], [1], [2, 3]]);
    expect(mergeGroups([1, 2, 4, 4], [2, 16])).toEqual([[0, 1], [2, 3]]);
    expect(mergeGroups([2, 3], [3, 2])).toBeUndefined();
    expect(mergeGroups([1, 2, 4, 4], [1, 2, 2, 8])).toBeUndefined();
    expect(mergeGroups([1, 2, 4, 1], [1, 2, 4])).toBeUndefined();
    expect(mergeGroups(['n', 'h', 4], ['n', 'h4'])).toBeUndefined();
  });
});

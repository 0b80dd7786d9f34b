// fold-pad-conv against the reference interpreter: generated zero Pads (begin/end per spatial axis, with and without
// an axes input) before Convs of generated kernel, stride, dilation and own padding give exactly the original's
// outputs once folded.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, sizeOf, type Tensor } from '../../ir/tensor.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';

const pass = getPass('fold-pad-conv')!;
const pad = fc.integer({ min: 0, max: 2 });

const cases = fc.record({
  h: fc.integer({ min: 2, max: 6 }), w: fc.integer({ min: 2, max: 6 }), c: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 2 }), d: fc.integer({ min: 1, max: 2 }),
  padIn: fc.tuple(pad, pad, pad, pad), own: fc.tuple(pad, pad, pad, pad), withAxes: fc.boolean(),
});

describe('fold-pad-conv', () => {
  it('gives exactly the Pad + Conv outputs on the reference interpreter', () => {
    fc.assert(fc.property(cases, ({ h, w, c, k, s, d, padIn: [t, l, b, r], own, withAxes }) => {
      // the padded, then conv-padded, input must still cover the dilated kernel
      if (h + t + b + own[0] + own[2] < (k - 1) * d + 1 || w + l + r + own[1] + own[3] < (k - 1) * d + 1) return;
      const weights = Array.from({ length: c * c * k * k }, (_, i) => ((i * 5) % 9) / 4 - 1);
      const padsLine = withAxes
        ? `  const pads: int64[4] = [${t}, ${l}, ${b}, ${r}]\n  const axes: int64[2] = [-2, -1]\n  p = Pad(x, pads, _, axes) @pad {mode="constant"}`
        : `  const pads: int64[8] = [0, 0, ${t}, ${l}, 0, 0, ${b}, ${r}]\n  p = Pad(x, pads) @pad {mode="constant"}`;
      const text = `graph g (x: float32[1,${c},${h},${w}]) -> (y) {
  const wt: float32[${c},${c},${k},${k}] = [${weights.join(', ')}]
${padsLine}
  y = Conv(p, wt) @conv {auto_pad="NOTSET", group=1, kernel_shape=[${k}, ${k}], pads=[${own.join(', ')}], strides=[${s}, ${s}], dilations=[${d}, ${d}]}
}`;
      const g = inferGraph(parseGraph(text));
      const out = pass.run(g, defaultContext());
      expect(out).not.toBe(g);
      verifyAfter(pass, g, out);
      expect(out.nodes.find((n) => n.op === 'Conv')!.inputs[0]).toBe('x');
      let i = 0;
      const x = fromValues('float32', [1, c, h, w], Array.from({ length: sizeOf([1, c, h, w]) }, () => ((i++ * 7) % 13) / 4 - 1.5));
      const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
      expect(pass.run(out, defaultContext())).toBe(out);
    }), { numRuns: 80 });
  });
});

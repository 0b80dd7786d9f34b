// fold-conv-affine against the reference interpreter: generated convs (groups, kernel sizes, with and without bias)
// followed by a per-channel or scalar Mul (either operand order) and optionally an Add, folded, stay within the
// pass's declared tolerance of the original.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, sizeOf, type Tensor } from '../../ir/tensor.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';

const pass = getPass('fold-conv-affine')!;

const cases = fc.record({
  g: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }), mg: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 3 }), bias: fc.boolean(), scalar: fc.boolean(), leftMul: fc.boolean(), add: fc.boolean(), seed: fc.nat(),
});

describe('fold-conv-affine', () => {
  it('stays within its declared tolerance of Conv -> Mul (-> Add) on the reference interpreter', () => {
    fc.assert(fc.property(cases, ({ g, cg, mg, k, bias, scalar, leftMul, add, seed }) => {
      let s = seed;
      const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return Math.fround(s / 2147483648 * 4 - 2); };
      const c = g * cg, m = g * mg;
      const list = (n: number): string => Array.from({ length: n }, rnd).join(', ');
      const lines = [
        `  const w: float32[${m},${cg},${k},${k}] = [${list(m * cg * k * k)}]`,
        bias ? `  const b: float32[${m}] = [${list(m)}]` : '',
        scalar ? `  const s: float32[] = [${list(1)}]` : `  const s: float32[${m},1,1] = [${list(m)}]`,
        add ? `  const t: float32[1,${m},1,1] = [${list(m)}]` : '',
        `  cv = Conv(x, w${bias ? ', b' : ''}) @conv {auto_pad="NOTSET", group=${g}, kernel_shape=[${k}, ${k}]}`,
        `  ${add ? 'mm' : 'y'} = Mul(${leftMul ? 's, cv' : 'cv, s'}) @mul`,
        add ? '  y = Add(mm, t) @add' : '',
      ].filter((l) => l !== '');
      const gr = inferGraph(parseGraph(`graph g (x: float32[1,${c},4,4]) -> (y) {\n${lines.join('\n')}\n}`));
      const out = pass.run(gr, defaultContext());
      expect(out).not.toBe(gr);
      verifyAfter(pass, gr, out);
      expect(out.nodes.map((n) => n.op)).toEqual(['Conv']);
      const x = fromValues('float32', [1, c, 4, 4], Array.from({ length: sizeOf([1, c, 4, 4]) }, rnd));
      const want = runGraph(gr, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
      const sem = pass.properties.semantics;
      if (sem.kind !== 'tolerance') throw new Error('declared a tolerance');
      // the tolerance is relative to the output's scale: a sum that cancels keeps the absolute error of its terms
      const scale = Math.max(1, ...Array.from(want.data as Float32Array, Math.abs));
      for (let i = 0; i < want.data.length; i++) {
        const a = got.data[i] as number, e = want.data[i] as number;
        if (!(Math.abs(a - e) <= sem.atol * scale + sem.rtol * Math.abs(e))) expect.fail(`y[${i}] = ${a}, want ${e}`);
      }
      expect(pass.run(out, defaultContext())).toBe(out);
    }), { numRuns: 100 });
  });
});

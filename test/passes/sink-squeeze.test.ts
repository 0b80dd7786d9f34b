// sink-squeeze against the reference interpreter: a Squeeze of generated unit axes followed by a generated chain of
// elementwise ops (unary, and binary with constants of every broadcast rank) gives bit-identical outputs once sunk.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, sizeOf, type Tensor } from '../../ir/tensor.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';

const pass = getPass('sink-squeeze')!;

const cases = fc.record({
  // x [a, 1, b, 1]: squeeze axes 1 and/or 3
  a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: 4 }),
  axes: fc.constantFrom([1], [3], [1, 3], [-1], [-3, -1]),
  chain: fc.array(fc.record({ op: fc.constantFrom('Relu', 'Sigmoid', 'Add', 'Mul', 'Sub'), constRank: fc.integer({ min: 0, max: 3 }), left: fc.boolean() }), { minLength: 1, maxLength: 4 }),
});

describe('sink-squeeze', () => {
  it('moves the Squeeze to the end of an elementwise chain with bit-identical outputs', () => {
    fc.assert(fc.property(cases, ({ a, b, axes, chain }) => {
      const xs = [a, 1, b, 1];
      const norm = new Set(axes.map((k) => (k < 0 ? k + 4 : k)));
      const ss = xs.filter((_, i) => !norm.has(i));
      const lines = [`  const ax: int64[${axes.length}] = [${axes.join(', ')}]`, '  v0 = Squeeze(x, ax) @sq'];
      chain.forEach(({ op, constRank, left }, i) => {
        if (op === 'Relu' || op === 'Sigmoid') { lines.push(`  v${i + 1} = ${op}(v${i}) @n${i}`); return; }
        const dims = ss.slice(ss.length - Math.min(constRank, ss.length));
        lines.push(`  const c${i}: float32[${dims.join(',')}] = [${Array.from({ length: sizeOf(dims) }, (_, k) => (k % 5) / 4 - 0.5).join(', ')}]`);
        lines.push(`  v${i + 1} = ${op}(${left ? `c${i}, v${i}` : `v${i}, c${i}`}) @n${i}`);
      });
      lines.push(`  y = Identity(v${chain.length}) @out`);
      const g = inferGraph(parseGraph(`graph g (x: float32[${xs.join(',')}]) -> (y) {\n${lines.join('\n')}\n}`));
      const out = pass.run(g, defaultContext());
      expect(out).not.toBe(g);
      verifyAfter(pass, g, out);
      // the Squeeze sits right before the Identity now
      const sq = out.nodes.find((n) => n.op === 'Squeeze')!;
      expect(out.nodes.find((n) => n.op === 'Identity')!.inputs[0]).toBe(sq.outputs[0]);
      let k = 0;
      const x = fromValues('float32', xs, Array.from({ length: sizeOf(xs) }, () => ((k++ * 7) % 11) / 4 - 1.25));
      const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
      expect(got.dims).toEqual(want.dims);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
      expect(pass.run(out, defaultContext())).toBe(out);
    }), { numRuns: 100 });
  });
});

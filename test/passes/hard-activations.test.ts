// canonical-hard-activations against the reference interpreter: each exporter form of h_sigmoid / h_swish, over a
// dense grid of x around the kinks (-3, 3) and beyond, stays within the pass's declared tolerance of the original.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';

const pass = getPass('canonical-hard-activations')!;
const N = 2048;
const CONSTS = `  const three: float32[] = [3]
  const zero: float32[] = [0]
  const six: float32[] = [6]
  const sixth: float32[] = [0.16666667]`;

const FORMS: Record<string, { body: string; op: string }> = {
  'x * HardSigmoid(x)': { body: '  h = HardSigmoid(x) @hs {alpha=0.16666667, beta=0.5}\n  y = Mul(h, x) @mul', op: 'HardSwish' },
  'x * relu6(x + 3) / 6': { body: '  a = Add(x, three) @add\n  c = Clip(a, zero, six) @clip\n  m = Mul(x, c) @mul\n  y = Div(m, six) @div', op: 'HardSwish' },
  'x * (relu6(x + 3) / 6)': { body: '  a = Add(x, three) @add\n  c = Clip(a, zero, six) @clip\n  h = Div(c, six) @div\n  y = Mul(h, x) @mul', op: 'HardSwish' },
  'relu6(x + 3) / 6': { body: '  a = Add(three, x) @add\n  c = Clip(a, zero, six) @clip\n  y = Div(c, six) @div', op: 'HardSigmoid' },
  'relu6(x + 3) * (1/6)': { body: '  a = Add(x, three) @add\n  c = Clip(a, zero, six) @clip\n  y = Mul(sixth, c) @mul', op: 'HardSigmoid' },
};

describe('canonical-hard-activations', () => {
  // x on a grid of 1/128 over [-8, 8], plus the kinks' float32 neighbours
  const grid = Array.from({ length: N }, (_, i) => Math.fround(-8 + i / 128));
  const edges = [-3, 3, -0, 0].flatMap((v) => [v, Math.fround(v + 1e-6), Math.fround(v - 1e-6)]);
  const x = fromValues('float32', [N + edges.length], [...grid, ...edges]);
  for (const [name, { body, op }] of Object.entries(FORMS)) {
    it(`${name} -> ${op}, within the declared tolerance`, () => {
      const g = inferGraph(parseGraph(`graph g (x: float32[${N + edges.length}]) -> (y) {\n${CONSTS}\n${body}\n}`));
      const out = pass.run(g, defaultContext());
      expect(out).not.toBe(g);
      verifyAfter(pass, g, out);
      expect(out.nodes.find((n) => n.outputs[0] === 'y')!.op).toBe(op);
      const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
      const sem = pass.properties.semantics;
      if (sem.kind !== 'tolerance') throw new Error('declared a tolerance');
      for (let i = 0; i < want.data.length; i++) {
        const a = got.data[i] as number, e = want.data[i] as number;
        if (!(Math.abs(a - e) <= sem.atol + sem.rtol * Math.abs(e))) expect.fail(`x = ${x.data[i]}: ${a} vs ${e}`);
      }
      expect(pass.run(out, defaultContext())).toBe(out);
    });
  }
});

// prelu-leaky-relu against the reference interpreter: PRelu with a uniform constant slope and the LeakyRelu it
// becomes give the same bits (x over negatives, -0, subnormals, huge values, NaN; slopes negative, 0, -0, > 1),
// float32 and float16; and at -O3 a Conv followed by nn.PReLU() ends as one FusedConv with a LeakyRelu epilogue.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { parseGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { runPasses, verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';
import { pipelineForLevel } from '../../passes/pipelines.js';

const pass = getPass('prelu-leaky-relu')!;

/** A deterministic spread of x values: the edges, then a pseudo-random mix of magnitudes and signs. */
function xs(n: number): number[] {
  const edges = [0, -0, 1, -1, 1e-40, -1e-40, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 65504, -65504, 6e-8, -6e-8];
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const out = [...edges];
  while (out.length < n) out.push((rnd() < 0.5 ? -1 : 1) * Math.pow(10, rnd() * 12 - 6) * rnd());
  return out.slice(0, n);
}

describe('prelu-leaky-relu', () => {
  const N = 4 * 64;
  const slopes = [0.25, -0.25, 0, -0, 1.5, 0.1, 1e-3, -7];
  for (const dtype of ['float32', 'float16'] as const) {
    for (const shape of ['[1]', '[4,1,1]', '[]']) {
      for (const s of slopes) {
        it(`${dtype} slope ${shape} = ${Object.is(s, -0) ? '-0' : s}: the LeakyRelu gives PRelu's bits`, () => {
          const count = shape === '[4,1,1]' ? 4 : 1;
          const values = Array.from({ length: count }, () => (Object.is(s, -0) ? '-0' : String(s))).join(', ');
          const g = inferGraph(parseGraph(`graph g (x: ${dtype}[1,4,8,8]) -> (y) {\n  const s: ${dtype}${shape} = [${values}]\n  y = PRelu(x, s) @prelu\n}`));
          const out = pass.run(g, defaultContext());
          expect(out).not.toBe(g);
          verifyAfter(pass, g, out);
          expect(out.nodes.map((n) => n.op)).toEqual(['LeakyRelu']);
          const x = fromValues(dtype, [1, 4, 8, 8], xs(N));
          const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
          expect(got.dtype).toBe(dtype);
          for (let i = 0; i < N; i++) {
            if (!Object.is(got.data[i], want.data[i])) expect.fail(`x = ${x.data[i]}: ${got.data[i]} vs ${want.data[i]}`);
          }
          expect(pass.run(out, defaultContext())).toBe(out);
        });
      }
    }
  }

  it('-O3: Conv -> PRelu with one slope value is one FusedConv (LeakyRelu epilogue), same numbers as the reference', () => {
    const w = Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.fround(Math.sin(i) * 0.3));
    const parsed = parseGraph(`graph g (x: float32[1,3,6,6]) -> (y) {
  const w: float32[4,3,3,3] = [${w.join(', ')}]
  const b: float32[4] = [0.1, -0.2, 0.3, -0.4]
  const s: float32[1] = [0.25]
  c = Conv(x, w, b) @conv {pads=[1,1,1,1]}
  y = PRelu(c, s) @prelu
}`);
    // the attributes the importer would fill in (the pipeline's verifier asks for them)
    const g = inferGraph({ ...parsed, nodes: parsed.nodes.map((n) => ({ ...n, attrs: withDefaults(getOp(n.op)!, n.attrs) })) });
    const { graph: out } = runPasses(g, pipelineForLevel(3), { ctx: defaultContext(), verify: true });
    expect(out.nodes.some((n) => n.op === 'PRelu' || n.op === 'LeakyRelu')).toBe(false);
    const fused = out.nodes.filter((n) => n.attrs['activation']?.value === 'LeakyRelu');
    expect(fused.length).toBe(1);
    const x = fromValues('float32', [1, 3, 6, 6], xs(108).map((v) => (Number.isFinite(v) && Math.abs(v) < 1e3 ? v : 0.5)));
    const want = runGraph(g, [x])[0] as Tensor, got = runGraph(out, [x])[0] as Tensor;
    expect([...got.data]).toEqual([...want.data]);
  });
});

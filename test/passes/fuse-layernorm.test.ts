// fuse-layernorm over the exporter variants of LayerNorm (fast-check): the mean as ReduceMean, ReduceSum * 1/N or
// ReduceSum / N, keepdims or not (Reshapes back), two-pass or one-pass (E[x^2] - E[x]^2, maybe clamped at 0)
// variance, 1/Sqrt in its three spellings, gamma before or after the centred value, beta. Each built graph must fuse
// to one LayerNormalization, and the reference interpreter's values of the fused graph must stay within the pass's
// declared tolerance of the decomposed graph on inputs whose mean is up to 4 standard deviations off 0 (where the
// one-pass variance cancels). A mismatched N (sum * 1/(N+1)) must not fuse.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { opCounts } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';
import { fuseLayernorm } from '../../passes/fusion/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { expectClose, run } from './fusion/helpers.js';

interface Form {
  mean: 'ReduceMean' | 'sumMul' | 'sumDiv'; keep: boolean; onePass: boolean; sumSquare: boolean; clamp: boolean;
  rsqrt: 'recip' | 'div1' | 'pow' | 'divd'; gammaFirst: boolean; gamma: boolean; beta: boolean; trailing: 1 | 2;
}

const form = fc.record({
  mean: fc.constantFrom('ReduceMean' as const, 'sumMul' as const, 'sumDiv' as const), keep: fc.boolean(), onePass: fc.boolean(),
  sumSquare: fc.boolean(), clamp: fc.boolean(), rsqrt: fc.constantFrom('recip' as const, 'div1' as const, 'pow' as const, 'divd' as const),
  gammaFirst: fc.boolean(), gamma: fc.boolean(), beta: fc.boolean(), trailing: fc.constantFrom(1 as const, 2 as const),
});

const SHAPE = [3, 4, 8];

function build(f: Form, seed: number, countOff = 0): Graph {
  const b = new GraphBuilder();
  const c = (name: string, v: number): string => b.weight(name, fromValues('float32', [], [v]));
  const i64 = (name: string, v: number[]): string => b.weight(name, fromValues('int64', [v.length], v.map(BigInt)));
  const rnd = prng(seed);
  const x = b.input('x', 'float32', SHAPE);
  const axes = f.trailing === 1 ? [2] : [1, 2];
  const n = f.trailing === 1 ? 8 : 32;
  const kept = f.trailing === 1 ? [3, 4, 1] : [3, 1, 1];
  const norm = SHAPE.slice(3 - f.trailing);
  const ax = i64('ax', axes);
  const keepAttr = { keepdims: f.keep ? 1 : 0 };
  // Reshape a keepdims=0 statistic back to the keepdims shape
  const back = (v: string, tag: string): string => (f.keep ? v : b.op('Reshape', [v, i64(`k_${tag}`, kept)]));
  const mean = (t: string, tag: string, square = false): string => {
    if (f.mean === 'ReduceMean' && !square) return b.op('ReduceMean', [t, ax], keepAttr);
    const s = square ? b.op('ReduceSumSquare', [t, ax], keepAttr) : b.op('ReduceSum', [t, ax], keepAttr);
    return f.mean === 'sumDiv' ? b.op('Div', [s, c(`n_${tag}`, n + countOff)]) : b.op('Mul', [s, c(`inv_${tag}`, Math.fround(1 / (n + countOff)))]);
  };
  const m = mean(x, 'm');
  let v: string;
  let d: string;
  if (f.onePass) {
    const e2 = f.sumSquare && f.mean !== 'ReduceMean' ? mean(x, 'e2', true) : mean(b.op('Mul', [x, x]), 'e2');
    v = b.op('Sub', [e2, b.op('Mul', [m, m])]);
    if (f.clamp) v = b.op('Max', [c('zero', 0), v]);
    v = back(v, 'v');
    d = b.op('Sub', [x, back(m, 'm')]);
  } else {
    if (!f.keep) return build({ ...f, keep: true }, seed, countOff); // the two-pass form centres at once: keepdims
    d = b.op('Sub', [x, m]);
    v = mean(b.op('Mul', [d, d]), 'v');
  }
  const e = b.op('Add', [v, c('eps', 1e-5)]);
  const gamma = b.weight('gamma', fromValues('float32', norm, norm.length === 1 ? Array.from({ length: 8 }, () => rnd() + 0.5) : Array.from({ length: 32 }, () => rnd() + 0.5)));
  let y: string;
  if (f.rsqrt === 'divd') {
    y = b.op('Div', [d, b.op('Sqrt', [e])]);
    if (f.gamma) y = b.op('Mul', [y, gamma]);
  } else {
    const r = f.rsqrt === 'pow' ? b.op('Pow', [e, c('mhalf', -0.5)])
      : f.rsqrt === 'div1' ? b.op('Div', [c('one', 1), b.op('Sqrt', [e])]) : b.op('Reciprocal', [b.op('Sqrt', [e])]);
    if (f.gamma && f.gammaFirst) y = b.op('Mul', [d, b.op('Mul', [r, gamma])]);
    else {
      y = b.op('Mul', [r, d]);
      if (f.gamma) y = b.op('Mul', [gamma, y]);
    }
  }
  if (f.gamma && f.beta) y = b.op('Add', [y, b.weight('beta', fromValues('float32', [norm.at(-1)!], Array.from({ length: 8 }, () => rnd() - 0.5)))]);
  b.output(y);
  return b.build();
}

/** x = offset + spread * u, u uniform in [-1, 1], per row an offset up to `ratio` spreads away from 0. */
function input(seed: number, ratio: number): Tensor {
  const r = prng(seed);
  const spread = 0.5 + r() * 3;
  const data: number[] = [];
  for (let row = 0; row < 12; row++) {
    const off = (r() * 2 - 1) * ratio * spread;
    for (let k = 0; k < 8; k++) data.push(off + spread * (r() * 2 - 1));
  }
  return fromValues('float32', SHAPE, data);
}

describe('fuse-layernorm exporter variants', () => {
  it('every variant fuses to one LayerNormalization within the declared tolerance of the decomposed chain', () => {
    const sem = fuseLayernorm.properties.semantics;
    if (sem.kind !== 'tolerance') throw new Error('fuse-layernorm declares a tolerance');
    fc.assert(fc.property(form, fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 4, noNaN: true }), (f, seed, ratio) => {
      const g = build(f, seed);
      const out = fuseLayernorm.run(g, defaultContext());
      verifyAfter(fuseLayernorm, g, out);
      const counts = opCounts(out);
      expect(counts.get('LayerNormalization'), JSON.stringify(f)).toBe(1);
      expect(out.nodes.length, JSON.stringify(f)).toBe(1);
      const x = input(seed, ratio);
      expectClose(run(out, [x]), run(g, [x]), sem.rtol, sem.atol);
    }), { numRuns: 150 });
  });

  it('a sum scaled by 1/(N+1) or divided by N+1 is not a mean: nothing fuses', () => {
    fc.assert(fc.property(form.filter((f) => f.mean !== 'ReduceMean'), (f) => {
      const g = build(f, 7, 1);
      expect(fuseLayernorm.run(g, defaultContext())).toBe(g);
    }), { numRuns: 40 });
  });
});

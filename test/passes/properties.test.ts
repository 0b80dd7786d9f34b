// Property tests over generated well-typed graphs (decorated with work for the passes): every registered pass,
// and the -O pipelines, give a graph that verifies, keeps its interface, computes the same outputs on the
// reference interpreter within the pass's declared tolerance, round-trips through the text form, and (when the
// pass says so) is idempotent.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { getNumber } from '../../ir/tensor.js';
import { parseGraph, printGraph } from '../../ir/text/index.js';
import { verifyGraph } from '../../ir/verify.js';
import { isTensor } from '../../ir/value.js';
import { verifyOps } from '../../ops/verify-ops.js';
import { allPasses } from '../../passes/index.js';
import { runPasses, verifyAfter } from '../../passes/manager.js';
import type { Pass, PassContext, Semantics } from '../../passes/pass.js';
import { defaultContext } from '../../passes/pass.js';
import { pipelineForLevel } from '../../passes/pipelines.js';
import { arbitraryGraph } from '../helpers/arbitrary-graph.js';
import { arbitraryDecoration, decorate } from './decorate.js';

const RUNS = Number(process.env['PASS_PROPERTY_RUNS'] ?? 25);
// decompose has something to do only when asked: ask for every op its rules know.
const CTX: PassContext = defaultContext({ options: new Map([['decompose', 'all']]) });

function outputs(g: Graph, inputs: ReadonlyMap<string, Tensor>): Tensor[] {
  return runGraph(g, g.inputs.map((n) => inputs.get(n)!)).map((v) => {
    if (!isTensor(v)) throw new Error('generated graphs have tensor outputs');
    return v;
  });
}

function expectClose(got: Tensor[], want: Tensor[], sem: Semantics, what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    const w = want[k]!;
    expect(g.dims, `${what}: output ${k} dims`).toEqual(w.dims);
    if (sem.kind === 'range') {
      // compression passes: the largest error against the output's largest magnitude (onnxc check's measure)
      let err = 0, mag = 0;
      for (let i = 0; i < w.data.length; i++) { err = Math.max(err, Math.abs(getNumber(g, i) - getNumber(w, i))); mag = Math.max(mag, Math.abs(getNumber(w, i))); }
      if (!(err <= sem.tol * mag)) expect.fail(`${what}: output ${k} is off by ${err} against max |value| ${mag} (tolerance ${sem.tol} of the range)`);
      return;
    }
    for (let i = 0; i < w.data.length; i++) {
      const a = getNumber(g, i), e = getNumber(w, i);
      if (sem.kind === 'exact') {
        if (!Object.is(a, e) && !(a === e)) expect.fail(`${what}: output ${k}[${i}] is ${a}, want exactly ${e}`);
      } else if (!(Math.abs(a - e) <= sem.atol + sem.rtol * Math.abs(e))) {
        expect.fail(`${what}: output ${k}[${i}] is ${a}, want ${e} within rtol ${sem.rtol} atol ${sem.atol}`);
      }
    }
  });
}

function checkPass(pass: Pass, g: Graph, inputs: ReadonlyMap<string, Tensor>): Graph {
  const out = pass.run(g, CTX);
  if (out === g) return out;
  verifyAfter(pass, g, out);
  expectClose(outputs(out, inputs), outputs(g, inputs), pass.properties.semantics, pass.name);
  if (pass.properties.idempotent) {
    const again = pass.run(out, CTX);
    expect(again === out, `${pass.name} is declared idempotent but changed its own output:\n${printGraph(out)}\n->\n${printGraph(again)}`).toBe(true);
  }
  const text = printGraph(out, { inlineAll: true });
  expect(printGraph(parseGraph(text), { inlineAll: true })).toBe(text);
  return out;
}

const generated = fc.tuple(arbitraryGraph({ maxNodes: 8 }), arbitraryDecoration)
  .map(([{ graph, inputs }, d]) => ({ graph: decorate(graph, d), inputs }));

describe('pass properties over generated graphs', () => {
  it('decorated graphs are valid input', () => {
    fc.assert(fc.property(generated, ({ graph }) => { verifyGraph(graph); verifyOps(graph); }), { numRuns: RUNS });
  });

  for (const pass of allPasses()) {
    it(`${pass.name}: verifies, keeps values (${pass.properties.semantics.kind}), round-trips${pass.properties.idempotent ? ', idempotent' : ''}`, () => {
      fc.assert(fc.property(generated, ({ graph, inputs }) => { checkPass(pass, graph, inputs); }), { numRuns: RUNS });
    });
  }

  for (const level of [1, 2, 3] as const) {
    it(`-O${level} pipeline keeps values and verifies after every pass`, () => {
      fc.assert(fc.property(generated, ({ graph, inputs }) => {
        const { graph: out } = runPasses(graph, pipelineForLevel(level), { ctx: CTX, verify: true });
        expectClose(outputs(out, inputs), outputs(graph, inputs), { kind: 'exact' }, `-O${level}`);
      }), { numRuns: RUNS });
    });
  }

  it('the passes find work on decorated graphs (the properties are not vacuous)', () => {
    let changed = 0;
    fc.assert(fc.property(generated, ({ graph }) => {
      const { events } = runPasses(graph, pipelineForLevel(2), { ctx: CTX });
      if (events.some((e) => e.changed)) changed++;
    }), { numRuns: RUNS });
    expect(changed).toBeGreaterThan(RUNS / 2);
  });
});

// Golden IR tests: test/passes/golden/<pass>.ir holds cases, each an intent line, the input IR, and either the
// expected IR after the pass or `--- unchanged` (the pass must return the very same graph object).
//
//   === <intent>                 starts a case; `# options: k=v,k=v` on the next line sets pass options
//   graph ... { ... }            input (types may be left out: the runner infers them)
//   --- expect                   followed by the expected canonical text, or
//   --- unchanged
//
// UPDATE_GOLDEN=1 npx vitest run test/passes/golden.test.ts rewrites the expected sections from actual output.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGraph, printGraph } from '../../ir/text/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { getPass } from '../../passes/index.js';
import { verifyAfter } from '../../passes/manager.js';
import { defaultContext } from '../../passes/pass.js';

const DIR = join(import.meta.dirname, 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

interface Case { intent: string; options: Map<string, string>; input: string; expect: string | 'unchanged' }

function parseCases(text: string): Case[] {
  const cases: Case[] = [];
  for (const chunk of text.split(/^=== /m).slice(1)) {
    const [head, ...rest] = chunk.split('\n');
    let body = rest.join('\n');
    const options = new Map<string, string>();
    const om = /^# options: (.*)\n/.exec(body);
    if (om) {
      for (const kv of om[1]!.split(',')) { const [k, v] = kv.split('='); options.set(k!.trim(), (v ?? '').trim()); }
      body = body.slice(om[0].length);
    }
    const m = /^--- (expect|unchanged)[^\n]*\n?/m.exec(body);
    if (!m) throw new Error(`golden case '${head}' has no '--- expect' or '--- unchanged' line`);
    const input = body.slice(0, m.index).trim();
    const expected = m[1] === 'unchanged' ? 'unchanged' : body.slice(m.index + m[0].length).trim();
    cases.push({ intent: head!.trim(), options, input, expect: expected });
  }
  return cases;
}

function render(cases: readonly Case[]): string {
  return cases.map((c) => {
    const opts = c.options.size ? `# options: ${[...c.options].map(([k, v]) => `${k}=${v}`).join(',')}\n` : '';
    const tail = c.expect === 'unchanged' ? '--- unchanged' : `--- expect\n${c.expect}`;
    return `=== ${c.intent}\n${opts}${c.input}\n${tail}\n`;
  }).join('\n');
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.ir')).sort();

describe('golden pass tests', () => {
  it('has a golden file for every built-in pass', () => {
    for (const name of ['constant-fold', 'cse', 'dce', 'decompose', 'remove-noops']) expect(files).toContain(`${name}.ir`);
  });

  for (const file of files) {
    const passName = file.replace(/\.ir$/, '');
    describe(passName, () => {
      const path = join(DIR, file);
      const cases = parseCases(readFileSync(path, 'utf8'));
      it('has at least one case that must not change', () => {
        expect(cases.some((c) => c.expect === 'unchanged')).toBe(true);
      });
      const updated: Case[] = [];
      for (const c of cases) {
        it(c.intent, () => {
          const pass = getPass(passName);
          expect(pass, `no pass named ${passName}`).toBeDefined();
          const input = inferGraph(parseGraph(c.input));
          const output = pass!.run(input, defaultContext({ options: c.options }));
          if (output !== input) verifyAfter(pass!, input, output);
          if (UPDATE) {
            updated.push({ ...c, expect: c.expect === 'unchanged' && output === input ? 'unchanged' : printGraph(output).trim() });
            if (updated.length === cases.length) writeFileSync(path, render(updated));
            return;
          }
          if (c.expect === 'unchanged') {
            expect(output === input, `expected no change, got:\n${printGraph(output)}`).toBe(true);
          } else {
            expect(printGraph(output).trim()).toBe(c.expect);
            // parse(print(g)) = g for the result too
            expect(printGraph(parseGraph(printGraph(output))).trim()).toBe(c.expect);
          }
        });
      }
    });
  }
});

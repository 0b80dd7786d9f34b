// The manifest check behind `npm run conformance`: a new failure or a stale entry fails the run, except that a case
// of a random op may pass by chance (its expected values come from numpy's generator) without being stale.

import { describe, expect, it } from 'vitest';
import { summarize, type CaseResult } from '../../compiler/conformance.js';

const result = (name: string, outcome: CaseResult['outcome'], ops: string[]): CaseResult => ({ name, outcome, ops, ms: 1 });
const manifest = { expectedFailures: { 'node/test_bernoulli': 'random op', 'node/test_relu_old': 'was broken' } };

describe('conformance summary against the manifest', () => {
  it('an unexpected pass of a deterministic case is stale; of a random op it is not', () => {
    const s = summarize([
      result('test_bernoulli', 'pass', ['Bernoulli']),
      result('test_relu_old', 'pass', ['Relu']),
      result('test_abs', 'fail', ['Abs']),
    ], manifest, 'node');
    expect(s.unexpectedPasses).toEqual(['node/test_relu_old']);
    expect(s.unexpectedFailures).toEqual(['node/test_abs']);
    expect(s.passed).toBe(2);
  });
});

// Seeded random inputs: integer inputs that index a table stay inside it, others keep the [0, 4) default.

import { describe, expect, it } from 'vitest';
import { indexBounds, randomInputs } from '../../compiler/random-inputs.js';
import { GraphBuilder, seededWeights } from '../../models/builder.js';
import { prng } from '../../ir/random.js';
import { runGraph } from '../../backends/reference/interpreter.js';

/** BERT's embedding front end in miniature: a 2-row token-type table reached through Cast and Unsqueeze, a 10-row
 *  word table indexed directly, and a mask used arithmetically (no bound). */
function embeddingModel() {
  const b = new GraphBuilder('emb');
  const ids = b.input('ids', 'int64', [1, 6]);
  const types = b.input('types', 'int64', [1, 6]);
  const mask = b.input('mask', 'int64', [1, 6]);
  const rand = prng(3);
  const word = b.weight('word', seededWeights([10, 4], rand, 1));
  const tt = b.weight('tt', seededWeights([2, 4], rand, 1));
  const e1 = b.op('Gather', [word, ids], { axis: 0 });
  const t32 = b.op('Cast', [types], { to: 6 });
  const e2 = b.op('Gather', [tt, t32], { axis: 0 });
  const sum = b.op('Add', [e1, e2]);
  const m = b.op('Cast', [mask], { to: 1 });
  const mu = b.op('Unsqueeze', [m, b.weight('ax', { dtype: 'int64', dims: [1], data: new BigInt64Array([2n]) })]);
  b.output(b.op('Mul', [sum, mu]));
  return b.build();
}

describe('random inputs', () => {
  it('bounds integer inputs by the tables they index, through value-preserving ops', () => {
    const g = embeddingModel();
    const bounds = indexBounds(g);
    expect(bounds.get('ids')).toBe(10);
    expect(bounds.get('types')).toBe(2);
    expect(bounds.has('mask')).toBe(false);
  });

  it('draws indices inside the table, so the reference runs the model without an out-of-range error', () => {
    const g = embeddingModel();
    for (let seed = 1; seed <= 20; seed++) {
      const [ids, types, mask] = randomInputs(g, {}, seed);
      expect([...(types!.data as BigInt64Array)].every((v) => v === 0n || v === 1n)).toBe(true);
      expect([...(ids!.data as BigInt64Array)].every((v) => v >= 0n && v < 4n)).toBe(true);
      expect([...(mask!.data as BigInt64Array)].every((v) => v >= 0n && v < 4n)).toBe(true);
      expect(() => runGraph(g, [ids!, types!, mask!], { source: 'emb' })).not.toThrow();
    }
    // across seeds both token types occur (the bound is 2, not 1)
    const seen = new Set<bigint>();
    for (let seed = 1; seed <= 5; seed++) for (const v of randomInputs(g, {}, seed)[1]!.data as BigInt64Array) seen.add(v);
    expect([...seen].sort()).toEqual([0n, 1n]);
  });
});

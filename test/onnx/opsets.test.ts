// The importer's opset rewrite table (compiler/onnx/opsets): every op it names exists, and ops/ holds no import
// logic (rewrites of older opset forms live only in the table).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewrittenOps } from '../../compiler/onnx/opsets/index.js';
import { getOp } from '../../ops/index.js';

describe('opset rewrites', () => {
  it('name only ops that have an OpDef', () => {
    const ops = rewrittenOps();
    expect(ops.length).toBeGreaterThan(90);
    expect(ops.filter((op) => getOp(op) === undefined)).toEqual([]);
  });
  it('are not in ops/: no op file reads the opset a model imports', () => {
    const dir = join(import.meta.dirname, '..', '..', 'ops');
    const offenders = readdirSync(dir).filter((f) => f.endsWith('.ts'))
      .filter((f) => /ctx\.opset\b|\blegacy\s*[(:]/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

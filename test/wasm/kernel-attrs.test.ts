// Kernels read attributes without restating their ONNX defaults (the importer fills every OpDef's schema defaults,
// so a restated default is dead code that can drift from the schema). Files moved off restated defaults must stay
// off; the others are counted so the number only goes down.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', '..', 'backends', 'wasm', 'kernels');
const RESTATED = /attr(?:Num|Str)\(ctx, '[a-z_]+', /g;
/** Files that still restate defaults, with how many (lower a count when you remove some; never raise one). */
const NOT_YET: Readonly<Record<string, number>> = {
  'attention.ts': 6, 'conv.ts': 2, 'matmul-int.ts': 1, 'matmul.ts': 2, 'quant.ts': 4,
};

describe('kernel attributes', () => {
  it('no kernel file restates more ONNX attribute defaults than listed (most restate none)', () => {
    const counts = Object.fromEntries(readdirSync(DIR).filter((f) => f.endsWith('.ts'))
      .map((f) => [f, readFileSync(join(DIR, f), 'utf8').match(RESTATED)?.length ?? 0] as const).filter(([, n]) => n > 0));
    for (const [f, n] of Object.entries(counts)) expect(n, `${f} restates ${n} attribute defaults`).toBeLessThanOrEqual(NOT_YET[f] ?? 0);
  });
});

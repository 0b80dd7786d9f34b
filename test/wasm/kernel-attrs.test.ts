// Kernels read attributes without restating their ONNX defaults (the importer fills every OpDef's schema defaults,
// so a restated default is dead code that can drift from the schema). attrNum/attrStr take no default any more; this
// also catches a helper of the same shape written elsewhere in the kernels.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', '..', 'backends', 'wasm', 'kernels');
const RESTATED = /attr(?:Num|Str)\(ctx, '[A-Za-z_]+', /g;

describe('kernel attributes', () => {
  it('no kernel file restates an ONNX attribute default', () => {
    const counts = Object.fromEntries(readdirSync(DIR).filter((f) => f.endsWith('.ts'))
      .map((f) => [f, readFileSync(join(DIR, f), 'utf8').match(RESTATED)?.length ?? 0] as const).filter(([, n]) => n > 0));
    for (const [f, n] of Object.entries(counts)) expect(n, `${f} restates ${n} attribute defaults`).toBe(0);
  });
});

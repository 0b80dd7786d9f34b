// Every op in the webgpu kernel table is named by a test under test/webgpu (a kernel nobody runs is a defect);
// every key is an OpName (the table's type checks that at compile time; this checks the OpDefs exist).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WEBGPU_KERNELS } from '../../backends/webgpu/kernels/index.js';
import { getOp } from '../../ops/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const text = readdirSync(here).filter((f) => f.endsWith('.test.ts') && f !== 'kernel-coverage.test.ts').map((f) => readFileSync(join(here, f), 'utf8')).join('\n');

describe('webgpu kernel table', () => {
  it('names only ops with an OpDef', () => {
    expect(Object.keys(WEBGPU_KERNELS).filter((op) => getOp(op) === undefined)).toEqual([]);
  });
  it('has a test naming every kernel', () => {
    expect(Object.keys(WEBGPU_KERNELS).filter((op) => !text.includes(`'${op}'`)).sort()).toEqual([]);
  });
});

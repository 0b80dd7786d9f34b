// Panel-packed B of any width >= 4 (kernels/gemm-pack.ts): the core's last vector reads the zero padding and
// stores only its valid lanes, and reads bias/residual lanes one by one. N % 4 in 1..3, with bias broadcast per row
// or per column, a residual, wide and tall tile orders, and super-resolution's 9-channel NHWC conv, against the
// reference interpreter with Binaryen's optimiser on and off.

import { describe, expect, it } from 'vitest';
import { panelable } from '../../backends/wasm/kernels/gemm-pack.js';
import { TAIL_CASES } from './gemm-cases.js';
import { worstError } from './helpers.js';

describe('panel-packed B with N % 4 != 0 matches the reference interpreter', () => {
  it('packs every width of 4 or more', () => {
    expect([1, 2, 3].map(panelable)).toEqual([false, false, false]);
    expect([4, 5, 9, 1000].map(panelable)).toEqual([true, true, true, true]);
  });
  for (const c of TAIL_CASES) {
    it(c.name, () => {
      for (const optimize of [false, true]) expect(worstError(c.g, c.inputs, optimize), `optimize=${optimize}`).toBeLessThanOrEqual(1e-5);
    });
  }
});

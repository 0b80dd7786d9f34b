// `onnxc prune`'s text report says what the distillation after the re-fit did: its held-out error before and after and
// the epoch kept, or why it was skipped.

import { describe, expect, it } from 'vitest';
import { formatPruneReport, type PruneReport } from '../../compiler/prune-model.js';

const base: PruneReport = {
  mode: 'channels', refit: true, bytesBefore: 2e6, bytesAfter: 1e6, paramsBefore: 5e5, paramsAfter: 2.5e5,
  flopsBefore: 4e7, flopsAfter: 2e7, calibration: { samples: 32, backend: 'wasm', ms: 1200 }, layers: [],
  calibrationSet: { samples: 32, drift: { y: 0.012 }, top1: { y: 0.97 } },
};

describe('formatPruneReport: distillation', () => {
  it('gives the held-out logit error after the re-fit and after distillation, and the epoch kept', () => {
    const text = formatPruneReport({ ...base, distil: { before: 0.125, after: 0.0625, epochs: 80, kept: 57, params: 123456 } });
    expect(text).toContain('distillation: 80 epochs over 123456 parameters, held-out logit error 1.25e-1 after the re-fit -> 6.25e-2 (epoch 57 kept)');
  });

  it('says when no epoch beat the re-fit, and why distillation was skipped', () => {
    expect(formatPruneReport({ ...base, distil: { before: 0.1, after: 0.1, epochs: 4, kept: 0, params: 10 } })).toMatch(/\(the re-fit kept: no epoch did better\)/);
    expect(formatPruneReport({ ...base, distil: { skipped: 'Clip has no gradient here' } })).toContain('distillation: skipped (Clip has no gradient here)');
    expect(formatPruneReport(base)).not.toContain('distillation');
  });
});

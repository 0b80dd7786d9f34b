// Augmented calibration inputs for the re-fit (prune-augment=K): K extra inputs per calibration sample, each a convex
// mix of that sample with another (x' = t·x_i + (1-t)·x_j, t in [0.5, 1)), which the original model labels by
// running on it. The re-fit's targets come from the original model, so any input is a fair row; mixes stay near
// the data (unlike noise) and give the least-squares fits more distinct rows than the calibration set has.

import { prng } from '../../ir/random.js';
import { makeTensor } from '../../ir/tensor.js';
import { isTensor, type RuntimeValue } from '../../ir/value.js';
import type { CalibrationData } from '../pass.js';

/** `data` with K mixes after each sample (the re-fit's held-out folds then share mixed inputs: its ridge choice sees
 *  slightly optimistic held-out errors). */
export function mixupData(data: CalibrationData, K: number, seed = 1): CalibrationData {
  const n = data.samples.length;
  if (K <= 0 || n < 2) return data;
  const r = prng((seed * 2_654_435_761) >>> 0);
  const out: (readonly RuntimeValue[])[] = [];
  for (let i = 0; i < n; i++) {
    const xi = data.samples[i]!;
    out.push(xi);
    for (let k = 0; k < K; k++) {
      let j = Math.floor(r() * (n - 1));
      if (j >= i) j++;
      const xj = data.samples[j]!, t = 0.5 + 0.5 * r();
      const mixed = xi.map((v, q) => {
        const w = xj[q];
        if (!isTensor(v) || v.dtype !== 'float32' || !isTensor(w) || w.data.length !== v.data.length) return v;
        const a = v.data as Float32Array, b = w.data as Float32Array;
        return makeTensor('float32', v.dims, Float32Array.from(a, (x, e) => t * x + (1 - t) * b[e]!));
      });
      out.push(mixed);
    }
  }
  return { samples: out, run: (g, x) => data.run(g, x) };
}

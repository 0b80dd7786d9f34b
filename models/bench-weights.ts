// Seeded weights at trained-net scales for the bench models and held-out proxies (models/bench-models.ts,
// models/held-out-cnns.ts).

import { fromValues, type Tensor } from '../ir/tensor.js';
import { seededWeights } from './builder.js';

/** Uniform weights in ±1/sqrt(fanIn) (PyTorch's default initialisation scale). */
export const weights = (dims: number[], rand: () => number, fanIn: number): Tensor<'float32'> => seededWeights(dims, rand, 1 / Math.sqrt(fanIn));

/** 1 + seeded weights in ±`scale` (normalisation gains, variances). */
export const aroundOne = (dims: number[], rand: () => number, scale: number): Tensor<'float32'> => {
  const t = seededWeights(dims, rand, scale);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + t.data[i]!;
  return t;
};

export const scalar = (v: number): Tensor<'float32'> => fromValues('float32', [], [v]);

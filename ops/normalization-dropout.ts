// Dropout (opset 22 form: ratio and training_mode inputs, bool mask output). Inference is the identity with an
// all-true mask; training draws the mask from a small PRNG seeded by `seed`, so only its structure (kept values
// scaled by 1/(1-ratio), dropped ones 0) can be compared with other runtimes.

import { KernelError, ShapeError } from '../ir/errors.js';
import { prng } from '../ir/random.js';
import { fromValues, makeTensor } from '../ir/tensor.js';
import type { AnyOpDef, ImportNode, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf, withShape } from './util.js';
import { FLOAT_TYPES, expectFloat, floatTensor, num, scalarNum } from './reduce-util.js';


const dropout = defineOp({
  op: 'Dropout',
  // the mask is random in training mode
  traits: { deterministic: false },
  attrs: { seed: attr.int() },
  inputs: [1, 3],
  outputs: [1, 2],
  infer(ctx) {
    const x = inType(ctx, 0);
    expectFloat(x, 'data');
    const r = optInType(ctx, 1);
    if (r) {
      expectDType(r, FLOAT_TYPES, 'ratio');
      if (r.shape && r.shape.length !== 0) throw new ShapeError(`ratio must be a scalar, got rank ${r.shape.length}`);
    }
    const t = optInType(ctx, 2);
    if (t) {
      expectDType(t, ['bool'], 'training_mode');
      if (t.shape && t.shape.length !== 0) throw new ShapeError(`training_mode must be a scalar, got rank ${t.shape.length}`);
    }
    const out = [withShape(x, x.shape), tensorOf('bool', x.shape)];
    return out.slice(0, Math.max(1, ctx.numOutputs));
  },
  run(ctx) {
    const x = input(ctx, 0);
    const r = optInput(ctx, 1);
    const t = optInput(ctx, 2);
    const ratio = r ? scalarNum(r, 'ratio') : 0.5;
    const training = t !== undefined && num(t, 0) !== 0;
    const mask = makeTensor('bool', x.dims);
    if (!training || ratio === 0) {
      mask.data.fill(1);
      return [x, mask];
    }
    if (!(ratio > 0 && ratio < 1)) throw new KernelError(`ratio must be in [0, 1) in training mode, got ${ratio}`);
    const rand = prng(ctx.attrs.seed ?? 0);
    const scale = 1 / (1 - ratio);
    const y = new Float64Array(x.data.length);
    for (let i = 0; i < y.length; i++) {
      const keep = rand() >= ratio;
      mask.data[i] = keep ? 1 : 0;
      y[i] = keep ? num(x, i) * scale : 0;
    }
    return [floatTensor(x.dtype, x.dims, y), mask];
  },
});

export const dropoutOps: AnyOpDef[] = [dropout];

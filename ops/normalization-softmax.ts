// Softmax, LogSoftmax and Hardmax along one axis (opset 13 form). Older opsets coerced the input to 2-D at
// `axis`; the importer's opset rewrite (compiler/onnx/opsets) spells that out as Shape -> Flatten -> op -> Reshape.

import { ShapeError, assertNever } from '../ir/errors.js';
import { attrInt } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { AnyOpDef, ImportNode, LegacyContext } from './schema.js';
import { attr, defineOp } from './schema.js';
import { inType, input, normAxis, withShape } from './util.js';
import { expectFloat, floatTensor, runAxis, spanSize } from './reduce-util.js';

type Kind = 'softmax' | 'logsoftmax' | 'hardmax';

/** Apply `kind` to every 1-D lane along `axis`. */
export function softmaxAlong(kind: Kind, x: Tensor, axis: number): Tensor {
  const dims = x.dims;
  const outer = spanSize(dims, 0, axis);
  const len = dims[axis]!;
  const inner = spanSize(dims, axis + 1);
  const d = x.data as Float32Array | Float64Array;
  const out = new Float64Array(d.length);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const base = o * len * inner + q;
      let max = -Infinity; let arg = 0;
      for (let k = 0; k < len; k++) {
        const v = d[base + k * inner]!;
        if (v > max || (k === 0 && Number.isNaN(v))) { max = v; arg = k; }
      }
      switch (kind) {
        case 'hardmax':
          for (let k = 0; k < len; k++) out[base + k * inner] = k === arg ? 1 : 0;
          break;
        case 'softmax': case 'logsoftmax': {
          let sum = 0;
          for (let k = 0; k < len; k++) sum += Math.exp(d[base + k * inner]! - max);
          const logSum = Math.log(sum);
          for (let k = 0; k < len; k++) {
            const z = d[base + k * inner]! - max;
            out[base + k * inner] = kind === 'softmax' ? Math.exp(z) / sum : z - logSum;
          }
          break;
        }
        default: assertNever(kind, 'softmax kind');
      }
    }
  }
  return floatTensor(x.dtype, dims, out);
}

function softmaxOp(op: string, kind: Kind): AnyOpDef {
  return defineOp({
    op,
    attrs: { axis: attr.int(-1) },
    inputs: [1, 1],
    outputs: [1, 1],
    infer(ctx) {
      const x = inType(ctx, 0);
      expectFloat(x, 'input');
      if (x.shape) normAxis(ctx.attrs.axis, x.shape.length);
      return [withShape(x, x.shape)];
    },
    run(ctx) {
      const x = input(ctx, 0);
      return [softmaxAlong(kind, x, runAxis(ctx.attrs.axis, x.dims.length))];
    },
  });
}

export const softmaxOps: AnyOpDef[] = [
  softmaxOp('Softmax', 'softmax'),
  softmaxOp('LogSoftmax', 'logsoftmax'),
  softmaxOp('Hardmax', 'hardmax'),
];

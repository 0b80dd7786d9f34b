// Seeded random inputs for a model, for `onnxc run` without --inputs and for differential checks.

import { UsageError } from '../ir/errors.js';
import { prng } from '../ir/random.js';
import type { DType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { makeTensor, roundToDType, type Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { formatType } from '../ir/types.js';


/** Concrete dims for a declared shape, with symbols resolved from `dims`. */
export function concreteShape(name: string, shape: readonly Dim[], dims: Readonly<Record<string, number>>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = dims[d];
    if (v === undefined) throw new UsageError(`input '${name}' has symbolic dim '${d}': give it a size with --dim ${d}=N`);
    return v;
  });
}

/** A tensor of random values: floats in [-1, 1), integers in [0, 4), bools 0/1, short strings. */
export function randomTensor(dtype: DType, dims: readonly number[], rand: () => number): Tensor {
  const t = makeTensor(dtype, dims);
  const n = t.data.length;
  if (n > 1 << 28) throw new UsageError(`random input of ${n} elements is too large`);
  const data = t.data;
  for (let i = 0; i < n; i++) {
    const r = rand();
    switch (dtype) {
      case 'float32': case 'float64': case 'float16': case 'bfloat16':
        (data as Float32Array)[i] = r * 2 - 1; break;
      case 'int64': case 'uint64': (data as BigInt64Array)[i] = BigInt(Math.floor(r * 4)); break;
      case 'bool': (data as Uint8Array)[i] = r < 0.5 ? 0 : 1; break;
      case 'string': (data as string[])[i] = `s${Math.floor(r * 4)}`; break;
      default: (data as Int32Array)[i] = Math.floor(r * 4);
    }
  }
  return roundToDType(t);
}

/** Random inputs for every graph input (tensor inputs only), seeded. */
export function randomInputs(graph: Graph, dims: Readonly<Record<string, number>>, seed = 1): Tensor[] {
  const rand = prng(seed);
  return graph.inputs.map((name) => {
    const t = graph.types.get(name);
    if (t?.kind !== 'tensor' || t.shape === undefined) {
      throw new UsageError(`input '${name}' has type ${t ? formatType(t) : 'unknown'}: random inputs need a tensor of known rank`);
    }
    return randomTensor(t.dtype, concreteShape(name, t.shape, dims), rand);
  });
}

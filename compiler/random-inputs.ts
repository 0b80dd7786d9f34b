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

/** A tensor of random values: floats in [-1, 1), integers in [0, intBound) (default 4), bools 0/1, short strings. */
export function randomTensor(dtype: DType, dims: readonly number[], rand: () => number, intBound = 4): Tensor {
  const t = makeTensor(dtype, dims);
  const n = t.data.length;
  if (n > 1 << 28) throw new UsageError(`random input of ${n} elements is too large`);
  const data = t.data;
  for (let i = 0; i < n; i++) {
    const r = rand();
    switch (dtype) {
      case 'float32': case 'float64': case 'float16': case 'bfloat16':
        (data as Float32Array)[i] = r * 2 - 1; break;
      case 'int64': case 'uint64': (data as BigInt64Array)[i] = BigInt(Math.floor(r * intBound)); break;
      case 'bool': (data as Uint8Array)[i] = r < 0.5 ? 0 : 1; break;
      case 'string': (data as string[])[i] = `s${Math.floor(r * 4)}`; break;
      default: (data as Int32Array)[i] = Math.floor(r * intBound);
    }
  }
  return roundToDType(t);
}

/** Ops that pass an integer input's values through unchanged (some reshaped or repeated), so a Gather further on
 *  still indexes with them. */
const VALUE_PRESERVING = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Expand', 'Transpose', 'Slice']);

/** For each integer graph input used as Gather/GatherElements indices (directly or through value-preserving ops),
 *  the smallest static size of the axis it indexes: random indices must stay below it, or a model with a 2-row
 *  token-type table (BERT) gets out-of-range indices that onnxruntime and onnxc rightly refuse. */
export function indexBounds(graph: Graph): Map<string, number> {
  const consumers = new Map<string, { op: string; slot: number; node: Graph['nodes'][number] }[]>();
  for (const node of graph.nodes) {
    node.inputs.forEach((v, slot) => {
      if (v === '') return;
      let list = consumers.get(v);
      if (list === undefined) consumers.set(v, list = []);
      list.push({ op: node.op, slot, node });
    });
  }
  const bounds = new Map<string, number>();
  for (const input of graph.inputs) {
    let bound = Infinity;
    const seen = new Set<string>();
    const walk = (value: string): void => {
      if (seen.has(value)) return;
      seen.add(value);
      for (const { op, slot, node } of consumers.get(value) ?? []) {
        if (VALUE_PRESERVING.has(op) && slot === 0) { for (const out of node.outputs) if (out !== '') walk(out); continue; }
        if ((op === 'Gather' || op === 'GatherElements') && slot === 1) {
          const data = graph.types.get(node.inputs[0]!);
          if (data?.kind !== 'tensor' || data.shape === undefined) continue;
          const rank = data.shape.length;
          const a = node.attrs['axis'];
          const raw = a?.kind === 'int' ? a.value : 0;
          const dim = data.shape[raw < 0 ? raw + rank : raw];
          if (typeof dim === 'number' && dim > 0) bound = Math.min(bound, dim);
        }
      }
    };
    walk(input);
    if (Number.isFinite(bound)) bounds.set(input, bound);
  }
  return bounds;
}

/** Random inputs for every graph input (tensor inputs only), seeded. Integer inputs that index a table stay within
 *  it (see indexBounds); others are in [0, 4). */
export function randomInputs(graph: Graph, dims: Readonly<Record<string, number>>, seed = 1): Tensor[] {
  const rand = prng(seed);
  const bounds = indexBounds(graph);
  return graph.inputs.map((name) => {
    const t = graph.types.get(name);
    if (t?.kind !== 'tensor' || t.shape === undefined) {
      throw new UsageError(`input '${name}' has type ${t ? formatType(t) : 'unknown'}: random inputs need a tensor of known rank`);
    }
    return randomTensor(t.dtype, concreteShape(name, t.shape, dims), rand, Math.min(4, bounds.get(name) ?? 4));
  });
}

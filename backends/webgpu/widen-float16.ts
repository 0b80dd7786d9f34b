// float16 models on WebGPU: every float16 value is computed and stored as float32 (constants widened once, Casts
// to float16 become Casts to float32), when the model's inputs and outputs are not float16 themselves (its
// interface keeps its declared types, so those models are left to be refused per node). The adapter may lack
// shader-f16 (Chromium's SwiftShader does), and f16 storage would need packed kernels for every op; computing in
// float32 is at least as accurate as float16 arithmetic, but does not reproduce its rounding of each intermediate,
// so results differ from a float16 run (onnxruntime's) by about float16's precision.

import { onnxCode } from '../../ir/dtype.js';
import type { Attr, Graph, Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { inferGraph } from '../../ops/infer-graph.js';

const F16 = onnxCode('float16'), F32 = onnxCode('float32');
const is16 = (t: ValueType | undefined): boolean => t?.kind === 'tensor' && t.dtype === 'float16';
const widenTensor = (t: Tensor): Tensor => (t.dtype === 'float16' ? makeTensor('float32', t.dims, Float32Array.from(t.data as Float32Array)) as Tensor : t);

function widenAttr(a: Attr): Attr {
  if (a.kind === 'tensor') return { kind: 'tensor', value: widenTensor(a.value) };
  return a;
}

/** `g` with float16 computed in float32; unchanged when it has no float16 value or its interface has one. */
export function widenFloat16(g: Graph, source?: string): Graph {
  if (![...g.types.values()].some(is16)) return g;
  if ([...g.inputs, ...g.outputs].some((v) => is16(g.types.get(v)))) return g;
  if (g.nodes.some((n) => Object.values(n.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs'))) return g;
  const types = new Map<string, ValueType>();
  for (const [v, t] of g.types) types.set(v, is16(t) ? { ...t, dtype: 'float32' } as ValueType : t);
  const initializers = new Map([...g.initializers].map(([k, t]) => [k, widenTensor(t)]));
  const nodes = g.nodes.map((n): Node => {
    const attrs = Object.fromEntries(Object.entries(n.attrs).map(([k, a]) => [k, widenAttr(a)]));
    if (n.op === 'Cast' && n.attrs.to?.kind === 'int' && n.attrs.to.value === F16) attrs.to = { kind: 'int', value: F32 };
    return { ...n, attrs };
  });
  return inferGraph({ ...g, nodes, initializers, types }, { source });
}

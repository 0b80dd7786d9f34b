// The figure scripts' last check: onnxruntime-node runs the quantised ONNX file and its outputs are compared with
// what onnxc's wasm artifact of that file computed on the same inputs.

import { runOrt } from '../compiler/ort.js';
import type { Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';

/** The largest |onnxruntime - artifact| over the first `n` samples, each output's error taken relative to its
 *  largest |onnxruntime| value. `inputs[s]` holds sample s's feeds in the graph's input order, `got[s]` the
 *  artifact's outputs in the graph's output order. */
export async function ortVsArtifact(
  bytes: Uint8Array, graph: { readonly inputs: readonly string[]; readonly outputs: readonly string[] },
  inputs: readonly (readonly RuntimeValue[])[], got: readonly (readonly RuntimeValue[])[], n: number,
): Promise<number> {
  let worst = 0;
  for (let s = 0; s < n; s++) {
    const feeds = Object.fromEntries(graph.inputs.map((name, i) => [name, inputs[s]![i]!]));
    const o = await runOrt(bytes, feeds);
    o.values.forEach((t, k) => {
      const b = got[s]![graph.outputs.indexOf(o.names[k]!)] as Tensor, x = t.data as Float32Array, y = b.data as Float32Array;
      let e = 0, m = 0;
      for (let i = 0; i < x.length; i++) { e = Math.max(e, Math.abs(x[i]! - y[i]!)); m = Math.max(m, Math.abs(x[i]!)); }
      worst = Math.max(worst, e / m);
    });
  }
  return worst;
}

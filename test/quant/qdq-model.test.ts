// mobilenet_v2_qdq (shared/models, quantised by onnxruntime's QDQ tooling) at -O3: every Conv becomes an integer
// onnxc.QConv and every residual Add an onnxc.QLinearAdd, the weights stay int8 (weights region under 4 MB, against
// 13.9 MB in float32), and the artifact's output matches the data set's expected output (onnxruntime's) within one
// output quantisation step: 1e-2 of the output range.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import type { Tensor } from '../../ir/tensor.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { missingReason, sharedPath } from '../helpers/shared.js';

const dir = sharedPath('models', 'mobilenet_v2_qdq');

describe.skipIf(!dir)(`mobilenet_v2_qdq on integer kernels${dir ? '' : ` (${missingReason('models', 'mobilenet_v2_qdq')})`}`, () => {
  it('compiles to QConv/QLinearAdd with int8 weights and matches the expected output', () => {
    const model = loadModel(`${dir}/model.onnx`);
    const x = readValueFile(`${dir}/test_data_set_0/input_0.pb`) as Tensor;
    const want = readValueFile(`${dir}/test_data_set_0/output_0.pb`) as Tensor;
    const { artifact, graph } = compileWasmGraph(model.graph, { inputShapes: { [model.graph.inputs[0]!]: x.dims }, embedLimit: 0 }, { level: 3 });
    const count = (op: string): number => graph.nodes.filter((n) => n.op === op).length;
    expect(count('onnxc.QConv')).toBe(52);
    expect(count('onnxc.QLinearAdd')).toBe(10);
    expect(count('Conv') + count('onnxc.FusedConv')).toBe(0);
    expect(artifact.weights.byteLength).toBeLessThanOrEqual(4e6);
    const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
    const y = s.runSync({ [model.graph.inputs[0]!]: toTensorValue(x) })[model.graph.outputs[0]!]!.data as Float32Array;
    const w = want.data as Float32Array;
    let err = 0, mag = 0;
    w.forEach((v, i) => { err = Math.max(err, Math.abs(v - y[i]!)); mag = Math.max(mag, Math.abs(v)); });
    expect(err).toBeLessThanOrEqual(1e-2 * mag);
  }, 300_000);
});

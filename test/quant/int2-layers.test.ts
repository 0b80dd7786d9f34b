// quantize-weights' per-layer widths (quant-layer-bits): a 2-bit layer is int2 in the ONNX file, onnxruntime runs it
// and agrees with onnxc's reference, the wasm artifact keeps it at a quarter byte a weight and computes what the
// reference does; finer blocks for a named layer; and the measured allocation's decision rule (passes/quant/allocate.ts).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasmGraph } from '../../compiler/compile.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { importModel } from '../../compiler/onnx/import.js';
import { runOrt } from '../../compiler/ort.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { defaultContext } from '../../passes/pass.js';
import { getPass } from '../../passes/index.js';
import { allocateWidths, linearLayers } from '../../passes/quant/allocate.js';
import { quantizeModel } from '../../compiler/calibrate-quantize.js';
import { makeTensor } from '../../ir/tensor.js';
import { groupScale } from '../../passes/quant/weight-quant.js';
import { randTensor, worstError } from '../wasm/helpers.js';

function mlp() {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', [6, 64]);
  const h = b.op('Relu', [b.op('MatMul', [x, b.weight('w1', randTensor([64, 128], 4))])]);
  b.output(b.op('MatMul', [h, b.weight('w2', randTensor([128, 64], 5))]));
  return b.model({ source: 'mlp' });
}

/** The name of the MatMul node reading weight `w`. */
const reader = (g: { nodes: readonly { name: string; inputs: readonly string[] }[] }, w: string): string => g.nodes.find((n) => n.inputs.includes(w))!.name;

const quantize = (g: ReturnType<typeof mlp>['graph'], opts: Record<string, string>) =>
  getPass('quantize-weights')!.run(g, defaultContext({ options: new Map(Object.entries({ 'quant-bits': '4', ...opts })) }));

describe('quantize-weights per-layer widths', () => {
  it('a 2-bit layer: int2 in the file, onnxruntime agrees with the reference, a quarter byte a weight in the artifact', async () => {
    const model = mlp();
    const q = quantize(model.graph, { 'quant-layer-bits': `${reader(model.graph, 'w1')}=2/32` });
    expect(q.initializers.get('w1_q')?.dtype).toBe('int2');
    expect(q.initializers.get('w2_q')?.dtype).toBe('int4');
    const w1 = q.initializers.get('w1_q')!.data as Int8Array;
    expect(Math.min(...w1)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...w1)).toBeLessThanOrEqual(1);
    const bytes = exportModel({ ...model, graph: q });
    const back = importModel(bytes, { source: 'mlp-int2.onnx' });
    expect(Array.from(back.graph.initializers.get('w1_q')!.data as Int8Array)).toEqual(Array.from(w1));
    const x = randTensor([6, 64], 9);
    const ours = runGraph(back.graph, [x])[0] as Tensor, theirs = (await runOrt(bytes, { x })).values[0]!;
    let err = 0, mag = 0;
    ours.data.forEach((v, i) => { err = Math.max(err, Math.abs(Number(v) - Number(theirs.data[i]))); mag = Math.max(mag, Math.abs(Number(v))); });
    expect(err).toBeLessThanOrEqual(1e-5 * mag);
    // the wasm artifact: both layers on the integer kernel, w1 packed four to a byte
    expect(worstError(back.graph, [x])).toBeLessThan(1e-5);
    const a = compileWasmGraph(back.graph, { source: 'mlp-int2.onnx' }, { level: 3 }).artifact;
    expect(a.manifest.kernels?.filter(([, op]) => op === 'onnxc.DequantMatMul')).toHaveLength(2);
    const all4 = compileWasmGraph(quantize(model.graph, {}), { source: 'mlp-int4' }, { level: 3 }).artifact;
    // w1's 8192 weights: 4096 bytes at 4 bits, 2048 at 2; its 2-bit blocks of 32 take 128 more float16 scales than
    // its 4-bit ones per column (256 bytes), and the stored pieces' 16-byte alignment moves a few bytes
    expect(all4.weights.length - a.weights.length).toBeGreaterThanOrEqual(2048 - 256 - 32);
  });

  it('a named layer takes its own block size; a malformed item is refused', () => {
    const model = mlp();
    const q = quantize(model.graph, { 'quant-layer-bits': `${reader(model.graph, 'w2')}=4/16`, 'quant-coarsen': '0', 'quant-block-size': '32' });
    const dq = (w: string) => q.nodes.find((n) => n.op === 'DequantizeLinear' && n.inputs[0] === `${w}_q`)!;
    expect(dq('w2').attrs['block_size']).toEqual({ kind: 'int', value: 16 });
    expect(dq('w1').attrs['block_size']).toEqual({ kind: 'int', value: 32 });
    expect(() => quantize(model.graph, { 'quant-layer-bits': 'mm1=3' })).toThrow(/quant-layer-bits=mm1=3/);
  });

  it('2-bit scales clip far more than 4-bit ones (4 levels), and may be negative so the largest weight lands on -2', () => {
    const v = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * (i === 5 ? 3 : 1));
    const s4 = groupScale(v, 4, false), s2 = groupScale(v, 2, false, true);
    const max = Math.max(...Array.from(v, Math.abs));
    expect(s4).toBeGreaterThan(0.7 * max / 7);
    expect(Math.abs(s2)).toBeLessThan(0.8 * max);
  });
});

describe('measured allocation (allocateWidths)', () => {
  it('2 bits where a layer alone adds at most 2% of the 4-bit error power, finer blocks from 1/8 of it, else nothing', () => {
    const probes = [
      { node: 'q', twoBit: 0.015, fourBit: 0.001 },
      { node: 'up', twoBit: 4, fourBit: 0.3 },
      { node: 'down', twoBit: 1, fourBit: 0.05 },
    ];
    expect(allocateWidths(probes, 1, 64)).toBe('q=2/64,up=4/32');
    // blocks already as small as the form allows: no finer step
    expect(allocateWidths(probes, 1, 16)).toBe('q=2/16');
    expect(allocateWidths([], 1, 64)).toBe('');
  });

  it('probes only single-reader MatMul/Gemm weights, not tables or excluded nodes', () => {
    const b = new GraphBuilder('emb');
    const ids = b.input('ids', 'int64', [1, 4]);
    const e = b.op('Gather', [b.weight('wte', randTensor([32, 16], 3)), ids], { axis: 0 });
    const w = b.weight('w', randTensor([16, 16], 4));
    const h = b.op('MatMul', [e, w]);
    const k = b.op('MatMul', [h, w]);
    b.output(b.op('MatMul', [k, b.weight('w3', randTensor([16, 8], 5))]));
    const g = b.build(), c = reader(g, 'w3');
    expect(linearLayers(g)).toEqual([c]);
    expect(linearLayers(g, (n) => n === c)).toEqual([]);
  });
});

describe('quantizeModel weights-int4: measured widths', () => {
  it('a layer whose output is scaled down to nothing takes 2 bits, the layer carrying the output finer blocks', () => {
    const b = new GraphBuilder('two-branch');
    const x = b.input('x', 'float32', [4, 128]);
    const main = b.op('MatMul', [x, b.weight('w1', randTensor([128, 32], 4))]);
    const side = b.op('Mul', [b.op('MatMul', [x, b.weight('w2', randTensor([128, 32], 5))]), b.weight('tiny', makeTensor('float32', [1], Float32Array.of(1e-3)))]);
    b.output(b.op('Add', [main, side]));
    const model = b.model({ source: 'two-branch' });
    const samples = Array.from({ length: 8 }, (_, i) => [randTensor([4, 128], 100 + i)]);
    const r = quantizeModel(model, samples, { mode: 'weights-int4' });
    const g = model.graph;
    expect(r.report.layerBits).toBe(`${reader(g, 'w1')}=4/32,${reader(g, 'w2')}=2/64`);
    expect(r.model.graph.initializers.get('w2_q')?.dtype).toBe('int2');
    expect(r.model.graph.initializers.get('w1_q')?.dtype).toBe('int4');
    expect(quantizeModel(model, samples, { mode: 'weights-int4', allocate: false }).report.layerBits).toBeUndefined();
  });
});

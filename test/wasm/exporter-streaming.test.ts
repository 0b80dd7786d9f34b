// Streaming models written the way PyTorch's and spox's exporters write them, imported, compiled to wasm and run
// through the shipped runtime against the reference interpreter: symbolic input dims, Shape -> Gather -> Equal ->
// If chains (folded once the dims are fixed), an If on a run-time sample-rate scalar with a nested If inside, If
// outputs declared with an empty type, LSTM state carried by the runtime from chunk to chunk; nested Ifs whose
// bodies redefine outer names, a Loop with no trip count whose body computes its condition; and a framing front
// end built from SplitToSequence -> SequenceMap -> ConcatFromSequence.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasmGraph, fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import type { Model } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { createSessionSync, type TensorValue, type WasmSession } from '../../runtime/wasm/session.js';
import { attrG, attrI, attrInts, graph, model, node, vi } from '../onnx/build.js';

const F = 1, I64 = 7, BOOL = 9;
const H = 8;
let seed = 7;
const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
const f32 = (dims: number[], f: (i: number) => number = rand): Tensor => fromValues('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));
const i64 = (v: number | bigint): Tensor => fromValues('int64', [], [BigInt(v)]);
const untyped = (name: string): { name: string; type: object } => ({ name, type: {} });

/** Outputs within `tol` of the reference's, relative to each output's largest |value|. */
function close(got: Tensor, want: Tensor, what: string, tol = 1e-5): void {
  expect(got.dims, what).toEqual(want.dims);
  const w = want.data as Float32Array, g = got.data as Float32Array;
  const scale = Math.max(1, ...Array.from(w, Math.abs));
  for (let i = 0; i < w.length; i++) expect(Math.abs(g[i]! - w[i]!) / scale, `${what}[${i}]`).toBeLessThan(tol);
}

function compiled(m: Model, opts: Parameters<typeof compileWasmGraph>[1]): WasmSession {
  const { artifact } = compileWasmGraph(m.graph, { source: m.info.source, ...opts }, { level: 3 });
  return createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
}

/** PyTorch-style keyword spotter: audio float32[batch, chunk] (symbolic), sr int64 scalar, LSTM state h/c in and
 *  out. Framing depends on the chunk length through Shape -> Gather -> Equal -> If; gain on sr through an If with
 *  a nested If, every branch output declared with an empty type, names as torch.onnx writes them. */
function pytorchKws(): Model {
  const gainInner = {
    then: graph([node('Mul', ['/frames', '/c_half'], ['/If_1/If_0/Mul_output_0'])], [], [untyped('/If_1/If_0/Mul_output_0')]),
    else: graph([node('Identity', ['/frames'], ['/If_1/If_0/Identity_output_0'])], [], [untyped('/If_1/If_0/Identity_output_0')]),
  };
  const gain = {
    then: graph([
      node('ReduceMax', ['/frames'], ['/If_1/ReduceMax_output_0'], [attrI('keepdims', 0)]),
      node('Greater', ['/If_1/ReduceMax_output_0', '/c_one'], ['/If_1/Greater_output_0']),
      node('If', ['/If_1/Greater_output_0'], ['/If_1/If_0_output_0'], [attrG('then_branch', gainInner.then), attrG('else_branch', gainInner.else)]),
    ], [], [untyped('/If_1/If_0_output_0')]),
    else: graph([node('Mul', ['/frames', '/c_two'], ['/If_1/Mul_output_0'])], [], [untyped('/If_1/Mul_output_0')]),
  };
  const framing = {
    then: graph([node('Reshape', ['audio', '/c_shape10'], ['/If_0/Reshape_output_0'])], [], [untyped('/If_0/Reshape_output_0')]),
    else: graph([node('Reshape', ['audio', '/c_shape_any'], ['/If_0/Reshape_output_0']), node('Mul', ['/If_0/Reshape_output_0', '/c_half'], ['/If_0/Mul_output_0'])], [], [untyped('/If_0/Mul_output_0')]),
  };
  return importModel(model(graph([
    node('Shape', ['audio'], ['/Shape_output_0']),
    node('Gather', ['/Shape_output_0', '/c_1'], ['/Gather_output_0'], [attrI('axis', 0)]),
    node('Equal', ['/Gather_output_0', '/c_160'], ['/Equal_output_0']),
    node('If', ['/Equal_output_0'], ['/frames'], [attrG('then_branch', framing.then), attrG('else_branch', framing.else)]),
    node('Equal', ['sr', '/c_16000'], ['/Equal_1_output_0']),
    node('If', ['/Equal_1_output_0'], ['/gained'], [attrG('then_branch', gain.then), attrG('else_branch', gain.else)]),
    node('Transpose', ['/gained'], ['/Transpose_output_0'], [attrInts('perm', [1, 0, 2])]),
    node('LSTM', ['/Transpose_output_0', 'W', 'R', 'B', '', 'h', 'c'], ['/lstm/Y', 'hn', 'cn'], [attrI('hidden_size', H)]),
    node('Squeeze', ['hn', '/c_axes0'], ['/Squeeze_output_0']),
    node('MatMul', ['/Squeeze_output_0', 'Wo'], ['logits']),
  ], [vi('audio', F, ['batch', 'chunk']), vi('sr', I64, []), vi('h', F, [1, 'batch', H]), vi('c', F, [1, 'batch', H])],
  [vi('logits', F, ['batch', 3]), vi('hn', F, [1, 'batch', H]), vi('cn', F, [1, 'batch', H])], [
    ['/c_1', i64(1)], ['/c_160', i64(160)], ['/c_16000', i64(16000)], ['/c_axes0', fromValues('int64', [1], [0n])],
    ['/c_shape10', fromValues('int64', [3], [0n, 10n, 16n])], ['/c_shape_any', fromValues('int64', [3], [0n, -1n, 16n])],
    ['/c_half', f32([], () => 0.5)], ['/c_one', f32([], () => 1)], ['/c_two', f32([], () => 2)],
    ['W', f32([1, 4 * H, 16])], ['R', f32([1, 4 * H, H])], ['B', f32([1, 8 * H])], ['Wo', f32([H, 3])],
  ]), { opset: 17 }), { source: 'pytorch-kws.onnx' });
}

/** The name the importer gave the framing If (the first If of the graph). */
const framingIf = (m: Model): string => m.graph.nodes.find((n) => n.op === 'If')!.name;

/** spox-style: nested Ifs with empty-typed outputs whose bodies redefine the outer name `t`, then a Loop with no
 *  trip count whose body computes its condition (and redefines `t` again); x float32[4], c bool, limit float32. */
function spoxNested(): Model {
  const inner = {
    then: graph([node('Mul', ['x', 'two'], ['t']), node('Sub', ['t', 'one'], ['u1'])], [], [untyped('u1')]),
    else: graph([node('Neg', ['t'], ['u2'])], [], [untyped('u2')]),
  };
  const outer = {
    then: graph([node('Greater', ['limit', 'one'], ['big']), node('If', ['big'], ['v1'], [attrG('then_branch', inner.then), attrG('else_branch', inner.else)])], [], [untyped('v1')]),
    else: graph([node('Add', ['t', 't'], ['t_again']), node('Identity', ['t_again'], ['v2'])], [], [untyped('v2')]),
  };
  const body = graph([
    node('Mul', ['acc_in', 'three_halves'], ['t']), node('Abs', ['v'], ['av']), node('Add', ['av', 'one'], ['step']), node('Add', ['t', 'step'], ['acc_out']),
    node('Add', ['n_in', 'one_i'], ['n_out']),
    node('ReduceSum', ['acc_out'], ['s'], [attrI('keepdims', 0)]),
    node('Less', ['s', 'limit'], ['cond_out']),
  ], [vi('i', I64, []), vi('cond_in', BOOL, []), vi('acc_in', F, [4]), vi('n_in', I64, [])], [untyped('cond_out'), untyped('acc_out'), untyped('n_out')]);
  return importModel(model(graph([
    node('Add', ['x', 'one'], ['t']),
    node('If', ['c'], ['v'], [attrG('then_branch', outer.then), attrG('else_branch', outer.else)]),
    node('Mul', ['v', 't'], ['y']),
    node('Loop', ['', 'c', 'zeros', 'zero_i'], ['acc', 'n'], [attrG('body', body)]),
  ], [vi('x', F, [4]), vi('c', BOOL, []), vi('limit', F, [])], [untyped('y'), untyped('acc'), untyped('n')], [
    ['one', f32([], () => 1)], ['two', f32([], () => 2)], ['three_halves', f32([], () => 1.5)], ['zeros', f32([4], () => 0)],
    ['zero_i', i64(0)], ['one_i', i64(1)],
  ]), { opset: 18 }), { source: 'spox-nested.onnx' });
}

/** A framing front end over sequences: audio float32[1, 24] split into frames of 4, each frame's log energy by
 *  SequenceMap, concatenated back, with the frame count from SequenceLength. */
function sequenceFrontEnd(): Model {
  const body = graph([
    node('Mul', ['frame', 'frame'], ['sq']), node('ReduceMean', ['sq'], ['e'], [attrI('keepdims', 1)]),
    node('Add', ['e', 'eps'], ['e1']), node('Log', ['e1'], ['le']),
  ], [vi('frame', F, [1, 4])], [untyped('le')]);
  return importModel(model(graph([
    node('SplitToSequence', ['audio', 'four'], ['frames'], [attrI('axis', 1)]),
    node('SequenceMap', ['frames'], ['energies'], [attrG('body', body)]),
    node('ConcatFromSequence', ['energies'], ['feat'], [attrI('axis', 1)]),
    node('SequenceLength', ['frames'], ['count']),
  ], [vi('audio', F, [1, 24])], [untyped('feat'), untyped('count')], [['four', i64(4)], ['eps', f32([], () => 1e-6)]]), { opset: 17 }), { source: 'seq-front-end.onnx' });
}

describe('exporter-style streaming models on wasm', () => {
  it('PyTorch KWS: Shape->Gather->If folded, If on sr at run time (nested If inside), LSTM state carried over 6 chunks', () => {
    const m = pytorchKws();
    const s = compiled(m, { dims: { batch: 1, chunk: 160 }, carry: { h: 'hn', c: 'cn' } });
    // the framing If is folded away (chunk = 160 is fixed); the sr If (and the If nested in its then branch) stay
    // and choose at run time
    expect(s.manifest.kernels!.filter(([, op]) => op === 'If').length).toBe(2);
    expect(s.manifest.kernels!.map(([n]) => n)).not.toContain(framingIf(m));
    let h = f32([1, 1, H], () => 0), c = f32([1, 1, H], () => 0);
    for (let k = 0; k < 6; k++) {
      const audio = f32([1, 160], (i) => Math.sin(0.05 * (i + 160 * k)) * (k % 3 === 0 ? 3 : 0.4));
      const sr = i64(k % 2 === 0 ? 16000 : 8000);
      // the first chunk feeds the state; later ones take it from the previous run
      const feeds: Record<string, TensorValue> = { audio: toTensorValue(audio), sr: toTensorValue(sr), ...(k === 0 ? { h: toTensorValue(h), c: toTensorValue(c) } : {}) };
      const got = s.runSync(feeds, { carry: { h: 'hn', c: 'cn' } });
      const want = runGraph(m.graph, [audio, sr, h, c]) as Tensor[];
      m.graph.outputs.forEach((o, i) => close(fromTensorValue(got[o]!), want[i]!, `chunk ${k} ${o}`));
      [h, c] = [want[1]!, want[2]!];
    }
  });

  it('PyTorch KWS at another chunk length is compiled with the other framing branch, and agrees', () => {
    const m = pytorchKws();
    const s = compiled(m, { dims: { batch: 2, chunk: 320 } });
    expect(s.manifest.kernels!.map(([n]) => n)).not.toContain(framingIf(m));
    const inputs = [f32([2, 320]), i64(8000), f32([1, 2, H]), f32([1, 2, H])];
    const got = s.runSync(Object.fromEntries(m.graph.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
    const want = runGraph(m.graph, inputs) as Tensor[];
    m.graph.outputs.forEach((o, i) => close(fromTensorValue(got[o]!), want[i]!, o));
  });

  it('spox: nested empty-typed Ifs with shadowed names, Loop with the condition computed in its body', () => {
    const m = spoxNested();
    const s = compiled(m, {});
    for (const [c, limit] of [[true, 3], [true, 0.5], [false, 3], [true, 40]] as const) {
      const x = f32([4], (i) => i - 1.5);
      const inputs = [x, fromValues('bool', [], [c ? 1 : 0]), f32([], () => limit)];
      const got = s.runSync(Object.fromEntries(m.graph.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
      const want = runGraph(m.graph, inputs) as Tensor[];
      close(fromTensorValue(got['y']!), want[0]!, `y c=${c} limit=${limit}`);
      close(fromTensorValue(got['acc']!), want[1]!, `acc c=${c} limit=${limit}`);
      expect(Number(fromTensorValue(got['n']!).data[0]), 'iterations').toBe(Number(want[2]!.data[0]));
    }
  });

  it('a SplitToSequence -> SequenceMap -> ConcatFromSequence front end lowers to tensors and agrees', () => {
    const m = sequenceFrontEnd();
    const s = compiled(m, {});
    const audio = f32([1, 24], (i) => Math.cos(i * 0.3));
    const got = s.runSync({ audio: toTensorValue(audio) });
    const want = runGraph(m.graph, [audio]) as Tensor[];
    close(fromTensorValue(got['feat']!), want[0]!, 'feat');
    expect(Number(fromTensorValue(got['count']!).data[0])).toBe(6);
    // no sequence op is left in the module: they moved no data, or became Slice/Concat
    expect(s.manifest.kernels!.map(([, op]) => op).filter((op) => op.startsWith('Sequence'))).toEqual([]);
  });
});

/** torch.jit.script's list append: `outs = []; for t in range(x.size(0)): h = tanh(x[t] @ W + h @ U); outs.append(h)`,
 *  then torch.stack(outs, 1) and torch.cat(outs, -1): a Loop whose trip count comes from Shape, carrying h and a sequence, then
 *  ConcatFromSequence (new_axis 1 and 0). x float32[T, 1, 4] with T symbolic. */
function scriptedListAppend(): Model {
  const body = graph([
    node('Identity', ['cond_in'], ['cond_out']),
    node('Gather', ['x', 't'], ['xt'], [attrI('axis', 0)]),
    node('MatMul', ['xt', 'W'], ['a']), node('MatMul', ['h_in', 'U'], ['b']), node('Add', ['a', 'b'], ['ab']),
    node('Tanh', ['ab'], ['h_out']),
    node('SequenceInsert', ['outs_in', 'h_out'], ['outs_out']),
  ], [vi('t', I64, []), vi('cond_in', BOOL, []), untyped('h_in'), { name: 'outs_in', type: { sequence_type: { elem_type: { tensor_type: { elem_type: F } } } } }],
  [untyped('cond_out'), untyped('h_out'), untyped('outs_out')]);
  return importModel(model(graph([
    node('Shape', ['x'], ['/Shape_output_0']), node('Gather', ['/Shape_output_0', 'zero'], ['T'], [attrI('axis', 0)]),
    node('SequenceEmpty', [], ['empty'], [attrI('dtype', F)]),
    node('Loop', ['T', 'true', 'h0', 'empty'], ['h', 'outs'], [attrG('body', body)]),
    node('ConcatFromSequence', ['outs'], ['y'], [attrI('axis', 1), attrI('new_axis', 1)]),
    node('ConcatFromSequence', ['outs'], ['ycat'], [attrI('axis', -1)]),
  ], [vi('x', F, ['T', 1, 4]), vi('h0', F, [1, 3])], [untyped('y'), untyped('h'), untyped('ycat')], [
    ['zero', i64(0)], ['true', fromValues('bool', [], [1])], ['W', f32([4, 3])], ['U', f32([3, 3])],
  ]), { opset: 17 }), { source: 'scripted-list-append.onnx' });
}

describe('scripted PyTorch list append', () => {
  it('a Loop appending to a list for x.size(0) steps stays one loop (the list a scan output), and agrees for T = 1, 5, 64 and 600', () => {
    const m = scriptedListAppend();
    for (const T of [1, 5, 64, 600]) {
      const s = compiled(m, { dims: { T } });
      // not unrolled (the limit is 256 iterations): one Loop kernel whatever T
      expect(s.manifest.kernels!.filter(([, op]) => op === 'Loop').length, `T=${T}`).toBe(1);
      const x = f32([T, 1, 4]), h0 = f32([1, 3]);
      const got = s.runSync({ x: toTensorValue(x), h0: toTensorValue(h0) });
      const want = runGraph(m.graph, [x, h0]) as Tensor[];
      close(fromTensorValue(got['y']!), want[0]!, `y T=${T}`);
      close(fromTensorValue(got['h']!), want[1]!, `h T=${T}`);
      close(fromTensorValue(got['ycat']!), want[2]!, `ycat T=${T}`);
    }
  });
});

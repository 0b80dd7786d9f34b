// Sequences and optionals on the wasm backend (lowering/sequences.ts + runtime/wasm/sequence-values.ts): minimal
// models with every sequence op, optionals present and empty, a Loop accumulating a sequence and If branches
// making sequences, each run through the shipped runtime and compared with the reference interpreter; and the
// errors: feeds of the wrong kind or length, layouts that depend on run-time values, over-long unrolled loops.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compareValues } from '../../compiler/compare.js';
import { compileWasmGraph, toTensorValue, wasmBackend } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { ShapeError } from '../../ir/errors.js';
import type { Model } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import type { RuntimeValue, SequenceValue } from '../../ir/value.js';
import { UnsupportedNodesError } from '../../lowering/support.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { attrG, attrI, graph, model, node, vi, type Obj } from '../onnx/build.js';

const F = 1, I64 = 7, BOOL = 9;
const f32 = (dims: number[], f: (i: number) => number): Tensor => fromValues('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));
const i64 = (v: number): Tensor => fromValues('int64', [], [BigInt(v)]);
const bool = (b: boolean): Tensor => fromValues('bool', [], [b ? 1 : 0]);
const seqT = (elem: Obj): Obj => ({ sequence_type: { elem_type: elem } });
const optT = (elem: Obj): Obj => ({ optional_type: { elem_type: elem } });
const tensorT = (elem: number, dims?: (number | string)[]): Obj => ({ tensor_type: { elem_type: elem, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } : {}) } });
const seqOf = (items: Tensor[]): RuntimeValue => ({ kind: 'sequence', elemType: { kind: 'tensor', dtype: items[0]?.dtype ?? 'float32' }, items });
const load = (bytes: Uint8Array, name: string): Model => importModel(bytes, { source: `${name}.onnx` });

/** The wasm backend (shipped runtime) against the reference on the same inputs: every output within 1e-6. */
function agree(m: Model, inputs: RuntimeValue[]): RuntimeValue[] {
  const got = wasmBackend.prepare(m).run(inputs);
  const want = runGraph(m.graph, inputs);
  want.forEach((w, i) => expect(compareValues(got[i]!, w, { atol: 1e-6, rtol: 1e-6 }).mismatch, m.graph.outputs[i]).toBeUndefined());
  return got;
}

/** xs: seq<float32[2,3]>, t: float32[2,3]. Insert t at the front, take the last, erase the first, count, stack,
 *  split a tensor into a sequence and map Add(e, 1) over it. */
function allOps(): Model {
  const body = graph([node('Add', ['e', 'one'], ['r'])], [vi('e', F, [1, 3])], [vi('r', F, [1, 3])]);
  return load(model(graph([
    node('SequenceInsert', ['xs', 't', 'zero'], ['s1']),
    node('SequenceAt', ['s1', 'minus1'], ['last']),
    node('SequenceErase', ['s1', 'zero'], ['s2']),
    node('SequenceLength', ['s1'], ['n']),
    node('ConcatFromSequence', ['s2'], ['stacked'], [attrI('axis', 0), attrI('new_axis', 1)]),
    node('ConcatFromSequence', ['s1'], ['joined'], [attrI('axis', 1)]),
    node('SplitToSequence', ['t', 'split'], ['parts'], [attrI('axis', 0)]),
    node('SequenceMap', ['parts'], ['mapped'], [attrG('body', body)]),
    node('SequenceEmpty', [], ['empty'], [attrI('dtype', F)]),
    node('SequenceInsert', ['empty', 'last'], ['single']),
  ], [{ name: 'xs', type: seqT(tensorT(F, [2, 3])) }, vi('t', F, [2, 3])], [
    vi('last', F, [2, 3]), vi('n', I64, []), vi('stacked', F), vi('joined', F), { name: 'mapped', type: seqT(tensorT(F, [1, 3])) }, { name: 'single', type: seqT(tensorT(F)) },
  ], [['zero', i64(0)], ['minus1', i64(-1)], ['split', fromValues('int64', [2], [1n, 1n])], ['one', f32([], () => 1)]])), 'seq-ops');
}

/** opt: opt<float32[3]>. y = OptionalHasElement(opt) ? OptionalGetElement(opt) * 2 : zeros; has = the test. */
function optionalModel(): Model {
  const then = graph([node('OptionalGetElement', ['opt'], ['v']), node('Mul', ['v', 'two'], ['y1'])], [], [vi('y1', F, [3])]);
  const els = graph([node('Identity', ['zeros'], ['y2'])], [], [vi('y2', F, [3])]);
  return load(model(graph([
    node('OptionalHasElement', ['opt'], ['has']),
    node('If', ['has'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)]),
    node('Identity', ['opt'], ['same']),
  ], [{ name: 'opt', type: optT(tensorT(F, [3])) }], [vi('has', BOOL, []), vi('y', F, [3]), { name: 'same', type: optT(tensorT(F, [3])) }],
  [['two', f32([], () => 2)], ['zeros', f32([3], () => 0)]]), { opset: 18 }), 'optional');
}

/** Loop(M, cond) carrying a sequence: iteration i appends x[0:i+1] (element shapes differ: test_loop13_seq). */
function loopSeq(): Model {
  const body = graph([
    node('Identity', ['cond_in'], ['cond_out']),
    node('Add', ['i', 'one'], ['end']),
    node('Unsqueeze', ['end', 'axes'], ['end1']),
    node('Slice', ['x', 'start', 'end1'], ['part']),
    node('SequenceInsert', ['seq_in', 'part'], ['seq_out']),
  ], [vi('i', I64, []), vi('cond_in', BOOL, []), { name: 'seq_in', type: seqT(tensorT(F)) }], [vi('cond_out', BOOL, []), { name: 'seq_out', type: seqT(tensorT(F)) }]);
  return load(model(graph([
    node('SequenceEmpty', [], ['s0'], [attrI('dtype', F)]),
    node('Loop', ['M', 'cond', 's0'], ['acc'], [attrG('body', body)]),
    node('SequenceLength', ['acc'], ['n']),
  ], [vi('M', I64, []), vi('cond', BOOL, []), vi('x', F, [6])], [{ name: 'acc', type: seqT(tensorT(F)) }, vi('n', I64, [])],
  [['one', i64(1)], ['axes', fromValues('int64', [1], [0n])], ['start', fromValues('int64', [1], [0n])]])), 'loop-seq');
}

/** If on a run-time condition whose branches build sequences of different lengths. */
function ifSeqLengths(): Model {
  const then = graph([node('SequenceConstruct', ['x', 'x'], ['a'])], [], [{ name: 'a', type: seqT(tensorT(F, [2])) }]);
  const els = graph([node('SequenceConstruct', ['x'], ['b'])], [], [{ name: 'b', type: seqT(tensorT(F, [2])) }]);
  return load(model(graph([node('If', ['c'], ['s'], [attrG('then_branch', then), attrG('else_branch', els)])],
    [vi('c', BOOL, []), vi('x', F, [2])], [{ name: 's', type: seqT(tensorT(F, [2])) }])), 'if-seq');
}

describe('sequences on wasm', () => {
  it('every sequence op agrees with the reference, for sequences of 1, 2 and 3 elements', () => {
    const m = allOps();
    for (const n of [1, 2, 3]) {
      const xs = seqOf(Array.from({ length: n }, (_, k) => f32([2, 3], (i) => i * 0.5 - k)));
      const got = agree(m, [xs, f32([2, 3], (i) => 10 + i)]);
      expect(Number((got[1] as Tensor).data[0])).toBe(n + 1);
      expect((got[2] as Tensor).dims).toEqual([n, 2, 3]);
    }
  });

  it('optionals: present and empty feeds, presence as a constant, an optional passed through', () => {
    const m = optionalModel();
    const present: RuntimeValue = { kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: f32([3], (i) => i + 1) };
    const empty: RuntimeValue = { kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: undefined };
    expect(Array.from((agree(m, [present])[1] as Tensor).data as Float32Array)).toEqual([2, 4, 6]);
    const none = agree(m, [empty]);
    expect(Number((none[0] as Tensor).data[0])).toBe(0);
    expect((none[2] as { value?: unknown }).value).toBeUndefined();
  });

  it('a Loop carrying a sequence is unrolled for its trip count (elements of growing shape)', () => {
    const m = loopSeq();
    const x = f32([6], (i) => i + 1);
    for (const M of [0, 1, 4]) {
      const got = agree(m, [i64(M), bool(true), x]);
      expect((got[0] as SequenceValue).items).toHaveLength(M);
    }
    // the condition false from the start: no iteration
    expect((agree(m, [i64(3), bool(false), x])[0] as SequenceValue).items).toHaveLength(0);
  });

  it('a Loop carrying a sequence past the unroll limit is refused as data-dependent, naming the node', () => {
    const m = loopSeq();
    let err: unknown;
    try { wasmBackend.prepare(m).run([i64(300), bool(true), f32([6], () => 1)]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedNodesError);
    expect((err as UnsupportedNodesError).nodes[0]).toMatchObject({ op: 'Loop', reason: 'data-dependent' });
    expect(String(err)).toMatch(/more than 256 iterations/);
  });

  it('If branches of different sequence lengths: refused for a run-time condition, compiled per fixed value', () => {
    const m = ifSeqLengths();
    expect(() => compileWasmGraph(m.graph, { source: 'if-seq.onnx' }, { level: 0 })).toThrow(/sequences of 2 and 1 elements in the two branches/);
    // the conformance adapter specialises on the bool input, as --fix would
    for (const c of [true, false]) agree(m, [bool(c), f32([2], (i) => i - 0.5)]);
  });

  it('a sequence input without a structure is a ShapeError naming it', () => {
    expect(() => compileWasmGraph(allOps().graph, { source: 'seq-ops.onnx' }, { level: 0 })).toThrow(ShapeError);
    expect(() => compileWasmGraph(allOps().graph, { source: 'seq-ops.onnx' }, { level: 0 })).toThrow(/input 'xs' is a sequence: give its structure/);
  });
});

describe('the runtime with sequence and optional feeds', () => {
  const m = allOps();
  const structures = { xs: { kind: 'sequence' as const, items: [{ kind: 'tensor' as const, dims: [2, 3] }, { kind: 'tensor' as const, dims: [2, 3] }] } };
  const { artifact } = compileWasmGraph(m.graph, { source: 'seq-ops.onnx', structures }, { level: 0 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
  const t = toTensorValue(f32([2, 3], (i) => i));
  const feedErr = (feeds: Record<string, unknown>): OnnxcRuntimeError => {
    try { s.runValuesSync(feeds as never); } catch (e) { return e as OnnxcRuntimeError; }
    throw new Error('the run was not refused');
  };

  it('names inputs and outputs as the model declares them and gives sequences back as arrays', () => {
    expect(s.inputNames).toEqual(['xs', 't']);
    expect(s.outputNames).toEqual(m.graph.outputs);
    expect(artifact.manifest.inputs.map((i) => i.name)).toEqual(['xs[0]', 'xs[1]', 't']);
    const out = s.runValuesSync({ xs: [t, t], t });
    expect(Array.isArray(out['mapped'])).toBe(true);
    expect((out['mapped'] as unknown[]).length).toBe(2);
    expect((out['single'] as unknown[]).length).toBe(1);
    // run() gives the tensors of a sequence output under their own names
    expect(Object.keys(s.runSync({ xs: [t, t], t }))).toContain('mapped[1]');
  });

  it('refuses a sequence of another length, a tensor for a sequence and an unknown input, with code feed', () => {
    for (const [feeds, msg] of [
      [{ xs: [t, t, t], t }, /input 'xs' has 3 elements; the module was compiled for 2/],
      [{ xs: t, t }, /input 'xs' is a sequence of 2 \(an array\); got a tensor/],
      [{ xs: [t, t], t, other: t }, /'other' is not an input of this model/],
      [{ xs: [t, { type: 'float32', dims: [3, 2], data: new Float32Array(6) }], t }, /input 'xs\[1\]' must be float32\[2,3\]/],
    ] as const) {
      const e = feedErr(feeds);
      expect(e).toBeInstanceOf(OnnxcRuntimeError);
      expect(e.code).toBe('feed');
      expect(e.message).toMatch(msg);
    }
  });

  it('an optional compiled present refuses null, one compiled empty refuses a value', () => {
    const om = optionalModel();
    const compileFor = (value: { kind: 'tensor'; dims: number[] } | null) => {
      const a = compileWasmGraph(om.graph, { source: 'optional.onnx', structures: { opt: { kind: 'optional', value } } }, { level: 0 }).artifact;
      return createSessionSync({ wasm: a.wasm, manifest: a.manifest });
    };
    const full = compileFor({ kind: 'tensor', dims: [3] }), empty = compileFor(null);
    const v = toTensorValue(f32([3], (i) => i));
    expect(full.runValuesSync({ opt: v })['same']).not.toBeNull();
    expect(empty.runValuesSync({ opt: null })['same']).toBeNull();
    expect(() => full.runValuesSync({ opt: null })).toThrow(/was compiled as an optional holding a tensor; got null/);
    expect(() => empty.runValuesSync({ opt: v })).toThrow(/was compiled as an empty optional/);
  });
});

describe('sequences inside a loop kept as a loop', () => {
  /** Loop(M at run time) { acc' = ConcatFromSequence(SplitToSequence(acc) reversed by SequenceAt) + x }: the body's
   *  sequences are lowered inside it, the loop itself stays a run-time loop. */
  function bodySeq(declared: boolean): Model {
    const t = (name: string, elem: number, dims: number[]): Obj => (declared ? vi(name, elem, dims) : { name, type: {} });
    const body = graph([
      node('Identity', ['c_in'], ['c_out']),
      node('SplitToSequence', ['acc_in'], ['parts'], [attrI('axis', 0), attrI('keepdims', 1)]),
      node('SequenceAt', ['parts', 'minus1'], ['last']),
      node('SequenceAt', ['parts', 'zero'], ['first']),
      node('SequenceConstruct', ['last', 'first'], ['swapped']),
      node('ConcatFromSequence', ['swapped'], ['cat'], [attrI('axis', 0)]),
      node('Add', ['cat', 'x'], ['acc_out']),
    ], [vi('i', I64, []), vi('c_in', BOOL, []), declared ? vi('acc_in', F, [2, 3]) : vi('acc_in', F)], [t('c_out', BOOL, []), t('acc_out', F, [2, 3])]);
    return load(model(graph([node('Loop', ['M', '', 'acc0'], ['acc'], [attrG('body', body)])],
      [vi('M', I64, []), vi('acc0', F, [2, 3]), vi('x', F, [2, 3])], [vi('acc', F, [2, 3])],
      [['minus1', i64(-1)], ['zero', i64(0)]])), 'loop-body-seq');
  }

  it('one artifact for any trip count, with declared body types and with a shapeless input / empty-typed outputs (inference types them)', () => {
    for (const declared of [true, false]) {
      const m = bodySeq(declared);
      const { artifact } = compileWasmGraph(m.graph, { source: 'loop-body-seq.onnx' }, { level: 0 });
      const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      for (const M of [0, 1, 5]) {
        const inputs = [i64(M), f32([2, 3], (i) => i), f32([2, 3], (i) => 0.5 * i - 1)];
        const got = s.runSync(Object.fromEntries(m.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k]!)])));
        const want = runGraph(m.graph, inputs)[0] as Tensor;
        expect(Array.from(got['acc']!.data as Float32Array), `M=${M}`).toEqual(Array.from(want.data as Float32Array));
      }
    }
  });
});

// Control flow chosen at run time on the wasm backend: one artifact, both If branches compiled (nested Ifs too),
// Loop with a run-time trip count, carried state and scan outputs, Scan forward/reverse on any axis; each checked
// against the reference interpreter, run after run on the same session. Shapes that depend on run-time values are
// refused at compile time (`data-dependent`), a Loop that ends before its planned trip count stops the run with an
// error naming the node, and the shipped loader.js runs a compiled If.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileToDir, compileWasmGraph, fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import type { Model } from '../../ir/graph.js';
import { limits } from '../../ir/limits.js';
import { fromValues, scalar, type Tensor } from '../../ir/tensor.js';
import { UnsupportedNodesError } from '../../lowering/support.js';
import { KernelTrap } from '../../runtime/wasm/kernel-error.js';
import { createSessionSync, type WasmSession } from '../../runtime/wasm/session.js';
import { attrG, attrI, attrInts, graph, model, node, vi } from '../onnx/build.js';

const F = 1, I64 = 7, BOOL = 9;
const bool = (b: boolean): Tensor => fromValues('bool', [], [b ? 1 : 0]);
const seq = (dims: number[], f: (i: number) => number): Tensor => fromValues('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));

function session(m: Model, opts: Parameters<typeof compileWasmGraph>[1] = {}): { s: WasmSession; ops: string[] } {
  const { artifact } = compileWasmGraph(m.graph, { source: m.info.source, ...opts }, { level: 0 });
  return { s: createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest }), ops: artifact.kernels.map((k) => k.op) };
}

/** Run the artifact and the reference on the same inputs; outputs must agree exactly (same kernels, same order). */
function agree(m: Model, s: WasmSession, inputs: Tensor[]): Tensor[] {
  const feeds = Object.fromEntries(m.graph.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)]));
  const got = s.runSync(feeds);
  const want = runGraph(m.graph, inputs) as Tensor[];
  m.graph.outputs.forEach((o, i) => {
    const g = fromTensorValue(got[o]!);
    expect(g.dims, o).toEqual(want[i]!.dims);
    expect(Array.from(g.data as ArrayLike<number>), o).toEqual(Array.from(want[i]!.data as ArrayLike<number>));
  });
  return want;
}

/** y = If(a) then (If(b) then Relu(x) + 1 else Neg(x)) else x * x: conditions are inputs, known only at run time. */
function nestedIf(): Model {
  const inner = {
    then: graph([node('Relu', ['x'], ['r']), node('Add', ['r', 'one'], ['t1'])], [], [{ name: 't1', type: {} }]),
    else: graph([node('Neg', ['x'], ['t2'])], [], [{ name: 't2', type: {} }]),
  };
  const then = graph([node('If', ['b'], ['t'], [attrG('then_branch', inner.then), attrG('else_branch', inner.else)])], [], [{ name: 't', type: {} }]);
  const els = graph([node('Mul', ['x', 'x'], ['e'])], [], [{ name: 'e', type: {} }]);
  return importModel(model(graph([node('If', ['a'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
    [vi('a', BOOL, []), vi('b', BOOL, []), vi('x', F, [2, 3])], [vi('y', F)], [['one', fromValues('float32', [], [1])]])), { source: 'nested-if.onnx' });
}

/** Loop(M, cond, s) { s' = s * 0.5 + x[i]; keep going while s' < limit; scan s' } over x float32[8, 2]. */
function loopModel(scan: boolean): Model {
  const body = graph([
    node('Gather', ['x', 'i'], ['xi'], [attrI('axis', 0)]),
    node('Mul', ['s', 'half'], ['sh']), node('Add', ['sh', 'xi'], ['s2']),
    node('ReduceSum', ['s2'], ['tot'], [attrI('keepdims', 0)]), node('Less', ['tot', 'limit'], ['c2']),
    ...(scan ? [node('Identity', ['s2'], ['sc'])] : []),
  ], [vi('i', I64, []), vi('c', BOOL, []), vi('s', F, [2])], [vi('c2', BOOL, []), vi('s2', F, [2]), ...(scan ? [vi('sc', F, [2])] : [])]);
  return importModel(model(graph([node('Loop', ['M', 'cond', 's0'], scan ? ['s', 'scanned'] : ['s'], [attrG('body', body)])],
    [vi('M', I64, []), vi('cond', BOOL, []), vi('s0', F, [2]), vi('x', F, [8, 2]), vi('limit', F, [])], scan ? [vi('s', F), vi('scanned', F)] : [vi('s', F)],
    [['half', fromValues('float32', [], [0.5])]])), { source: 'loop.onnx' });
}

/** Scan(state, xs) with the scan input on axis 1 and the scan output on axis 1, each in the given direction. */
function scanModel(inDir: number, outDir: number): Model {
  const body = graph([node('Add', ['acc', 'xt'], ['acc2']), node('Mul', ['acc2', 'xt'], ['yt'])],
    [vi('acc', F, [3]), vi('xt', F, [3])], [vi('acc2', F, [3]), vi('yt', F, [3])]);
  return importModel(model(graph([node('Scan', ['init', 'xs'], ['final', 'ys'], [attrG('body', body), attrI('num_scan_inputs', 1),
    attrInts('scan_input_axes', [1]), attrInts('scan_input_directions', [inDir]), attrInts('scan_output_axes', [1]), attrInts('scan_output_directions', [outDir])])],
  [vi('init', F, [3]), vi('xs', F, [3, 5])], [vi('final', F), vi('ys', F)]), { opset: 11 }), { source: 'scan.onnx' });
}

describe('If chosen at run time', () => {
  const m = nestedIf();
  const { s, ops } = session(m);
  it('compiles both branches of both Ifs into one artifact', () => {
    expect(ops.filter((o) => o === 'If')).toHaveLength(2);
  });
  for (const [a, b] of [[true, true], [true, false], [false, true], [false, false]] as const) {
    it(`a=${a}, b=${b}: the same session matches the reference`, () => {
      agree(m, s, [bool(a), bool(b), seq([2, 3], (i) => i - 2.5)]);
    });
  }

  it('branches whose output shapes differ are refused as data-dependent, naming the node', () => {
    const els = graph([node('Concat', ['x', 'x'], ['e'], [attrI('axis', 0)])], [], [{ name: 'e', type: {} }]);
    const then = graph([node('Neg', ['x'], ['t'])], [], [{ name: 't', type: {} }]);
    const bad = importModel(model(graph([node('If', ['a'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)], { name: 'pick' })],
      [vi('a', BOOL, []), vi('x', F, [2, 3])], [vi('y', F)])), { source: 'if-shapes.onnx' });
    try {
      compileWasmGraph(bad.graph, { source: 'if-shapes.onnx' }, { level: 0 });
      expect.unreachable('compiled');
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedNodesError);
      expect((e as UnsupportedNodesError).nodes[0]).toMatchObject({ node: 'pick', op: 'If', reason: 'data-dependent' });
    }
  });
});

describe('Loop with a run-time trip count and condition', () => {
  const x = seq([8, 2], (i) => (i % 3) - 0.5);
  it('carried state only: any trip count, the condition may stop it early, run after run', () => {
    const m = loopModel(false);
    const { s } = session(m);
    for (const [M, cond, limit] of [[0, true, 100], [3, true, 100], [8, true, 100], [8, true, 0.6], [5, false, 100], [-2, true, 100]] as const) {
      agree(m, s, [scalar('int64', BigInt(M)), bool(cond), seq([2], (i) => i), x, scalar('float32', limit)]);
    }
  });

  it('scan outputs: planned for the constant trip count, matched by the reference', () => {
    const m = loopModel(true);
    const { s } = session(m, { fixedInputs: { M: scalar('int64', 6n) } });
    agree(m, s, [scalar('int64', 6n), bool(true), seq([2], (i) => i), x, scalar('float32', 100)]);
  });

  it('a loop that stops before the planned trip count stops the run with an error naming the node', () => {
    const m = loopModel(true);
    const { s } = session(m, { fixedInputs: { M: scalar('int64', 6n) } });
    const feeds = { M: toTensorValue(scalar('int64', 6n)), cond: toTensorValue(bool(true)), s0: toTensorValue(seq([2], (i) => i)), x: toTensorValue(x), limit: toTensorValue(scalar('float32', 0.6)) };
    expect(() => s.runSync(feeds)).toThrow(KernelTrap);
    let msg = '';
    try { s.runSync(feeds); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/node 'Loop_0' \(Loop\): data-dependent: the loop stopped after \d iterations; the artifact was compiled for 6/);
  });

  it('an index out of range inside the body stops the run with an error naming the body\'s node', () => {
    const { s } = session(loopModel(false));
    const feeds = { M: toTensorValue(scalar('int64', 10n)), cond: toTensorValue(bool(true)), s0: toTensorValue(seq([2], () => 0)), x: toTensorValue(x), limit: toTensorValue(scalar('float32', 1e9)) };
    expect(() => s.runSync(feeds)).toThrow(/node '[^']+' \(Gather\): index 8 is out of range \[-8, 7\]/);
    // the session runs on afterwards
    agree(loopModel(false), s, [scalar('int64', 3n), bool(true), seq([2], (i) => i), x, scalar('float32', 100)]);
  });

  it('a trip count past the iteration limit stops with an error naming the node, not a hang', () => {
    const saved = limits.maxLoopIterations;
    limits.maxLoopIterations = 4;
    let s: WasmSession;
    try { s = session(loopModel(false)).s; } finally { limits.maxLoopIterations = saved; }
    const feeds = { M: toTensorValue(scalar('int64', 1000n)), cond: toTensorValue(bool(true)), s0: toTensorValue(seq([2], () => 0)), x: toTensorValue(x), limit: toTensorValue(scalar('float32', 1e9)) };
    expect(() => s.runSync(feeds)).toThrow(/node 'Loop_0' \(Loop\): the loop ran 4 iterations without stopping \(limit 4\)/);
  });

  it('a small constant trip count whose body slices by the iteration number is unrolled (static shapes per copy)', () => {
    // y += x[i:i+1]; scan y: Slice's starts come from the iteration number, so each iteration has its own shapes
    const body = graph([
      node('Add', ['i', 'one'], ['end']), node('Unsqueeze', ['i', 'ax'], ['st']), node('Unsqueeze', ['end', 'ax'], ['en']),
      node('Slice', ['xs', 'st', 'en'], ['piece']), node('Add', ['y', 'piece'], ['y2']), node('Identity', ['c'], ['c2']), node('Identity', ['y2'], ['sc']),
    ], [vi('i', I64, []), vi('c', BOOL, []), vi('y', F, [1])], [vi('c2', BOOL, []), vi('y2', F, [1]), vi('sc', F, [1])]);
    const m = importModel(model(graph([node('Loop', ['M', 'cond', 'y0'], ['y', 'ys'], [attrG('body', body)])],
      [vi('M', I64, []), vi('cond', BOOL, []), vi('y0', F, [1])], [vi('y', F), vi('ys', F)],
      [['xs', fromValues('float32', [5], [1, 2, 3, 4, 5])], ['one', fromValues('int64', [], [1n])], ['ax', fromValues('int64', [1], [0n])]])), { source: 'loop-slice.onnx' });
    const { s, ops } = session(m, { fixedInputs: { M: scalar('int64', 4n) } });
    expect(ops.filter((o) => o === 'Slice')).toHaveLength(0);
    agree(m, s, [scalar('int64', 4n), bool(true), fromValues('float32', [1], [0.5])]);
    expect(() => s.runSync({ M: toTensorValue(scalar('int64', 4n)), cond: toTensorValue(bool(false)), y0: toTensorValue(fromValues('float32', [1], [0])) }))
      .toThrow(/node 'Loop_0' \(Loop\): data-dependent: the loop stopped after 0 iterations; the artifact was compiled for 4/);
  });

  it('scan outputs with a trip count known only at run time are refused as data-dependent', () => {
    const m = loopModel(true);
    expect(() => compileWasmGraph(m.graph, { source: 'loop.onnx' }, { level: 0 })).toThrow(/data-dependent|number of iterations/);
  });
});

describe('Scan forward and reverse, scan axis 1', () => {
  for (const [inDir, outDir] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
    it(`input direction ${inDir}, output direction ${outDir}: matches the reference`, () => {
      const m = scanModel(inDir, outDir);
      const { s } = session(m);
      agree(m, s, [seq([3], (i) => i * 0.5), seq([3, 5], (i) => Math.sin(i))]);
      agree(m, s, [seq([3], () => 1), seq([3, 5], (i) => i % 4)]);
    });
  }
});

describe('the shipped loader.js runs an artifact with control flow', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  it('nested If chosen at run time through createSession()', async () => {
    const m = nestedIf();
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-cf-'));
    dirs.push(dir);
    compileToDir(m, 'wasm', dir, {}, { level: 0 });
    const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as { createSession(src: URL): Promise<WasmSession> };
    const s = await loader.createSession(pathToFileURL(`${dir}/`));
    const x = seq([2, 3], (i) => i - 2.5);
    for (const [a, b] of [[true, false], [false, false], [true, true]] as const) {
      const want = runGraph(m.graph, [bool(a), bool(b), x])[0] as Tensor;
      const got = await s.run({ a: toTensorValue(bool(a)), b: toTensorValue(bool(b)), x: toTensorValue(x) });
      expect(Array.from(got['y']!.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
    }
  });
});

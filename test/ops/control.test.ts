// If, Loop, Scan and SequenceMap through graph inference and the reference interpreter (their bodies are
// subgraphs, which runOp cannot run): outer-scope reads, shape merging, loop-carried shape changes, the loop
// iteration cap, zero-trip loops, scan axes/directions and the opset 8 Scan rewrite.

import { afterEach, describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { KernelError } from '../../ir/errors.js';
import type { Attr, Graph, Node } from '../../ir/graph.js';
import { attrGraph, attrInt, attrInts } from '../../ir/graph.js';
import { fromValues, scalar } from '../../ir/tensor.js';
import type { Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { loopLimits } from '../../ops/control.js';
import { opsetRewrite } from '../../compiler/onnx/opsets/index.js';
import type { ImportNode } from '../../ops/schema.js';

let counter = 0;
function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): Node {
  return { name: `${op}_${counter++}`, op, inputs, outputs, attrs };
}
function graph(name: string, inputs: [string, ValueType][], outputs: string[], nodes: Node[], inits: [string, Tensor][] = []): Graph {
  return { name, inputs: inputs.map(([n]) => n), outputs, nodes, initializers: new Map(inits), types: new Map(inputs) };
}
const T = (dtype: 'float32' | 'int64' | 'int32' | 'bool', shape?: (number | string)[]): ValueType =>
  shape === undefined ? { kind: 'tensor', dtype } : { kind: 'tensor', dtype, shape };
const f = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);
const vals = (v: RuntimeValue): number[] => Array.from((v as Tensor).data as ArrayLike<number>, Number);
const dims = (v: RuntimeValue): readonly number[] => (v as Tensor).dims;

/** Infer then run; returns output types and values. */
function exec(g: Graph, feeds: RuntimeValue[]): { types: ValueType[]; outs: RuntimeValue[] } {
  const inferred = inferGraph(g);
  return { types: inferred.outputs.map((o) => inferred.types.get(o)!), outs: runGraph(inferred, feeds) };
}

describe('If', () => {
  const then = graph('then', [], ['t'], [node('Identity', ['x'], ['t'])]);
  const els = graph('else', [], ['e'], [node('Identity', ['k'], ['e'])], [['k', f([1], [9])]]);
  const g = graph('main', [['c', T('bool', [])], ['x', T('float32', [2])]], ['y'],
    [node('If', ['c'], ['y'], { then_branch: attrGraph(then), else_branch: attrGraph(els) })]);
  it('runs the branch the condition picks, reading outer-scope values', () => {
    expect(vals(exec(g, [scalar('bool', true), f([2], [1, 2])]).outs[0]!)).toEqual([1, 2]);
    expect(vals(exec(g, [scalar('bool', false), f([2], [1, 2])]).outs[0]!)).toEqual([9]);
  });
  it('merges branch shapes that differ into a symbol', () => {
    const t = exec(g, [scalar('bool', true), f([2], [1, 2])]).types[0]!;
    expect(t.kind === 'tensor' && t.shape?.length === 1 && typeof t.shape[0] === 'string').toBe(true);
  });
  it('rejects a condition with more than one element', () => {
    const g2 = graph('main', [['c', T('bool', [2])], ['x', T('float32', [2])]], ['y'],
      [node('If', ['c'], ['y'], { then_branch: attrGraph(then), else_branch: attrGraph(els) })]);
    expect(() => exec(g2, [fromValues('bool', [2], [1, 0]), f([2], [1, 2])])).toThrow(KernelError);
  });
});

describe('Loop', () => {
  afterEach(() => { loopLimits.maxIterations = 10_000_000; });
  // y_out = y_in + one (an outer-scope value); scan output is y_out each iteration
  const addBody = graph('body', [['i', T('int64', [])], ['cin', T('bool', [])], ['y_in', T('float32', [1])]], ['cout', 'y_out', 's'], [
    node('Identity', ['cin'], ['cout']), node('Add', ['y_in', 'one'], ['y_out']), node('Identity', ['y_out'], ['s']),
  ]);
  const loopGraph = (inputs: string[], body = addBody): Graph => graph('main',
    [['m', T('int64', [])], ['c', T('bool', [])], ['y0', T('float32', [1])]], ['y', 'ys'],
    [node('Loop', inputs, ['y', 'ys'], { body: attrGraph(body) })], [['one', f([1], [1])]]);
  it('runs M times, carrying values and stacking scan outputs', () => {
    const r = exec(loopGraph(['m', 'c', 'y0']), [scalar('int64', 3n), scalar('bool', true), f([1], [0])]);
    expect(vals(r.outs[0]!)).toEqual([3]);
    expect(dims(r.outs[1]!)).toEqual([3, 1]);
    expect(vals(r.outs[1]!)).toEqual([1, 2, 3]);
  });
  it('runs zero times: carried values pass through, scan outputs are empty', () => {
    const r = exec(loopGraph(['m', 'c', 'y0']), [scalar('int64', 0n), scalar('bool', true), f([1], [5])]);
    expect(vals(r.outs[0]!)).toEqual([5]);
    expect(dims(r.outs[1]!)).toEqual([0, 1]);
    const r2 = exec(loopGraph(['m', 'c', 'y0']), [scalar('int64', 4n), scalar('bool', false), f([1], [5])]);
    expect(vals(r2.outs[0]!)).toEqual([5]);
  });
  it('stops when the body condition turns false', () => {
    const body = graph('body', [['i', T('int64', [])], ['cin', T('bool', [])], ['y_in', T('float32', [1])]], ['cout', 'y_out', 's'], [
      node('Less', ['i', 'two'], ['cout']), node('Add', ['y_in', 'one'], ['y_out']), node('Identity', ['y_out'], ['s']),
    ], [['two', scalar('int64', 2n)]]);
    const r = exec(loopGraph(['', 'c', 'y0'], body), [scalar('int64', 0n), scalar('bool', true), f([1], [0])]);
    expect(vals(r.outs[0]!)).toEqual([3]);
  });
  it('stops a loop with neither trip count nor a falsifiable condition at the iteration cap', () => {
    loopLimits.maxIterations = 50;
    expect(() => exec(loopGraph(['', '', 'y0']), [scalar('int64', 0n), scalar('bool', true), f([1], [0])])).toThrow(/50 iterations/);
  });
  it('lets a carried value change shape across iterations', () => {
    // the body leaves y_in's shape undeclared: a declared static dim would (rightly) be trusted by inference
    const body = graph('body', [['i', T('int64', [])], ['cin', T('bool', [])], ['y_in', T('float32')]], ['cout', 'y_out'], [
      node('Identity', ['cin'], ['cout']), node('Concat', ['y_in', 'one'], ['y_out'], { axis: attrInt(0) }),
    ]);
    const g = graph('main', [['m', T('int64', [])], ['y0', T('float32', [1])]], ['y'],
      [node('Loop', ['m', '', 'y0'], ['y'], { body: attrGraph(body) })], [['one', f([1], [1])]]);
    const r = exec(g, [scalar('int64', 3n), f([1], [0])]);
    expect(vals(r.outs[0]!)).toEqual([0, 1, 1, 1]);
    const t = r.types[0]!;
    expect(t.kind === 'tensor' && typeof t.shape?.[0] === 'string').toBe(true);
  });
});

describe('Scan', () => {
  // state s accumulates x rows; the scan output is the running sum
  const body = graph('body', [['s_in', T('float32', [2])], ['x', T('float32', [2])]], ['s_out', 'o'], [
    node('Add', ['s_in', 'x'], ['s_out']), node('Identity', ['s_out'], ['o']),
  ]);
  const x = f([3, 2], [1, 2, 3, 4, 5, 6]);
  const scanGraph = (attrs: Record<string, Attr>, xShape: number[]): Graph => graph('main',
    [['s0', T('float32', [2])], ['x', T('float32', xShape)]], ['s', 'os'],
    [node('Scan', ['s0', 'x'], ['s', 'os'], { body: attrGraph(body), num_scan_inputs: attrInt(1), ...attrs })]);
  it('scans axis 0 forward', () => {
    const r = exec(scanGraph({}, [3, 2]), [f([2], [0, 0]), x]);
    expect(vals(r.outs[0]!)).toEqual([9, 12]);
    expect(vals(r.outs[1]!)).toEqual([1, 2, 4, 6, 9, 12]);
  });
  it('scans in reverse, along another input axis, and stacks outputs along another axis in reverse', () => {
    const xt = f([2, 3], [1, 3, 5, 2, 4, 6]);
    const r = exec(scanGraph({
      scan_input_axes: attrInts([-1]), scan_input_directions: attrInts([1]),
      scan_output_axes: attrInts([1]), scan_output_directions: attrInts([1]),
    }, [2, 3]), [f([2], [0, 0]), xt]);
    expect(vals(r.outs[0]!)).toEqual([9, 12]);
    // steps saw rows 5,6 then 3,4 then 1,2: sums [5,6],[8,10],[9,12]; reversed and stacked on axis 1
    expect(dims(r.outs[1]!)).toEqual([2, 3]);
    expect(vals(r.outs[1]!)).toEqual([9, 8, 5, 12, 10, 6]);
    expect(r.types[1]).toEqual(T('float32', [2, 3]));
  });
  it('rewrites the opset 8 batched form into a Loop over the batch', () => {
    const consts: [string, Tensor][] = [];
    const legacyNode: ImportNode = {
      name: 'scan8', op: 'Scan', inputs: ['', 's0', 'x'], outputs: ['s', 'os'],
      attrs: { body: attrGraph(body), num_scan_inputs: attrInt(1), directions: attrInts([1]) },
    };
    const nodes = opsetRewrite('Scan')!(legacyNode, {
      opset: 8, freshName: (h) => `${h}_${counter++}`,
      constant: (t, h) => { const n = `${h ?? 'c'}_${counter++}`; consts.push([n, t]); return n; },
    });
    expect(nodes.map((n) => n.op)).toEqual(['Shape', 'Gather', 'Loop']);
    const g = graph('main', [['s0', T('float32', [2, 2])], ['x', T('float32', [2, 3, 2])]], ['s', 'os'],
      nodes.map((n) => ({ ...n })), consts);
    const r = exec(g, [f([2, 2], [0, 0, 10, 10]), f([2, 3, 2], [1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1])]);
    expect(vals(r.outs[0]!)).toEqual([9, 12, 13, 13]);
    expect(dims(r.outs[1]!)).toEqual([2, 3, 2]);
    // opset 8 has no output directions: outputs are stacked in step order even when the input runs backwards
    expect(vals(r.outs[1]!)).toEqual([5, 6, 8, 10, 9, 12, 11, 11, 12, 12, 13, 13]);
  });
  it('cuts opset 8 entries to sequence_lens and zero-pads their scan outputs', () => {
    const consts: [string, Tensor][] = [];
    const nodes = opsetRewrite('Scan')!({
      name: 'scan8', op: 'Scan', inputs: ['lens', 's0', 'x'], outputs: ['s', 'os'],
      attrs: { body: attrGraph(body), num_scan_inputs: attrInt(1) },
    }, {
      opset: 8, freshName: (h) => `${h}_${counter++}`,
      constant: (t, h) => { const n = `${h ?? 'c'}_${counter++}`; consts.push([n, t]); return n; },
    });
    const g = graph('main', [['lens', T('int32', [2])], ['s0', T('float32', [2, 2])], ['x', T('float32', [2, 3, 2])]],
      ['s', 'os'], nodes.map((n) => ({ ...n })), consts);
    const r = exec(g, [fromValues('int32', [2], [3, 1]), f([2, 2], [0, 0, 10, 10]), f([2, 3, 2], [1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1])]);
    expect(vals(r.outs[0]!)).toEqual([9, 12, 11, 11]);
    expect(vals(r.outs[1]!)).toEqual([1, 2, 4, 6, 9, 12, 11, 11, 0, 0, 0, 0]);
  });
  it('leaves opset 9+ nodes alone', () => {
    const n: ImportNode = { name: 's', op: 'Scan', inputs: ['a'], outputs: ['b'], attrs: {} };
    expect(opsetRewrite('Scan')!(n, { opset: 9, freshName: (h) => h, constant: () => 'c' })).toEqual([n]);
  });
});

describe('SequenceMap', () => {
  it('maps a body over sequence elements, passing tensors whole', () => {
    const body = graph('body', [['e', T('float32')], ['k', T('float32', [1])]], ['o'], [node('Add', ['e', 'k'], ['o'])]);
    const g = graph('main', [['xs', { kind: 'sequence', elem: T('float32') }], ['k', T('float32', [1])]], ['ys'],
      [node('SequenceMap', ['xs', 'k'], ['ys'], { body: attrGraph(body) })]);
    const xs: RuntimeValue = { kind: 'sequence', elemType: T('float32'), items: [f([2], [1, 2]), f([1], [3])] };
    const r = exec(g, [xs, f([1], [10])]);
    const ys = r.outs[0]!;
    expect('kind' in ys && ys.kind === 'sequence' ? ys.items.map(vals) : undefined).toEqual([[11, 12], [13]]);
  });
});

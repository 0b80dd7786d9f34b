// What real exporters (spox, PyTorch's dynamo/TorchScript exporters, tf2onnx, paddle2onnx) write that the ONNX spec
// frowns on but onnxruntime and the ONNX checker accept. Each quirk is pinned by a minimal model that must import
// and compute what onnxruntime computes.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { importModel } from '../../compiler/onnx/import.js';
import type { Model } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { attrG, graph, model, node, vi, type Obj } from './build.js';

const imp = (bytes: Uint8Array): Model => importModel(bytes, { source: 'quirk.onnx' });
const run = (m: Model, inputs: Tensor[]): Tensor[] => runGraph(m.graph, inputs, { source: 'quirk.onnx' }) as Tensor[];
const values = (t: Tensor): number[] => Array.from(t.data as Float32Array);
/** A ValueInfoProto whose type is present but empty (`type: {}`), as spox and PyTorch write for If outputs. */
const emptyType = (name: string): Obj => ({ name, type: {} });
/** A ValueInfoProto with no type at all. */
const noType = (name: string): Obj => ({ name });

describe('types left to inference', () => {
  it('an If branch output declared with an empty type (`type: {}`) takes the type its body computes', () => {
    const then = graph([node('Relu', ['x'], ['t'])], [], [emptyType('t')]);
    const els = graph([node('Neg', ['x'], ['e'])], [], [emptyType('e')]);
    const m = imp(model(graph(
      [node('If', ['c'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
      [vi('c', 9, []), vi('x', 1, [3])], [vi('y', 1, [3])],
    )));
    const x = fromValues('float32', [3], [-1, 0, 2]);
    expect(values(run(m, [fromValues('bool', [], [1]), x])[0]!)).toEqual([0, 0, 2]);
    expect(values(run(m, [fromValues('bool', [], [0]), x])[0]!)).toEqual([1, -0, -2]);
    expect(m.graph.types.get('y')).toMatchObject({ kind: 'tensor', dtype: 'float32' });
  });

  it('nested If with empty-typed outputs at every level', () => {
    const inner = (op: string, out: string): Obj => graph([node(op, ['x'], [out])], [], [emptyType(out)]);
    const thenOuter = graph(
      [node('If', ['c2'], ['t'], [attrG('then_branch', inner('Relu', 'a')), attrG('else_branch', inner('Abs', 'b'))])],
      [], [emptyType('t')],
    );
    const elseOuter = graph([node('Neg', ['x'], ['e'])], [], [emptyType('e')]);
    const m = imp(model(graph(
      [node('If', ['c1'], ['y'], [attrG('then_branch', thenOuter), attrG('else_branch', elseOuter)])],
      [vi('c1', 9, []), vi('c2', 9, []), vi('x', 1, [2])], [emptyType('y')],
    )));
    const x = fromValues('float32', [2], [-3, 4]);
    const t = fromValues('bool', [], [1]), f = fromValues('bool', [], [0]);
    expect(values(run(m, [t, f, x])[0]!)).toEqual([3, 4]);
    expect(values(run(m, [t, t, x])[0]!)).toEqual([0, 4]);
    expect(m.graph.types.get('y')).toMatchObject({ kind: 'tensor', dtype: 'float32', shape: [2] });
  });

  it('main-graph outputs and value_info without a type are inferred', () => {
    const m = imp(model(graph(
      [node('Relu', ['x'], ['h']), node('Neg', ['h'], ['y'])],
      [vi('x', 1, [2])], [noType('y')], [], { value_info: [noType('h'), emptyType('h2')] },
    )));
    expect(m.graph.types.get('y')).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2] });
    expect(values(run(m, [fromValues('float32', [2], [-1, 5])])[0]!)).toEqual([-0, -5]);
  });

  it('a Loop body output with an empty type is inferred from the body', () => {
    // Loop(M=3, cond=true, acc): acc = acc + x, three times
    const body = graph(
      [node('Add', ['acc_in', 'x'], ['acc_out']), node('Identity', ['cond_in'], ['cond_out'])],
      [vi('i', 7, []), vi('cond_in', 9, []), emptyType('acc_in')], [emptyType('cond_out'), emptyType('acc_out')],
    );
    const m = imp(model(graph(
      [node('Loop', ['M', 'cond', 'acc0'], ['acc'], [attrG('body', body)])],
      [vi('M', 7, []), vi('cond', 9, []), vi('acc0', 1, [2]), vi('x', 1, [2])], [vi('acc', 1, [2])],
    )));
    const out = run(m, [fromValues('int64', [], [3n]), fromValues('bool', [], [1]), fromValues('float32', [2], [0, 1]), fromValues('float32', [2], [1, 2])]);
    expect(values(out[0]!)).toEqual([3, 7]);
  });
});

describe('other exporter habits', () => {
  it('a graph input nothing reads is kept (the caller still feeds it)', () => {
    const m = imp(model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, [2]), vi('unused', 1, [5])], [vi('y', 1, [2])])));
    expect(m.graph.inputs).toEqual(['x', 'unused']);
    expect(values(run(m, [fromValues('float32', [2], [-1, 1]), fromValues('float32', [5], [0, 0, 0, 0, 0])])[0]!)).toEqual([0, 1]);
  });

  it('a subgraph value that shadows an outer name reads its own definition inside, the outer one outside', () => {
    // the then-branch defines its own 'h' (shadowing the outer 'h'); after the If, 'h' is the outer value again
    const then = graph([node('Neg', ['x'], ['h']), node('Identity', ['h'], ['t'])], [], [vi('t', 1, [1])]);
    const els = graph([node('Identity', ['h'], ['e'])], [], [vi('e', 1, [1])]);
    const m = imp(model(graph(
      [
        node('Relu', ['x'], ['h']),
        node('If', ['c'], ['z'], [attrG('then_branch', then), attrG('else_branch', els)]),
        node('Add', ['z', 'h'], ['y']),
      ],
      [vi('c', 9, []), vi('x', 1, [1])], [vi('y', 1, [1])],
    )));
    const x = fromValues('float32', [1], [2]);
    expect(values(run(m, [fromValues('bool', [], [1]), x])[0]!)).toEqual([0]); // -2 + relu(2)
    expect(values(run(m, [fromValues('bool', [], [0]), x])[0]!)).toEqual([4]); // relu(2) + relu(2)
  });

  it('an initializer also listed as a graph input (a default value, IR >= 4) imports as that constant', () => {
    const w = fromValues('float32', [2], [10, 20]);
    const m = imp(model(graph([node('Add', ['x', 'w'], ['y'])], [vi('x', 1, [2]), vi('w', 1, [2])], [vi('y', 1, [2])], [['w', w]]), { ir: 8 }));
    expect(m.graph.inputs).toEqual(['x']);
    expect(values(run(m, [fromValues('float32', [2], [1, 2])])[0]!)).toEqual([11, 22]);
  });
});

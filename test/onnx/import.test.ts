// The importer on hand-built models: functions, Constant nodes, legacy opsets, attribute checks, arity,
// SSA and ordering rules, symbolic dims; and real models from the shared folders.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importModel, loadModel } from '../../compiler/onnx/import.js';
import { OnnxImportError, UnsupportedOpError, UnsupportedTypeError } from '../../ir/errors.js';
import type { Model } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import { attrF, attrG, attrI, attrInts, attrRef, attrT, graph, model, node, vi } from './build.js';

const imp = (bytes: Uint8Array, opts = {}): Model => importModel(bytes, { source: 'test.onnx', ...opts });
const ops = (m: Model): string[] => m.graph.nodes.map((n) => n.op);

describe('basic import', () => {
  it('imports a Relu model with symbolic and unknown dims', () => {
    const m = imp(model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, ['batch', 3, null])], [vi('y', 1)])));
    expect(m.graph.inputs).toEqual(['x']);
    expect(m.graph.outputs).toEqual(['y']);
    expect(ops(m)).toEqual(['Relu']);
    const x = m.graph.types.get('x');
    expect(x).toMatchObject({ kind: 'tensor', dtype: 'float32' });
    expect(x?.kind === 'tensor' && x.shape?.[0]).toBe('batch');
    expect(x?.kind === 'tensor' && typeof x.shape?.[2]).toBe('string');
    expect(m.graph.types.get('y')).toMatchObject({ kind: 'tensor', dtype: 'float32' });
    expect(m.info.irVersion).toBe(8);
    expect(m.info.opsets).toEqual({ '': 17 });
  });

  it('substitutes named dims from opts.dims', () => {
    const m = imp(model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, ['batch', 3])], [vi('y', 1)])), { dims: { batch: 2 } });
    expect(m.graph.types.get('y')).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2, 3] });
  });

  it('removes initializers from the inputs and names unnamed nodes uniquely', () => {
    const w = fromValues('float32', [3], [1, 2, 3]);
    const m = imp(model(graph(
      [node('Add', ['x', 'w'], ['a']), node('Add', ['a', 'w'], ['y'])],
      [vi('x', 1, [3]), vi('w', 1, [3])], [vi('y', 1, [3])], [['w', w]],
    ), { ir: 3, opset: 7 }));
    expect(m.graph.inputs).toEqual(['x']);
    expect(m.graph.initializers.get('w')?.data).toEqual(new Float32Array([1, 2, 3]));
    const names = m.graph.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(2);
    expect(names.every((n) => n !== '')).toBe(true);
  });

  it('fills defaults from the op schema', () => {
    const m = imp(model(graph([node('LeakyRelu', ['x'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])));
    expect(m.graph.nodes[0]!.attrs['alpha']).toEqual({ kind: 'float', value: expect.closeTo(0.01, 6) });
  });

  it('converts an INT attribute where FLOAT is declared', () => {
    const m = imp(model(graph([node('LeakyRelu', ['x'], ['y'], [attrI('alpha', 2)])], [vi('x', 1, [2])], [vi('y', 1, [2])])));
    expect(m.graph.nodes[0]!.attrs['alpha']).toEqual({ kind: 'float', value: 2 });
  });

  it('sorts nodes given out of order', () => {
    const m = imp(model(graph(
      [node('Relu', ['a'], ['y']), node('Neg', ['x'], ['a'])], [vi('x', 1, [2])], [vi('y', 1, [2])],
    )));
    expect(ops(m)).toEqual(['Neg', 'Relu']);
  });
});

describe('Constant nodes become initializers', () => {
  const cases: [string, object, unknown][] = [
    ['value', attrT('value', fromValues('float32', [2], [1, 2])), new Float32Array([1, 2])],
    ['value_float', attrF('value_float', 1.5), new Float32Array([1.5])],
    ['value_floats', { name: 'value_floats', type: 6, floats: [1, 2] }, new Float32Array([1, 2])],
    ['value_int', attrI('value_int', 7), new BigInt64Array([7n])],
    ['value_ints', attrInts('value_ints', [1, -2]), new BigInt64Array([1n, -2n])],
    ['value_string', { name: 'value_string', type: 3, s: new TextEncoder().encode('hi') }, ['hi']],
    ['value_strings', { name: 'value_strings', type: 8, strings: [new TextEncoder().encode('a')] }, ['a']],
  ];
  for (const [name, a, data] of cases) {
    it(name, () => {
      const m = imp(model(graph([node('Constant', [], ['c'], [a as Record<string, unknown>]), node('Identity', ['c'], ['y'])], [], [vi('y', 0)])), { noInfer: true });
      expect(m.graph.initializers.get('c')?.data).toEqual(data);
      expect(ops(m)).toEqual(['Identity']);
    });
  }
  it('densifies sparse_value', () => {
    const sparse = {
      name: 'sparse_value', type: 11,
      sparse_tensor: {
        values: { dims: [2], data_type: 1, float_data: [5, 6] },
        indices: { dims: [2], data_type: 7, int64_data: [1, 3] }, dims: [4],
      },
    };
    const m = imp(model(graph([node('Constant', [], ['c'], [sparse]), node('Identity', ['c'], ['y'])], [], [vi('y', 1)])), { noInfer: true });
    expect(m.graph.initializers.get('c')?.data).toEqual(new Float32Array([0, 5, 0, 6]));
  });
  it('refuses a sparse_value that would densify hugely', () => {
    const sparse = {
      name: 'sparse_value', type: 11,
      sparse_tensor: { values: { dims: [1], data_type: 1, float_data: [5] }, indices: { dims: [1], data_type: 7, int64_data: [1] }, dims: [1 << 30] },
    };
    expect(() => imp(model(graph([node('Constant', [], ['c'], [sparse]), node('Identity', ['c'], ['y'])], [], [vi('y', 1)])))).toThrow(/densifying|maxElements/);
  });
});

describe('model-local functions', () => {
  // f(x) = Mul(Relu(x), Constant(alpha)) with attribute alpha (default 2.0)
  const fn = {
    name: 'ScaledRelu', domain: 'local', input: ['X'], output: ['Y'], attribute: [],
    attribute_proto: [attrF('alpha', 2)],
    opset_import: [{ domain: '', version: 17 }],
    node: [
      node('Relu', ['X'], ['r']),
      node('Constant', [], ['a'], [attrRef('value_float', 'alpha', 1)]),
      node('Mul', ['r', 'a'], ['Y']),
    ],
  };
  const opsets = [{ domain: '', version: 17 }, { domain: 'local', version: 1 }];

  it('inlines calls, renaming internal values and binding attributes and defaults', () => {
    const bytes = model(graph(
      [node('ScaledRelu', ['x'], ['h'], [attrF('alpha', 3)], { domain: 'local', name: 'c1' }),
        node('ScaledRelu', ['h'], ['y'], [], { domain: 'local', name: 'c2' })],
      [vi('x', 1, [2])], [vi('y', 1, [2])],
    ), { functions: [fn], opsets });
    const m = imp(bytes);
    expect(ops(m)).toEqual(['Relu', 'Mul', 'Relu', 'Mul']);
    const consts = [...m.graph.initializers.values()].map((t) => t.data[0]);
    expect(consts.sort()).toEqual([2, 3]);
    const outs = m.graph.nodes.flatMap((n) => n.outputs);
    expect(new Set(outs).size).toBe(outs.length);
    expect(m.graph.types.get('y')).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2] });
  });

  it('inlines nested function calls', () => {
    const outer = {
      name: 'Twice', domain: 'local', input: ['A'], output: ['B'], attribute: [], attribute_proto: [],
      opset_import: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }],
      node: [node('ScaledRelu', ['A'], ['t'], [], { domain: 'local' }), node('ScaledRelu', ['t'], ['B'], [], { domain: 'local' })],
    };
    const m = imp(model(graph([node('Twice', ['x'], ['y'], [], { domain: 'local' })], [vi('x', 1, [2])], [vi('y', 1, [2])]),
      { functions: [fn, outer], opsets }));
    expect(ops(m)).toEqual(['Relu', 'Mul', 'Relu', 'Mul']);
  });

  it('refuses recursive functions', () => {
    const rec = { name: 'R', domain: 'local', input: ['A'], output: ['B'], attribute: [], attribute_proto: [],
      opset_import: [{ domain: 'local', version: 1 }], node: [node('R', ['A'], ['B'], [], { domain: 'local' })] };
    expect(() => imp(model(graph([node('R', ['x'], ['y'], [], { domain: 'local' })], [vi('x', 1, [2])], [vi('y', 1, [2])]),
      { functions: [rec], opsets }))).toThrow(/calls itself/);
  });
});

describe('errors', () => {
  const relu = (extra: object[] = []) => graph([node('Relu', ['x'], ['y'], extra as Record<string, unknown>[])], [vi('x', 1, [2])], [vi('y', 1, [2])]);
  it('unsupported IR versions', () => {
    expect(() => imp(model(relu(), { ir: 2 }))).toThrow(/IR version 2/);
    expect(() => imp(model(relu(), { ir: 99 }))).toThrow(OnnxImportError);
  });
  it('unsupported opsets', () => {
    expect(() => imp(model(relu(), { opset: 99 }))).toThrow(/opset 99/);
  });
  it('unknown domains name the node, op and domain', () => {
    const g = graph([node('Foo', ['x'], ['y'], [], { domain: 'com.example', name: 'n1' })], [vi('x', 1, [2])], [vi('y', 1, [2])]);
    try {
      imp(model(g));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedOpError);
      expect((e as UnsupportedOpError).describe()).toMatch(/test\.onnx: node 'n1'.*com\.example::Foo/);
    }
  });
  it('unknown ai.onnx ops', () => {
    expect(() => imp(model(graph([node('NoSuchOp', ['x'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])))).toThrow(UnsupportedOpError);
  });
  it('unknown attributes', () => {
    expect(() => imp(model(relu([attrI('bogus', 1)])))).toThrow(/no attribute 'bogus'/);
  });
  it('attribute of the wrong kind', () => {
    const g = graph([node('LeakyRelu', ['x'], ['y'], [{ name: 'alpha', type: 3, s: new Uint8Array([65]) }])], [vi('x', 1, [2])], [vi('y', 1, [2])]);
    expect(() => imp(model(g))).toThrow(/must be FLOAT/);
  });
  it('wrong arity', () => {
    expect(() => imp(model(graph([node('Relu', ['x', 'x'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])))).toThrow(/inputs/);
  });
  it('dangling inputs, undefined outputs, double definitions, cycles', () => {
    expect(() => imp(model(graph([node('Relu', ['nope'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])))).toThrow(/never defined/);
    expect(() => imp(model(graph([node('Relu', ['x'], ['y'])], [vi('x', 1, [2])], [vi('z', 1, [2])])))).toThrow(/never defined/);
    expect(() => imp(model(graph([node('Relu', ['x'], ['y']), node('Neg', ['x'], ['y'])], [vi('x', 1, [2])], [vi('y', 1, [2])])))).toThrow(/twice/);
    expect(() => imp(model(graph([node('Relu', ['b'], ['a']), node('Neg', ['a'], ['b'])], [vi('x', 1, [2])], [vi('a', 1, [2])])))).toThrow(/cycle/);
  });
  it('unsupported input element types name the input', () => {
    expect(() => imp(model(graph([node('Relu', ['x'], ['y'])], [vi('x', 17, [2])], [vi('y', 17, [2])])))).toThrow(UnsupportedTypeError);
  });
  it('garbage bytes', () => {
    expect(() => imp(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(OnnxImportError);
  });
});

describe('subgraphs', () => {
  it('imports an If whose branches read outer-scope values', () => {
    const then = graph([node('Relu', ['x'], ['t'])], [], [vi('t', 1, [2])]);
    const els = graph([node('Neg', ['x'], ['e'])], [], [vi('e', 1, [2])]);
    const m = imp(model(graph(
      [node('If', ['c'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
      [vi('c', 9, []), vi('x', 1, [2])], [vi('y', 1, [2])],
    )));
    expect(ops(m)).toEqual(['If']);
    const tb = m.graph.nodes[0]!.attrs['then_branch'];
    expect(tb?.kind === 'graph' && tb.value.nodes[0]!.op).toBe('Relu');
  });
  it('refuses a subgraph reading a value defined nowhere', () => {
    const then = graph([node('Relu', ['ghost'], ['t'])], [], [vi('t', 1, [2])]);
    const els = graph([node('Neg', ['x'], ['e'])], [], [vi('e', 1, [2])]);
    expect(() => imp(model(graph(
      [node('If', ['c'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
      [vi('c', 9, []), vi('x', 1, [2])], [vi('y', 1, [2])],
    )))).toThrow(/ghost/);
  });
});

describe('real models', () => {
  const root = '/work/shared/models';
  const found = existsSync(root) ? readdirSync(root).flatMap((d) => {
    const dir = join(root, d);
    try { return readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => join(dir, f)); } catch { return []; }
  }) : [];
  it.skipIf(found.length === 0)('every shared model imports', () => {
    for (const p of found) {
      const m = loadModel(p);
      expect(m.graph.nodes.length, p).toBeGreaterThan(0);
      for (const o of m.graph.outputs) expect(m.graph.types.get(o), `${p} output ${o}`).toBeDefined();
    }
  }, 120_000);

  const legacy = '/work/shared/onnx-backend/pytorch-converted';
  const old = existsSync(legacy) ? readdirSync(legacy).filter((d) => /Conv2d|Linear|BatchNorm|MaxPool|ReLU|Softmax|Embedding/.test(d)).slice(0, 12) : [];
  it.skipIf(!existsSync(legacy))('rewrites opset-6 attributes into today\'s inputs (Unsqueeze/Squeeze axes, Pad pads, BatchNorm is_test)', () => {
    const pool = loadModel(join(legacy, 'test_AvgPool1d', 'model.onnx'));
    expect(pool.info.opsets?.['']).toBe(6);
    for (const n of pool.graph.nodes.filter((k) => k.op === 'Unsqueeze' || k.op === 'Squeeze')) {
      expect(n.attrs['axes'], n.op).toBeUndefined();
      expect(n.inputs.length, n.op).toBe(2);
      expect(pool.graph.initializers.has(n.inputs[1]!)).toBe(true);
    }
    const pad = loadModel(join(legacy, 'test_ConstantPad2d', 'model.onnx'));
    const p = pad.graph.nodes.find((k) => k.op === 'Pad')!;
    expect(p.attrs['pads']).toBeUndefined();
    expect(p.inputs.length).toBeGreaterThanOrEqual(2);
    const bn = loadModel(join(legacy, 'test_BatchNorm2d_eval', 'model.onnx'));
    expect(bn.graph.nodes.find((k) => k.op === 'BatchNormalization')!.attrs['is_test']).toBeUndefined();
  });

  it.skipIf(old.length === 0)('imports old-opset pytorch-converted models', () => {
    for (const d of old) {
      const m = loadModel(join(legacy, d, 'model.onnx'));
      expect(m.graph.nodes.length, d).toBeGreaterThan(0);
    }
  });
});

// The IR text form: golden output for hand-built graphs, exact round trips (print -> parse -> print and
// structural equality) for hand-built and fuzzed IR, elided weights, and parse errors with line/column.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../ir/errors.js';
import type { Attr, Graph, Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues } from '../../ir/tensor.js';
import { tensorType } from '../../ir/types.js';
import { TextParseError, collectWeights, parseGraph, parseModel, printGraph, printModel } from '../../ir/text/index.js';
import { arbitraryGraph } from '../helpers/arbitrary-graph.js';
import { irGraphArb, irModelArb } from './arbitrary-ir.js';

const f32 = (dims: number[], v: number[]): Tensor => fromValues('float32', dims, v);

function sampleModel(): Model {
  const body: Graph = {
    name: 'then_body', inputs: [], outputs: ['t_out'],
    nodes: [{ name: 'inner', op: 'Add', inputs: ['x', 'bias'], outputs: ['t_out'], attrs: {} }],
    initializers: new Map(), types: new Map([['t_out', tensorType('float32', ['N', 4])]]),
  };
  const elseBody: Graph = {
    name: 'else_body', inputs: [], outputs: ['x'], nodes: [], initializers: new Map(), types: new Map(),
  };
  const graph: Graph = {
    name: 'main',
    inputs: ['x', 'cond'],
    outputs: ['y', 'z'],
    nodes: [
      { name: 'relu0', op: 'Relu', inputs: ['x'], outputs: ['r'], attrs: {} },
      {
        name: 'clip0', op: 'Clip', inputs: ['r', '', 'max'], outputs: ['y'],
        attrs: {},
      },
      {
        name: 'lrelu', op: 'LeakyRelu', inputs: ['y'], outputs: ['l', ''],
        attrs: { alpha: { kind: 'float', value: Math.fround(0.1) }, pads: { kind: 'ints', value: [0, 1] }, mode: { kind: 'string', value: 'a "b"\n' } },
      },
      {
        name: 'if0', op: 'If', inputs: ['cond'], outputs: ['z'],
        attrs: { then_branch: { kind: 'graph', value: body }, else_branch: { kind: 'graph', value: elseBody } },
      },
    ],
    initializers: new Map<string, Tensor>([
      ['bias', f32([4], [0.5, -0, NaN, -Infinity])],
      ['max', fromValues('float32', [], [6])],
      ['big', f32([40], Array.from({ length: 40 }, (_, i) => i))],
    ]),
    types: new Map([
      ['x', tensorType('float32', ['N', 4])], ['cond', tensorType('bool', [])],
      ['r', tensorType('float32', ['N', 4])], ['y', tensorType('float32', ['N', 4])],
      ['bias', tensorType('float32', [4])], ['max', tensorType('float32', [])], ['big', tensorType('float32', [40])],
      ['z', tensorType('float32')],
    ]),
  };
  return { graph, info: { irVersion: 8, producer: 'hand', opsets: { '': 17 } } };
}

/** Print, parse (with the weights), print again: the two texts are identical and the IR is unchanged. */
function roundTrip(m: Model, inlineAll = false): string {
  const text = printModel(m, { inlineAll });
  const back = parseModel(text, { weights: weightsOf(m) });
  expect(printModel(back, { inlineAll })).toBe(text);
  expect(back).toEqual(m);
  return text;
}

const weightsOf = collectWeights;

describe('printing', () => {
  it('prints the canonical form: one statement per line, sorted attrs, subgraphs nested, weights elided', () => {
    expect(printModel(sampleModel())).toMatchInlineSnapshot(`
      "model ir=8 producer="hand" opsets={"": 17}
      graph main (x: float32[N,4], cond: bool[]) -> (y: float32[N,4], z: float32[*]) {
        const bias: float32[4] = [0.5, -0.0, nan, -inf]
        const max: float32[] = [6.0]
        const big: float32[40] = <elided sha256=47163edf22f45dbf>
        r: float32[N,4] = Relu(x) @relu0
        y: float32[N,4] = Clip(r, _, max) @clip0
        l, _ = LeakyRelu(y) @lrelu {alpha=0.1, mode="a \\"b\\"\\n", pads=[0, 1]}
        z: float32[*] = If(cond) @if0 {
          else_branch=graph else_body () -> (x) {
          },
          then_branch=graph then_body () -> (t_out: float32[N,4]) {
            t_out: float32[N,4] = Add(x, bias) @inner
          }
        }
      }
      "
    `);
  });

  it('round-trips the sample model exactly, elided and inline', () => {
    roundTrip(sampleModel());
    const inline = roundTrip(sampleModel(), true);
    expect(inline).toContain('const big: float32[40] = [0.0, 1.0, 2.0,');
  });

  it('keeps int and float attributes apart, and floats exact (float32 short, other doubles in 17 digits)', () => {
    const attrs: Record<string, Attr> = {
      i: { kind: 'int', value: 1 }, f: { kind: 'float', value: 1 }, eps: { kind: 'float', value: Math.fround(1e-5) },
      d: { kind: 'float', value: 0.1 }, big: { kind: 'int', value: 2 ** 63 }, nz: { kind: 'float', value: -0 },
      nan: { kind: 'floats', value: [NaN, Infinity, -Infinity, 3e38] },
      e1: { kind: 'ints', value: [] }, e2: { kind: 'floats', value: [] }, e3: { kind: 'strings', value: [] },
      e4: { kind: 'tensors', value: [] }, e5: { kind: 'graphs', value: [] }, e6: { kind: 'types', value: [] },
      ty: { kind: 'type', value: { kind: 'optional', elem: { kind: 'sequence', elem: tensorType('int64', ['?1', 2]) } } },
      ts: { kind: 'tensors', value: [fromValues('int8', [2], [-128, 127]), fromValues('string', [1], ['é\u0000'])] },
    };
    const g: Graph = {
      name: 'g', inputs: [], outputs: [], nodes: [{ name: 'n', op: 'Op', inputs: [], outputs: [], attrs }],
      initializers: new Map(), types: new Map(),
    };
    const text = printGraph(g);
    expect(text).toContain('d=1.0000000000000001e-1');
    expect(text).toContain('eps=0.00001');
    expect(text).toContain('f=1.0');
    expect(text).toContain('i=1,');
    expect(text).toContain('    e1=ints[],\n    e2=floats[],\n    e3=strings[],\n    e4=tensors[],\n    e5=graphs[\n    ],\n    e6=types[],\n');
    expect(text).toContain('ty=type opt<seq<int64[?1,2]>>');
    expect(text).toContain('() = Op() @n');
    expect(parseGraph(text)).toEqual(g);
    expect(printGraph(parseGraph(text))).toBe(text);
  });

  it('round-trips tensors of every dtype exactly (int64/uint64 extremes, float16, bool, strings, empty)', () => {
    const tensors: [string, Tensor][] = [
      ['a', fromValues('float64', [3], [0.1, -0, 1e-310])],
      ['b', fromValues('float16', [3], [0.1, 65504, -6e-8])],
      ['c', fromValues('bfloat16', [2], [0.1, -3e38])],
      ['d', fromValues('int64', [2], [-(2n ** 63n), 2n ** 63n - 1n])],
      ['e', fromValues('uint64', [1], [2n ** 64n - 1n])],
      ['f', fromValues('bool', [2], [true, false])],
      ['g', fromValues('string', [2], ['', 'tab\there "q" \\ ünï'])],
      ['h', fromValues('uint32', [0, 3], [])],
      ['i', fromValues('int16', [], [-5])],
    ];
    const g: Graph = {
      name: 'g', inputs: [], outputs: [], nodes: [], initializers: new Map(tensors),
      types: new Map(tensors.map(([n, t]) => [n, tensorType(t.dtype, t.dims)])),
    };
    const text = printGraph(g);
    expect(text).toContain('const d: int64[2] = [-9223372036854775808, 9223372036854775807]');
    expect(text).toContain('const f: bool[2] = [true, false]');
    expect(text).toContain('const h: uint32[0,3] = []');
    expect(parseGraph(text)).toEqual(g);
    expect(printGraph(parseGraph(text))).toBe(text);
  });

  it('quotes names that are not one plain word, and reserved words', () => {
    const g: Graph = {
      name: 'a graph', inputs: ['_', 'const', 'onnx::Conv_1', '/conv1/Conv_output_0', 'input.1'], outputs: ['type'],
      nodes: [{ name: '', op: 'Sum', inputs: ['_', 'const'], outputs: ['type'], attrs: {} }],
      initializers: new Map(), types: new Map(),
    };
    const text = printGraph(g);
    expect(text).toBe(
      'graph "a graph" ("_", "const", "onnx::Conv_1", /conv1/Conv_output_0, input.1) -> ("type") {\n' +
      '  "type" = Sum("_", "const")\n}\n',
    );
    expect(parseGraph(text)).toEqual(g);
  });

  it('keeps a const whose recorded type differs from its data, and types of names it does not define', () => {
    const g: Graph = {
      name: 'g', inputs: ['w'], outputs: ['w'], nodes: [],
      initializers: new Map([['w', f32([2], [1, 2])], ['u', f32([1], [3])]]),
      types: new Map([['w', tensorType('float32', ['N'])], ['stale', tensorType('int8', [1])]]),
    };
    const text = printGraph(g);
    expect(text).toContain('const w: float32[N] = float32[2] [1.0, 2.0]');
    expect(text).toContain('const u = float32[1] [3.0]');
    expect(text).toContain('type stale: int8[1]');
    expect(parseGraph(text)).toEqual(g);
  });
});

describe('round trips of generated IR', () => {
  it('fuzzed IR (any names, attrs, types, tensors, nesting) prints, parses and prints identically', () => {
    fc.assert(fc.property(irModelArb, (m) => {
      roundTrip(m, true);
      roundTrip(m, false);
    }), { numRuns: 150 });
  });

  it('fuzzed graphs with a small inline limit need their weights', () => {
    fc.assert(fc.property(irGraphArb, (g) => {
      const text = printGraph(g, { inlineLimit: 1 });
      const back = parseGraph(text, { weights: weightsOf(g) });
      expect(printGraph(back, { inlineLimit: 1 })).toBe(text);
      expect(back).toEqual(g);
    }), { numRuns: 100 });
  });

  it('well-typed generated graphs round-trip', () => {
    fc.assert(fc.property(arbitraryGraph({ requireRegistered: false }), ({ graph }) => {
      const text = printGraph(graph);
      const back = parseGraph(text, { weights: collectWeights(graph) });
      expect(back).toEqual(graph);
      expect(printGraph(back)).toBe(text);
    }), { numRuns: 100 });
  });
});

describe('elided weights', () => {
  const m = sampleModel();
  const text = printModel(m);

  it('refuses elided weights without the originals, saying where and what to do', () => {
    expect(() => parseModel(text)).toThrow(ParseError);
    expect(() => parseModel(text)).toThrow(/line 5, column 28: tensor 'big' is elided \(sha256=[0-9a-f]{16}\); parse with the original weights/);
  });

  it('accepts the original initializers map directly, by value name', () => {
    expect(parseModel(text, { weights: m.graph.initializers })).toEqual(m);
  });

  it('refuses weights whose content differs from the hash', () => {
    const wrong = new Map([['big', f32([40], new Array(40).fill(1))]]);
    expect(() => parseModel(text, { weights: wrong })).toThrow(/line 5, column 28: weights for 'big' do not match/);
  });
});

describe('parse errors say line and column', () => {
  const cases: [string, string, RegExp][] = [
    ['missing model keyword', 'graph g () -> () {}', /line 1, column 1: expected 'model', found 'graph'/],
    ['unknown element type', 'model\ngraph g (x: float33[2]) -> () {}', /line 2, column 13: expected a type/],
    ['unknown rank needs [*]', 'model\ngraph g (x: float32) -> () {}', /line 2, column 20: expected '\[' after element type float32/],
    ['unclosed graph', 'model\ngraph g () -> () {\n  y = Relu(x)\n', /line 4, column 1: graph 'g' is not closed/],
    ['conflicting types', 'model\ngraph g (x: float32[2]) -> (x: int8[2]) {}', /line 2, column 30: 'x' is given type int8\[2\] here but float32\[2\] elsewhere/],
    ['wrong element count', 'model\ngraph g () -> () {\n  const c = int8[3] [1, 2]\n}', /line 3, column 21: tensor int8\[3\] needs 3 values, found 2/],
    ['int out of range', 'model\ngraph g () -> () {\n  const c = uint8[1] [256]\n}', /line 3, column 23: 256 is out of range for uint8/],
    ['float in an int tensor', 'model\ngraph g () -> () {\n  const c = int32[1] [1.5]\n}', /line 3, column 23: '1.5' is not a int32 value/],
    ['empty list without kind', 'model\ngraph g () -> () {\n  () = Op() {a=[]}\n}', /line 3, column 16: an empty list needs its kind/],
    ['mixed list', 'model\ngraph g () -> () {\n  () = Op() {a=[1, "x"]}\n}', /line 3, column 17: a list of strings cannot hold '1'/],
    ['duplicate attribute', 'model\ngraph g () -> () {\n  () = Op() {a=1, a=2}\n}', /line 3, column 19: attribute 'a' given twice/],
    ['unterminated string', 'model producer="abc\ngraph', /line 1, column 16: unterminated string/],
    ['bad character', 'model\ngraph g () -> () { $ }', /line 2, column 20: unexpected character "\$"/],
    ['trailing text', 'model\ngraph g () -> () {}\nextra', /line 3, column 1: expected end of text, found 'extra'/],
    ['const without type', 'model\ngraph g () -> () {\n  const c = [1.0]\n}', /line 3, column 13: constant 'c' has no static tensor type/],
    ['unknown model field', 'model colour="red"\ngraph g () -> () {}', /line 1, column 7: unknown model field 'colour'/],
  ];
  for (const [what, text, re] of cases) {
    it(what, () => {
      let err: unknown;
      try { parseModel(text); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(TextParseError);
      expect((err as Error).message).toMatch(re);
    });
  }

  it('refuses absurd nesting instead of overflowing the stack', () => {
    const deep = `model\ngraph g (x: ${'seq<'.repeat(10000)}float32[1]${'>'.repeat(10000)}) -> () {}`;
    expect(() => parseModel(deep)).toThrow(/line 2, column \d+: nesting deeper than 64 levels/);
  });

  it('reports line and column as fields', () => {
    try {
      parseGraph('graph g () -> () {\n    y = Relu(x) @\n}');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TextParseError);
      expect((e as TextParseError).line).toBe(3);
      expect((e as TextParseError).column).toBe(1);
    }
  });

  it('accepts comments and free layout', () => {
    const g = parseGraph('# a comment\ngraph g (x: float32[2]) -> (y) { y = Relu(x) # trailing\n z = Neg(y) @n {alpha=1.5} }');
    expect(g.nodes.map((n) => n.op)).toEqual(['Relu', 'Neg']);
    expect(g.nodes[1]!.attrs['alpha']).toEqual({ kind: 'float', value: 1.5 });
  });
});

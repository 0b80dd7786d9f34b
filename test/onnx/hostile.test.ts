// Hostile and damaged models: each either imports or fails with an OnnxcError subclass, quickly, without
// crashing, hanging or allocating hugely. Property tests with fast-check over truncations, bit flips and
// hand-made hostile structures.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { importModel, loadModel } from '../../compiler/onnx/import.js';
import { encodeMessage } from '../../compiler/onnx/proto.js';
import { OnnxcError } from '../../ir/errors.js';
import { fromValues } from '../../ir/tensor.js';
import { attrG, attrI, graph, model, node, vi, type Obj } from './build.js';

/** Import and classify: 'ok' or the error class; anything but an OnnxcError fails the test. */
function attempt(bytes: Uint8Array, baseDir?: string): string {
  const t0 = performance.now();
  let outcome = 'ok';
  try {
    importModel(bytes, { source: 'hostile.onnx', baseDir });
  } catch (e) {
    if (!(e instanceof OnnxcError)) throw new Error(`not an OnnxcError: ${String(e)}`);
    outcome = e.name;
  }
  const ms = performance.now() - t0;
  if (ms > 1000) throw new Error(`took ${ms.toFixed(0)} ms`);
  return outcome;
}

const w = fromValues('float32', [2, 2], [1, 2, 3, 4]);
const seed = model(graph(
  [node('MatMul', ['x', 'w'], ['m']), node('Relu', ['m'], ['r']), node('Transpose', ['r'], ['y'], [{ name: 'perm', type: 7, ints: [1, 0] }])],
  [vi('x', 1, ['batch', 2])], [vi('y', 1, [2, 'batch'])], [['w', w]],
));

describe('damaged bytes', () => {
  it('the seed model imports', () => expect(attempt(seed)).toBe('ok'));

  it('truncations fail cleanly', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: seed.length - 1 }), (n) => { attempt(seed.subarray(0, n)); }), { numRuns: 200 });
  });

  it('bit flips fail cleanly or import', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }), (flips) => {
      const b = Uint8Array.from(seed);
      for (const [i, bit] of flips) b[i] = b[i]! ^ (1 << bit);
      attempt(b);
    }), { numRuns: 300 });
  });

  it('random bytes fail cleanly', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => { attempt(b); }), { numRuns: 300 });
  });
});

describe('hostile structures', () => {
  const relu = (inputs: Obj[], outputs: Obj[], nodes: Obj[], inits: [string, ReturnType<typeof fromValues>][] = []) =>
    model(graph(nodes, inputs, outputs, inits));

  it('huge and negative dims', () => {
    const hugeInit = encodeMessage('ModelProto', {
      ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [node('Relu', ['w'], ['y'])], input: [], output: [vi('y', 1)],
        initializer: [{ name: 'w', dims: [2 ** 40, 2 ** 40], data_type: 1 }] },
    });
    expect(attempt(hugeInit)).toBe('LimitError');
    const negInit = encodeMessage('ModelProto', {
      ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [node('Relu', ['w'], ['y'])], input: [], output: [vi('y', 1)],
        initializer: [{ name: 'w', dims: [-4], data_type: 1, raw_data: new Uint8Array(16) }] },
    });
    expect(attempt(negInit)).toBe('OnnxImportError');
    expect(attempt(relu([vi('x', 1, [2 ** 40])], [vi('y', 1)], [node('Relu', ['x'], ['y'])]))).not.toBe('ok');
  });

  it('cycles and dangling inputs', () => {
    expect(attempt(relu([vi('x', 1, [2])], [vi('b', 1, [2])], [node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b'])]))).toBe('OnnxImportError');
    expect(attempt(relu([vi('x', 1, [2])], [vi('y', 1, [2])], [node('Add', ['x', 'ghost'], ['y'])]))).toBe('OnnxImportError');
  });

  it('external data escaping the folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-hostile-'));
    const inner = join(dir, 'm');
    mkdirSync(inner);
    writeFileSync(join(dir, 'secret.bin'), new Uint8Array(16));
    for (const location of ['../secret.bin', join(dir, 'secret.bin'), 'a/../../secret.bin', '/etc/passwd']) {
      const bytes = encodeMessage('ModelProto', {
        ir_version: 8, opset_import: [{ domain: '', version: 17 }],
        graph: { name: 'g', node: [node('Relu', ['w'], ['y'])], input: [], output: [vi('y', 1)],
          initializer: [{ name: 'w', dims: [4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: location }] }] },
      });
      writeFileSync(join(inner, 'model.onnx'), bytes);
      expect(() => loadModel(join(inner, 'model.onnx')), location).toThrow(/folder|relative/);
    }
  });

  it('deeply nested subgraphs', () => {
    let g = graph([node('Identity', ['x'], ['y0'])], [], [vi('y0', 1)]);
    for (let d = 1; d < 200; d++) {
      g = graph([node('If', ['c'], [`y${d}`], [attrG('then_branch', g), attrG('else_branch', g)])], [], [vi(`y${d}`, 1)]);
    }
    // the two branches share one object, so the bytes double per level: keep the encoded size sane
    const shallow = (depth: number): Obj => {
      let s = graph([node('Identity', ['x'], ['z0'])], [], [vi('z0', 1)]);
      for (let d = 1; d < depth; d++) s = graph([node('If', ['c'], [`z${d}`], [attrG('then_branch', s), attrG('else_branch', graph([node('Identity', ['x'], [`e${d}`])], [], [vi(`e${d}`, 1)]))])], [], [vi(`z${d}`, 1)]);
      return s;
    };
    const top = (sub: Obj) => model(graph([node('If', ['c'], ['y'], [attrG('then_branch', sub), attrG('else_branch', graph([node('Identity', ['x'], ['q'])], [], [vi('q', 1)]))])],
      [vi('c', 9, []), vi('x', 1, [2])], [vi('y', 1)]));
    // protobufjs refuses to encode (and decode) messages nested past its recursion limit: lift it to build one
    const limit = protobuf.util.recursionLimit;
    protobuf.util.recursionLimit = 10_000;
    let bytes: Uint8Array;
    try { bytes = top(shallow(300)); } finally { protobuf.util.recursionLimit = limit; }
    expect(attempt(bytes)).toBe('OnnxImportError');
    expect(attempt(top(shallow(20)))).not.toBe('CRASH');
    void g;
  });

  it('protobuf nesting deeper than the stack', () => {
    // GraphProto.node(1) -> NodeProto.attribute(5) -> AttributeProto.g(6) -> GraphProto ..., 100k levels deep
    const levels = 100_000;
    const parts: number[][] = [];
    for (let i = 0; i < levels; i++) parts.push([0x0a], [0x2a], [0x32]);
    // lengths would have to be exact for a valid message; a run of zero lengths nests nothing, so build
    // bytes with a large claimed length: the decoder must stop at the buffer's end
    const bytes = new Uint8Array(levels * 2);
    for (let i = 0; i < bytes.length; i += 2) { bytes[i] = 0x3a; bytes[i + 1] = 0x7f; }
    expect(attempt(bytes)).not.toBe('ok');
    void parts;
  });

  it('a function call explosion stops', () => {
    const fns: Obj[] = [];
    for (let k = 0; k < 30; k++) {
      fns.push({
        name: `F${k}`, domain: 'local', input: ['A'], output: ['B'], attribute: [], attribute_proto: [],
        opset_import: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }],
        node: k === 0 ? [node('Relu', ['A'], ['B'])]
          : [node(`F${k - 1}`, ['A'], ['t'], [], { domain: 'local' }), node(`F${k - 1}`, ['t'], ['B'], [], { domain: 'local' })],
      });
    }
    const bytes = model(graph([node('F29', ['x'], ['y'], [], { domain: 'local' })], [vi('x', 1, [2])], [vi('y', 1, [2])]),
      { functions: fns, opsets: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }] });
    expect(attempt(bytes)).toBe('LimitError');
  });

  it('generated hostile graphs fail cleanly', () => {
    const name = fc.constantFrom('x', 'y', 'a', 'b', '', 'w', '../w');
    const op = fc.constantFrom('Relu', 'Add', 'Reshape', 'Constant', 'Foo', 'If', 'Concat', 'Gather', 'Expand');
    const dim = fc.oneof(fc.integer({ min: -3, max: 4 }), fc.constant(2 ** 40), fc.constantFrom('n', 'm'));
    const arb = fc.record({
      nodes: fc.array(fc.record({ op, ins: fc.array(name, { maxLength: 3 }), outs: fc.array(name, { minLength: 1, maxLength: 2 }), axis: fc.integer({ min: -5, max: 5 }) }), { maxLength: 6 }),
      inDims: fc.array(dim, { maxLength: 3 }),
      outs: fc.array(name, { minLength: 1, maxLength: 2 }),
      shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(2 ** 40)), { maxLength: 3 }),
    });
    fc.assert(fc.property(arb, (g) => {
      const shape = fromValues('int64', [g.shape.length], g.shape.map((v) => BigInt(v)));
      const bytes = model(graph(
        g.nodes.map((n) => node(n.op, n.ins, n.outs, n.op === 'Concat' || n.op === 'Gather' ? [attrI('axis', n.axis)] : [])),
        [vi('x', 1, g.inDims.map((d) => (typeof d === 'number' && d < 0 ? null : d)))],
        g.outs.map((o) => vi(o, 1)),
        [['w', shape]],
      ));
      attempt(bytes);
    }), { numRuns: 300 });
  });
});

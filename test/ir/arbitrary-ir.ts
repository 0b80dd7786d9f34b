// Arbitrary IR (not necessarily valid) for text round-trip fuzzing: awkward names, every dtype and attribute
// kind, special floats, symbolic dims, sequence/optional types, nested subgraphs, omitted values.

import fc from 'fast-check';
import { ALL_DTYPES } from '../../ir/dtype.js';
import { assertNever } from '../../ir/errors.js';
import type { DType } from '../../ir/dtype.js';
import { bf16Round, f16Round } from '../../ir/float16.js';
import type { Attr, Graph, Model, ModelInfo, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, sizeOf } from '../../ir/tensor.js';
import type { Dim, ValueType } from '../../ir/types.js';

/** Names: mostly plain, sometimes anything at all (quoting and escapes), '' and reserved words. */
export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_.\/:]{0,6}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('_', 'const', 'type', 'graph', 'model', '123', '-1', 'nan', 'a b', 'x->y', '"q"', '#c') },
);

const dimArb: fc.Arbitrary<Dim> = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.constantFrom('N', 'batch', '?3', 'unk__1', '12', 'a + 1', 'seq?1'),
);

export const typeArb: fc.Arbitrary<ValueType> = fc.letrec<{ t: ValueType }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ dtype: fc.constantFrom(...ALL_DTYPES), shape: fc.option(fc.array(dimArb, { maxLength: 4 }), { nil: undefined }) })
      .map(({ dtype, shape }): ValueType => (shape === undefined ? { kind: 'tensor', dtype } : { kind: 'tensor', dtype, shape })),
    tie('t').map((elem): ValueType => ({ kind: 'sequence', elem })),
    tie('t').map((elem): ValueType => ({ kind: 'optional', elem })),
  ),
})).t;

function elementArb(dtype: DType): fc.Arbitrary<number | bigint | string> {
  switch (dtype) {
    case 'float32': return fc.float();
    case 'float64': return fc.double();
    case 'float16': return fc.float().map(f16Round);
    case 'bfloat16': return fc.float().map(bf16Round);
    case 'int8': return fc.integer({ min: -128, max: 127 });
    case 'uint8': return fc.integer({ min: 0, max: 255 });
    case 'int16': return fc.integer({ min: -32768, max: 32767 });
    case 'uint16': return fc.integer({ min: 0, max: 65535 });
    case 'int32': return fc.integer();
    case 'uint32': return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'uint64': return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'bool': return fc.integer({ min: 0, max: 1 });
    case 'int4': return fc.integer({ min: -8, max: 7 });
    case 'uint4': return fc.integer({ min: 0, max: 15 });
    case 'int2': return fc.integer({ min: -2, max: 1 });
    case 'uint2': return fc.integer({ min: 0, max: 3 });
    case 'string': return fc.string({ unit: 'binary', maxLength: 5 });
    default: return assertNever(dtype, 'dtype');
  }
}

export const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({ dtype: fc.constantFrom(...ALL_DTYPES), dims: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) })
  .chain(({ dtype, dims }) => {
    const n = sizeOf(dims);
    return fc.array(elementArb(dtype), { minLength: n, maxLength: n }).map((vals) => fromValues(dtype, dims, vals));
  });

/** Any double, but mostly float32 values (what ONNX attributes hold). */
const attrFloatArb = fc.oneof(fc.float(), fc.double());
const attrIntArb = fc.oneof(fc.integer(), fc.constantFrom(2 ** 63, -(2 ** 63), Number.MAX_SAFE_INTEGER));

function attrArb(graph: fc.Arbitrary<Graph> | undefined): fc.Arbitrary<Attr> {
  const plain: fc.Arbitrary<Attr>[] = [
    attrIntArb.map((value): Attr => ({ kind: 'int', value })),
    attrFloatArb.map((value): Attr => ({ kind: 'float', value })),
    fc.string({ unit: 'binary', maxLength: 8 }).map((value): Attr => ({ kind: 'string', value })),
    tensorArb.map((value): Attr => ({ kind: 'tensor', value })),
    typeArb.map((value): Attr => ({ kind: 'type', value })),
    fc.array(attrIntArb, { maxLength: 4 }).map((value): Attr => ({ kind: 'ints', value })),
    fc.array(attrFloatArb, { maxLength: 4 }).map((value): Attr => ({ kind: 'floats', value })),
    fc.array(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 3 }).map((value): Attr => ({ kind: 'strings', value })),
    fc.array(tensorArb, { maxLength: 2 }).map((value): Attr => ({ kind: 'tensors', value })),
    fc.array(typeArb, { maxLength: 2 }).map((value): Attr => ({ kind: 'types', value })),
  ];
  if (graph) {
    plain.push(graph.map((value): Attr => ({ kind: 'graph', value })));
    plain.push(fc.array(graph, { maxLength: 2 }).map((value): Attr => ({ kind: 'graphs', value })));
  }
  return fc.oneof(...plain);
}

function nodeArb(graph: fc.Arbitrary<Graph> | undefined): fc.Arbitrary<Node> {
  return fc.record({
    name: fc.oneof(nameArb, fc.constant('')),
    op: fc.oneof(fc.constantFrom('Add', 'Conv', 'If', 'Loop', 'LSTM'), nameArb),
    inputs: fc.array(fc.oneof(nameArb, fc.constant('')), { maxLength: 4 }),
    outputs: fc.array(fc.oneof(nameArb, fc.constant('')), { maxLength: 3 }),
    attrs: fc.dictionary(nameArb, attrArb(graph), { maxKeys: 4 }),
  });
}

function graphArb(depth: number): fc.Arbitrary<Graph> {
  const sub = depth > 0 ? graphArb(depth - 1) : undefined;
  return fc
    .record({
      name: fc.oneof(nameArb, fc.constant('')),
      inputs: fc.array(nameArb, { maxLength: 3 }),
      outputs: fc.array(nameArb, { maxLength: 3 }),
      nodes: fc.array(nodeArb(sub), { maxLength: depth > 0 ? 4 : 2 }),
      inits: fc.array(fc.tuple(nameArb, tensorArb), { maxLength: 3 }),
      typed: fc.array(fc.tuple(fc.boolean(), typeArb), { maxLength: 12 }),
      extra: fc.array(fc.tuple(nameArb, typeArb), { maxLength: 2 }),
    })
    .map(({ name, inputs, outputs, nodes, inits, typed, extra }) => {
      const initializers = new Map(inits);
      const types = new Map<string, ValueType>();
      // Give a type to some of the names the graph mentions (the printer must cope with untyped ones).
      const mentioned = [...inputs, ...outputs, ...initializers.keys(), ...nodes.flatMap((n) => n.outputs)].filter((n) => n !== '');
      mentioned.forEach((n, i) => { const [give, t] = typed[i % Math.max(1, typed.length)] ?? [false, undefined]; if (give && t) types.set(n, t); });
      for (const [n, t] of extra) if (n !== '') types.set(n, t);
      return { name, inputs, outputs, nodes, initializers, types };
    });
}

export const irGraphArb: fc.Arbitrary<Graph> = graphArb(2);

const infoArb: fc.Arbitrary<ModelInfo> = fc.record(
  {
    source: fc.string({ unit: 'binary', maxLength: 10 }),
    irVersion: fc.integer({ min: 0, max: 12 }),
    producer: fc.string({ maxLength: 10 }),
    opsets: fc.dictionary(fc.string({ maxLength: 6 }), fc.integer({ min: 1, max: 30 }), { maxKeys: 3 }),
    docString: fc.string({ unit: 'binary', maxLength: 20 }),
    metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

export const irModelArb: fc.Arbitrary<Model> = fc.record({ graph: irGraphArb, info: infoArb });

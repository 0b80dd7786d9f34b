// The 4- and 2-bit integer types: pack/unpack round trips (property tests), the layout ONNX fixes (low bits first,
// last byte zero-padded), TensorProto decoding from raw_data and int32_data and encoding back, and malformed data
// refused with a typed error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type TensorProtoMsg } from '../../compiler/onnx/proto.js';
import { decodeTensorProto, encodeTensorProto, rawBytes } from '../../compiler/onnx/tensor-proto.js';
import { OnnxImportError } from '../../ir/errors.js';
import { intRange, onnxCode, packedBytes } from '../../ir/dtype.js';
import { packSubByte, unpackSubByte, type SubByteDType } from '../../ir/packed.js';
import { fromValues, makeTensor, type Tensor } from '../../ir/tensor.js';
import { verifyGraph } from '../../ir/verify.js';
import { GraphBuilder } from '../../models/builder.js';

const TYPES: readonly SubByteDType[] = ['int4', 'uint4', 'int2', 'uint2'];

const valuesOf = (t: SubByteDType): fc.Arbitrary<number[]> => {
  const [min, max] = intRange(t);
  return fc.array(fc.integer({ min, max }), { maxLength: 67 });
};

const decode = (obj: Record<string, unknown>): Tensor =>
  decodeTensorProto(decodeMessage<TensorProtoMsg>('TensorProto', encodeMessage('TensorProto', obj)));

describe('pack/unpack', () => {
  for (const t of TYPES) {
    it(`${t}: unpack(pack(xs)) is xs, in ceil(n * bits / 8) bytes`, () => {
      fc.assert(fc.property(valuesOf(t), (xs) => {
        const packed = packSubByte(t, xs);
        expect(packed.length).toBe(packedBytes(t, xs.length));
        expect(Array.from(unpackSubByte(t, packed, xs.length))).toEqual(xs);
      }));
    });
    it(`${t}: pack(unpack(bytes)) is the bytes, padding bits cleared`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), fc.integer({ min: 0, max: 3 }), (bytes, drop) => {
        const per = t.endsWith('4') ? 2 : 4;
        const n = Math.max(0, bytes.length * per - drop);
        const back = packSubByte(t, unpackSubByte(t, bytes, n));
        // the elements past n are padding: zero after a round trip, the rest as they were
        const bits = t.endsWith('4') ? 4 : 2;
        const keep = (i: number): number => { const used = Math.max(0, Math.min(8, n * bits - i * 8)); return bytes[i]! & ((1 << used) - 1); };
        expect(Array.from(back)).toEqual(Array.from({ length: packedBytes(t, n) }, (_, i) => keep(i)));
      }));
    });
  }

  it('the layout: first element in the low bits (ONNX: 4 LSB first; int2 two bits at a time)', () => {
    expect(Array.from(packSubByte('int4', [7, -8, -1]))).toEqual([0x87, 0x0f]);
    expect(Array.from(packSubByte('uint4', [1, 2, 3]))).toEqual([0x21, 0x03]);
    expect(Array.from(packSubByte('int2', [1, -2, -1, 0, 1]))).toEqual([0x39, 0x01]);
    expect(Array.from(packSubByte('uint2', [3, 0, 1, 2]))).toEqual([0x93]);
    expect(Array.from(unpackSubByte('int4', [0x87, 0x0f], 3))).toEqual([7, -8, -1]);
    expect(Array.from(unpackSubByte('int2', [0x39], 4))).toEqual([1, -2, -1, 0]);
  });
});

describe('TensorProto with sub-byte elements', () => {
  for (const t of TYPES) {
    it(`${t}: encode then decode keeps dtype, dims and values; raw_data is packed`, () => {
      fc.assert(fc.property(valuesOf(t), (xs) => {
        const x = fromValues(t, [xs.length], xs);
        const bytes = rawBytes(x);
        expect(bytes.length).toBe(packedBytes(t, xs.length));
        const back = decodeTensorProto(decodeMessage<TensorProtoMsg>('TensorProto', encodeTensorProto(x, 'w')));
        expect(back.dtype).toBe(t);
        expect(back.dims).toEqual([xs.length]);
        expect(Array.from(back.data as ArrayLike<number>)).toEqual(xs);
        expect(back.data).toBeInstanceOf(t.startsWith('u') ? Uint8Array : Int8Array);
      }), { numRuns: 30 });
    });
  }

  it('int32_data holds the packed bytes, one a field entry (onnx.proto)', () => {
    const x = decode({ name: 'q', dims: [3], data_type: onnxCode('int4'), int32_data: [0x87, 0x0f] });
    expect(Array.from(x.data as Int8Array)).toEqual([7, -8, -1]);
    const y = decode({ name: 'q', dims: [2, 3], data_type: onnxCode('uint2'), int32_data: [0x93, 0x0a] });
    expect(Array.from(y.data as Uint8Array)).toEqual([3, 0, 1, 2, 2, 2]);
  });

  it('raw_data or int32_data of the wrong packed length is refused, naming the tensor', () => {
    expect(() => decode({ name: 'w4', dims: [5], data_type: onnxCode('int4'), raw_data: new Uint8Array(2) })).toThrow(OnnxImportError);
    expect(() => decode({ name: 'w4', dims: [5], data_type: onnxCode('int4'), raw_data: new Uint8Array(2) })).toThrow(/w4.*5 packed int4 elements need 3/);
    expect(() => decode({ name: 'w2', dims: [5], data_type: onnxCode('uint2'), int32_data: [1, 2, 3] })).toThrow(/need 2/);
  });

  it('an IR tensor of each type verifies with its one-byte storage', () => {
    for (const t of TYPES) {
      const b = new GraphBuilder('sub');
      const w = b.weight('w', makeTensor(t, [3], t.startsWith('u') ? Uint8Array.of(0, 1, 1) : Int8Array.of(-1, 0, 1)));
      b.output(b.op('Cast', [w], { to: { kind: 'int', value: onnxCode('float32') } }));
      expect(() => verifyGraph(b.build())).not.toThrow();
    }
  });
});

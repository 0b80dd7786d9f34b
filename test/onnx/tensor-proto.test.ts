// TensorProto decoding for every supported dtype from raw_data and from the typed fields, encoding round trips,
// external data confined to the model's folder, and the Sequence/OptionalProto test-data files.

import { mkdtempSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type TensorProtoMsg } from '../../compiler/onnx/proto.js';
import {
  decodeTensorProto, encodeTensorProto, guessValueKind, readTestValue, readValueFile, rawBytes,
} from '../../compiler/onnx/tensor-proto.js';
import { LimitError, OnnxImportError, UnsupportedTypeError } from '../../ir/errors.js';
import type { DType } from '../../ir/dtype.js';
import { onnxCode } from '../../ir/dtype.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { isTensor } from '../../ir/value.js';

const decode = (obj: Record<string, unknown>, baseDir?: string): Tensor =>
  decodeTensorProto(decodeMessage<TensorProtoMsg>('TensorProto', encodeMessage('TensorProto', obj)), { baseDir });

const roundTrip = (t: Tensor): Tensor => decodeTensorProto(decodeMessage<TensorProtoMsg>('TensorProto', encodeTensorProto(t, 'x')));

const cases: [DType, (number | bigint | string)[]][] = [
  ['float32', [1.5, -2, 0, Infinity]],
  ['float64', [1e300, -0.1, 3, NaN]],
  ['float16', [1, 0.5, -65504, 0.0999755859375]],
  ['bfloat16', [1, -2.5, 3.140625, 0]],
  ['int8', [-128, 127, 0, 5]],
  ['int16', [-32768, 32767, 1, -1]],
  ['int32', [-2147483648, 2147483647, 7, -7]],
  ['int64', [-(2n ** 63n), 2n ** 63n - 1n, 0n, 12345678901234567n]],
  ['uint8', [0, 255, 1, 2]],
  ['uint16', [0, 65535, 3, 4]],
  ['uint32', [0, 4294967295, 5, 6]],
  ['uint64', [0n, 2n ** 64n - 1n, 9007199254740993n, 1n]],
  ['bool', [1, 0, 1, 1]],
  ['string', ['a', '', 'héllo', 'x y']],
];

describe('TensorProto raw_data', () => {
  for (const [dtype, values] of cases) {
    it(`round-trips ${dtype} [2,2] through encodeTensorProto`, () => {
      const t = fromValues(dtype, [2, 2], values);
      const back = roundTrip(t);
      expect(back.dtype).toBe(dtype);
      expect(back.dims).toEqual([2, 2]);
      expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    });
  }

  it('decodes little-endian float32 raw bytes as a view over the message bytes when aligned', () => {
    const buf = new Uint8Array(12);
    new DataView(buf.buffer).setFloat32(4, 2.5, true);
    new DataView(buf.buffer).setFloat32(8, -1, true);
    const raw = buf.subarray(4, 12);
    const t = decodeTensorProto({ dims: [2], data_type: 1, raw_data: raw, float_data: [], int32_data: [], string_data: [],
      int64_data: [], name: 'w', external_data: [], data_location: 0, double_data: [], uint64_data: [] });
    expect(Array.from(t.data as Float32Array)).toEqual([2.5, -1]);
    expect((t.data as Float32Array).buffer).toBe(buf.buffer);
  });

  it('copies unaligned raw bytes', () => {
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 7, true);
    new DataView(buf.buffer).setFloat32(5, 8, true);
    const t = decodeTensorProto({ dims: [2], data_type: 1, raw_data: buf.subarray(1), float_data: [], int32_data: [], string_data: [],
      int64_data: [], name: 'w', external_data: [], data_location: 0, double_data: [], uint64_data: [] });
    expect(Array.from(t.data as Float32Array)).toEqual([7, 8]);
  });

  it('rejects raw data whose length does not match the dims', () => {
    expect(() => decode({ dims: [3], data_type: 1, raw_data: new Uint8Array(8) })).toThrow(OnnxImportError);
  });

  it('decodes scalars and empty tensors', () => {
    expect(decode({ dims: [], data_type: 1, raw_data: rawBytes(fromValues('float32', [], [4])) }).data).toEqual(new Float32Array([4]));
    const empty = decode({ dims: [0, 3], data_type: 7 });
    expect(empty.dims).toEqual([0, 3]);
    expect(empty.data.length).toBe(0);
  });
});

describe('TensorProto typed fields', () => {
  it('float_data', () => expect(Array.from(decode({ dims: [2], data_type: 1, float_data: [1.5, 2] }).data as Float32Array)).toEqual([1.5, 2]));
  it('double_data', () => expect(Array.from(decode({ dims: [1], data_type: 11, double_data: [0.1] }).data as Float64Array)).toEqual([0.1]));
  it('int32_data carries int8/int16/uint8/uint16/bool/int32', () => {
    expect(Array.from(decode({ dims: [2], data_type: onnxCode('int8'), int32_data: [-3, 100] }).data as Int8Array)).toEqual([-3, 100]);
    expect(Array.from(decode({ dims: [2], data_type: onnxCode('int16'), int32_data: [-300, 300] }).data as Int16Array)).toEqual([-300, 300]);
    expect(Array.from(decode({ dims: [2], data_type: onnxCode('uint8'), int32_data: [255, 0] }).data as Uint8Array)).toEqual([255, 0]);
    expect(Array.from(decode({ dims: [1], data_type: onnxCode('uint16'), int32_data: [65535] }).data as Uint16Array)).toEqual([65535]);
    expect(Array.from(decode({ dims: [3], data_type: onnxCode('bool'), int32_data: [1, 0, 1] }).data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(decode({ dims: [1], data_type: 6, int32_data: [-5] }).data as Int32Array)).toEqual([-5]);
  });
  it('int32_data carries float16 and bfloat16 bits', () => {
    // 0x3c00 = 1.0, 0xc000 = -2.0 (float16); 0x3f80 = 1.0 (bfloat16)
    expect(Array.from(decode({ dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] }).data as Float32Array)).toEqual([1, -2]);
    expect(Array.from(decode({ dims: [1], data_type: 16, int32_data: [0x3f80] }).data as Float32Array)).toEqual([1]);
  });
  it('int64_data is exact', () => {
    const t = decode({ dims: [2], data_type: 7, int64_data: ['9007199254740993', '-9223372036854775808'] });
    expect(Array.from(t.data as BigInt64Array)).toEqual([9007199254740993n, -(2n ** 63n)]);
  });
  it('uint64_data carries uint32 and uint64', () => {
    expect(Array.from(decode({ dims: [1], data_type: 12, uint64_data: [4294967295] }).data as Uint32Array)).toEqual([4294967295]);
    expect(Array.from(decode({ dims: [1], data_type: 13, uint64_data: ['18446744073709551615'] }).data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
  });
  it('string_data is UTF-8', () => {
    expect(decode({ dims: [2], data_type: 8, string_data: [new TextEncoder().encode('ü'), new Uint8Array()] }).data).toEqual(['ü', '']);
  });
  it('rejects a field count that does not match the dims', () => {
    expect(() => decode({ dims: [3], data_type: 1, float_data: [1, 2] })).toThrow(OnnxImportError);
  });
});

describe('TensorProto hostile values', () => {
  it('names unsupported element types', () => {
    expect(() => decode({ name: 'w8', dims: [1], data_type: 17, raw_data: new Uint8Array(1) })).toThrow(/w8.*float8e4m3fn/);
    expect(() => decode({ name: 'c', dims: [1], data_type: 14, float_data: [1, 2] })).toThrow(UnsupportedTypeError);
    expect(() => decode({ name: 'f4', dims: [2], data_type: 23, raw_data: new Uint8Array(1) })).toThrow(UnsupportedTypeError);
  });
  it('refuses huge and negative dims before allocating', () => {
    expect(() => decode({ dims: [2 ** 40], data_type: 1 })).toThrow(LimitError);
    expect(() => decode({ dims: [65536, 65536, 4], data_type: 1 })).toThrow(LimitError);
    expect(() => decode({ dims: [-1], data_type: 1 })).toThrow(/negative/);
  });
  it('refuses a missing data type', () => {
    expect(() => decode({ dims: [1], float_data: [1] })).toThrow(OnnxImportError);
  });
});

describe('external data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnxc-ext-'));
  const modelDir = join(dir, 'model');
  mkdirSync(modelDir);
  const bytes = rawBytes(fromValues('float32', [3], [1, 2, 3]));
  writeFileSync(join(modelDir, 'weights.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(bytes)]));
  writeFileSync(join(dir, 'outside.bin'), Buffer.from(bytes));
  symlinkSync(join(dir, 'outside.bin'), join(modelDir, 'link.bin'));
  const ext = (location: string, extra: Record<string, string> = {}) => ({
    name: 'w', dims: [3], data_type: 1, data_location: 1,
    external_data: [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, value]) => ({ key, value }))],
  });

  it('reads location/offset/length relative to the model folder', () => {
    const t = decode(ext('weights.bin', { offset: '16', length: '12' }), modelDir);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3]);
  });
  it('rejects paths with ..', () => {
    expect(() => decode(ext('../outside.bin'), modelDir)).toThrow(/leaves the model's folder/);
  });
  it('rejects absolute paths', () => {
    expect(() => decode(ext(join(dir, 'outside.bin')), modelDir)).toThrow(/relative/);
  });
  it('rejects symlinks that resolve outside the folder', () => {
    expect(() => decode(ext('link.bin'), modelDir)).toThrow(/outside/);
  });
  it('checks lengths against the file before reading', () => {
    expect(() => decode(ext('weights.bin', { offset: '20' }), modelDir)).toThrow(/bytes/);
    expect(() => decode(ext('weights.bin', { length: '8' }), modelDir)).toThrow(/length/);
    expect(() => decode(ext('missing.bin'), modelDir)).toThrow(OnnxImportError);
  });
  it('needs a base folder', () => {
    expect(() => decode(ext('weights.bin'))).toThrow(/folder/);
  });
});

describe('test-data values', () => {
  const base = '/work/shared/onnx-backend/node';
  it('reads a SequenceProto file', () => {
    const v = readValueFile(`${base}/test_sequence_insert_at_back/test_data_set_0/input_0.pb`);
    expect(isTensor(v)).toBe(false);
    if (isTensor(v) || v.kind !== 'sequence') throw new Error('expected a sequence');
    expect(v.items.length).toBeGreaterThan(0);
    expect(v.items.every(isTensor)).toBe(true);
  });
  it('reads an empty OptionalProto given the declared type', () => {
    const bytes = encodeMessage('OptionalProto', { name: 'o', elem_type: 1 });
    const v = readTestValue(bytes, { kind: 'optional', elem: { kind: 'tensor', dtype: 'float32' } });
    expect(v).toEqual({ kind: 'optional', elemType: { kind: 'tensor', dtype: 'float32' }, value: undefined });
  });
  it('reads an optional holding a sequence', () => {
    const bytes = encodeMessage('OptionalProto', {
      name: 'o', elem_type: 3, sequence_value: { name: 's', elem_type: 1, tensor_values: [{ dims: [1], data_type: 6, int32_data: [4] }] },
    });
    const v = readTestValue(bytes, 'optional');
    if (isTensor(v) || v.kind !== 'optional' || !v.value || isTensor(v.value) || v.value.kind !== 'sequence') throw new Error('shape');
    expect(v.value.items.length).toBe(1);
  });
  it('guesses tensors from their fields', () => {
    expect(guessValueKind(encodeTensorProto(fromValues('float32', [2], [1, 2]), 'x'))).toBe('tensor');
    expect(guessValueKind(encodeMessage('SequenceProto', { name: 's', elem_type: 1, tensor_values: [{ dims: [1], data_type: 1, float_data: [1] }, { dims: [1], data_type: 1, float_data: [2] }] }))).toBe('sequence');
  });
  it('wraps garbage into OnnxImportError', () => {
    expect(() => readTestValue(new Uint8Array([0x0a, 0xff, 0xff, 0x7f]), 'tensor')).toThrow(OnnxImportError);
  });
});

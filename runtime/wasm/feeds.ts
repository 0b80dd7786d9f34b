// Checking run()'s feeds against the manifest before any byte is copied: every input present and no other,
// dtype, rank, dims, the array's kind (an Int32Array labelled float32 is refused even at the right byte length)
// and its length. Plain arrays are converted after every element is checked. One clear OnnxcRuntimeError each.

import { OnnxcRuntimeError } from './errors.js';
import type { FeedTensor, IoSpec, TypedArray, WasmManifest } from './types.js';

type Ctor = { new (length: number): TypedArray; readonly name: string; readonly BYTES_PER_ELEMENT: number };

/** The array type of each dtype, as onnxruntime-web uses them (16-bit floats travel as their bits; the 4- and
 *  2-bit integers one element per byte, unpacked: int4/int2 as Int8Array, uint4/uint2 as Uint8Array). */
export const ARRAYS: Readonly<Record<string, Ctor>> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, float16: Uint16Array, bfloat16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, int4: Int8Array, uint4: Uint8Array, int2: Int8Array, uint2: Uint8Array,
};

/** Integer ranges for plain-array conversion (64-bit types take bigints, or numbers that are safe integers). */
const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int4: [-8, 7], uint4: [0, 15], int2: [-2, 1], uint2: [0, 3],
};
/** The sub-byte types: a byte array's elements must lie in their range too (the kernels read the bytes as they are). */
const SUB_BYTE = new Set(['int4', 'uint4', 'int2', 'uint2']);
const BIG_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n],
};

export interface CheckedFeed {
  readonly spec: IoSpec;
  /** The bytes to copy to spec.offset; absent for an input the module was specialised on (nothing is written). */
  readonly bytes?: Uint8Array;
}

/** The name a typed array reports, across realms (a worker's Float32Array is not this realm's). */
const kindOf = (x: unknown): string => (ArrayBuffer.isView(x) ? Object.prototype.toString.call(x).slice(8, -1) : Array.isArray(x) ? 'Array' : x === null ? 'null' : typeof x === 'object' ? (Object.getPrototypeOf(x)?.constructor?.name ?? 'object') : typeof x);

const shape = (dtype: string, dims: readonly unknown[]): string => `${dtype}[${dims.map(String).join(',')}]`;

/** Check every feed against the manifest. `carried`: inputs whose values the session carries from the previous
 *  run; they may be omitted (a feed given for one is checked and used). */
export function checkFeeds(manifest: WasmManifest, feeds: unknown, carried: ReadonlySet<string> = new Set()): CheckedFeed[] {
  const names = manifest.inputs.map((s) => s.name);
  const fail = (msg: string, io?: string): never => { throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: ${msg}`, 'feed', undefined, io); };
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds)) {
    return fail(`run() takes one object of feeds keyed by input name (inputs: ${names.join(', ')}), got ${kindOf(feeds)}`);
  }
  const given = feeds as Record<string, unknown>;
  for (const k of Object.keys(given)) if (!names.includes(k)) fail(`'${k}' is not an input of this model (inputs: ${names.join(', ')})`, k);
  return manifest.inputs.filter((spec) => !(carried.has(spec.name) && given[spec.name] === undefined))
    .map((spec) => checkFeed(spec, given[spec.name], (msg) => fail(`input '${spec.name}' ${msg}`, spec.name)));
}

function checkFeed(spec: IoSpec, f: unknown, fail: (msg: string) => never): CheckedFeed {
  const want = shape(spec.dtype, spec.dims);
  if (f === undefined) return fail(`has no feed (it takes ${want})`);
  if (typeof f !== 'object' || f === null) return fail(`must be a tensor {type, dims, data} of ${want}, got ${kindOf(f)}`);
  const t = f as Partial<FeedTensor>;
  if (t.type !== spec.dtype) return fail(`must be ${want}, got type ${typeof t.type === 'string' ? `'${t.type}'` : kindOf(t.type)}`);
  if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail(`must be ${want}: dims must be an array of non-negative integers`);
  if (t.dims.length !== spec.dims.length || t.dims.some((d, i) => d !== spec.dims[i])) {
    return fail(`must be ${want}, got ${shape(t.type, t.dims)} (the module was compiled for these shapes)`);
  }
  const C = ARRAYS[spec.dtype];
  if (!C) return fail(`has dtype ${spec.dtype}, which the runtime cannot feed`);
  const count = spec.dims.reduce((a, b) => a * b, 1);
  const data = Array.isArray(t.data) ? fromPlainArray(spec.dtype, C, t.data, fail) : t.data;
  if (!ArrayBuffer.isView(data) || kindOf(data) !== C.name) return fail(`data must be a ${C.name} for ${spec.dtype}, got ${kindOf(data)}`);
  const arr = data as TypedArray;
  if (arr.length !== count) return fail(`data has ${arr.length} elements, ${want} needs ${count}`);
  if (SUB_BYTE.has(spec.dtype)) {
    const [lo, hi] = INT_RANGE[spec.dtype]!, xs = arr as Int8Array | Uint8Array;
    for (let i = 0; i < xs.length; i++) if (xs[i]! < lo || xs[i]! > hi) return fail(`data[${i}] = ${xs[i]} is not a valid ${spec.dtype} value (${lo}..${hi})`);
  }
  if (spec.fixed) {
    // the module was specialised on this input's value (nothing is written); another value needs another compile
    if (arr.length !== spec.fixed.length || Array.from(arr as ArrayLike<number | bigint>, String).some((v, i) => v !== spec.fixed![i])) return fail(`was fixed to [${spec.fixed.join(',')}] at compile time`);
    return { spec };
  }
  if (arr.byteLength !== spec.bytes) return fail(`data has ${arr.byteLength} bytes, expected ${spec.bytes}`);
  return { spec, bytes: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

/** A plain JS array as the input's typed array, every element checked (no silent NaN, wrap-around or truncation). */
function fromPlainArray(dtype: string, C: Ctor, xs: readonly unknown[], fail: (msg: string) => never): TypedArray {
  if (dtype === 'float16' || dtype === 'bfloat16') return fail(`data for ${dtype} must be a Uint16Array of the values' bits, not a plain array`);
  const out = new C(xs.length);
  const big = BIG_RANGE[dtype], int = INT_RANGE[dtype];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const bad = (): never => fail(`data[${i}] = ${typeof x === 'bigint' ? `${x}n` : typeof x === 'string' ? JSON.stringify(x).slice(0, 20) : String(x)} is not a valid ${dtype} value`);
    if (big) {
      const v = typeof x === 'bigint' ? x : typeof x === 'number' && Number.isSafeInteger(x) ? BigInt(x) : bad();
      if (v < big[0] || v > big[1]) bad();
      (out as BigInt64Array | BigUint64Array)[i] = v;
    } else if (dtype === 'bool') {
      (out as Uint8Array)[i] = x === true || x === 1 ? 1 : x === false || x === 0 ? 0 : bad();
    } else if (int) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < int[0] || x > int[1]) bad();
      (out as Int32Array)[i] = x as number;
    } else {
      if (typeof x !== 'number') bad();
      (out as Float32Array)[i] = x as number;
    }
  }
  return out;
}

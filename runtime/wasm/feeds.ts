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

/** A refused feed: the error naming the model (and the input). Module-level, so a run makes no closures (the
 *  check runs on every call of session.run). */
function refuse(manifest: WasmManifest, msg: string, io?: string): never {
  throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: ${msg}`, 'feed', undefined, io);
}

/** Check every feed against the manifest. `carried`: inputs whose values the session carries from the previous
 *  run; they may be omitted (a feed given for one is checked and used). */
export function checkFeeds(manifest: WasmManifest, feeds: unknown, carried?: ReadonlySet<string>): CheckedFeed[] {
  const inputs = manifest.inputs;
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds)) {
    return refuse(manifest, `run() takes one object of feeds keyed by input name (inputs: ${inputs.map((i) => i.name).join(', ')}), got ${kindOf(feeds)}`);
  }
  const given = feeds as Record<string, unknown>;
  for (const k in given) {
    if (!Object.prototype.hasOwnProperty.call(given, k)) continue;
    let known = false;
    for (let i = 0; i < inputs.length && !known; i++) known = inputs[i]!.name === k;
    if (!known) refuse(manifest, `'${k}' is not an input of this model (inputs: ${inputs.map((i) => i.name).join(', ')})`, k);
  }
  const out: CheckedFeed[] = [];
  for (const spec of inputs) {
    const f = given[spec.name];
    if (f === undefined && carried?.has(spec.name)) continue;
    const c = checkFeed(manifest, spec, f);
    out.push(typeof c === 'string' ? bad(manifest, spec, c) : c);
  }
  return out;
}

const dimsOk = (dims: readonly unknown[]): boolean => {
  for (const d of dims) if (!Number.isSafeInteger(d) || (d as number) < 0) return false;
  return true;
};

/** The type an input takes, as messages name it. */
const want = (spec: IoSpec): string => shape(spec.dtype, spec.dims);
/** A refused feed of input `spec`. */
const bad = (manifest: WasmManifest, spec: IoSpec, msg: string): never => refuse(manifest, `input '${spec.name}' ${msg}`, spec.name);

/** The checked feed, or why it is refused (a string: the caller throws it with the model's and input's names). */
function checkFeed(manifest: WasmManifest, spec: IoSpec, f: unknown): CheckedFeed | string {
  if (f === undefined) return `has no feed (it takes ${want(spec)})`;
  if (typeof f !== 'object' || f === null) return `must be a tensor {type, dims, data} of ${want(spec)}, got ${kindOf(f)}`;
  const t = f as Partial<FeedTensor>;
  if (t.type !== spec.dtype) return `must be ${want(spec)}, got type ${typeof t.type === 'string' ? `'${t.type}'` : kindOf(t.type)}`;
  if (!Array.isArray(t.dims) || !dimsOk(t.dims)) return `must be ${want(spec)}: dims must be an array of non-negative integers`;
  let count = 1, same = t.dims.length === spec.dims.length;
  for (let i = 0; i < spec.dims.length; i++) { count *= spec.dims[i]!; same &&= t.dims[i] === spec.dims[i]; }
  if (!same) return `must be ${want(spec)}, got ${shape(t.type, t.dims)} (the module was compiled for these shapes)`;
  const C = ARRAYS[spec.dtype];
  if (!C) return `has dtype ${spec.dtype}, which the runtime cannot feed`;
  const data = Array.isArray(t.data) ? fromPlainArray(spec.dtype, C, t.data, (msg) => bad(manifest, spec, msg)) : t.data;
  // instanceof first: the same realm's arrays skip kindOf's string work (another realm's are named by kindOf)
  if (!(data instanceof C) && (!ArrayBuffer.isView(data) || kindOf(data) !== C.name)) return `data must be a ${C.name} for ${spec.dtype}, got ${kindOf(data)}`;
  const arr = data as TypedArray;
  if (arr.length !== count) return `data has ${arr.length} elements, ${want(spec)} needs ${count}`;
  if (SUB_BYTE.has(spec.dtype)) {
    const [lo, hi] = INT_RANGE[spec.dtype]!, xs = arr as Int8Array | Uint8Array;
    for (let i = 0; i < xs.length; i++) if (xs[i]! < lo || xs[i]! > hi) return `data[${i}] = ${xs[i]} is not a valid ${spec.dtype} value (${lo}..${hi})`;
  }
  if (spec.fixed) {
    // the module was specialised on this input's value (nothing is written); another value needs another compile
    if (arr.length !== spec.fixed.length || Array.from(arr as ArrayLike<number | bigint>, String).some((v, i) => v !== spec.fixed![i])) return `was fixed to [${spec.fixed.join(',')}] at compile time`;
    return { spec };
  }
  if (arr.byteLength !== spec.bytes) return `data has ${arr.byteLength} bytes, expected ${spec.bytes}`;
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

// Generic elementwise machinery shared by the elementwise and activation families: broadcasting unary/binary/
// ternary maps over any storage (numbers, bigints, strings), dtype groups, and small inference helpers.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { Attr } from '../ir/graph.js';
import type { Tensor, TensorData } from '../ir/tensor.js';
import { allocate, roundToDType, sizeOf } from '../ir/tensor.js';
import type { Dim, TensorType, ValueType } from '../ir/types.js';
import type { ImportNode, InferContext, LegacyContext } from './schema.js';
import { broadcastDims, broadcastIndexer, broadcastShapes, inType } from './util.js';
import { checkElements } from '../ir/limits.js';

// ---- dtype groups (ONNX type constraints, restricted to what DType covers) -----------------------------------

export const FLOATS: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
export const SIGNED_INTS: readonly DType[] = ['int8', 'int16', 'int32', 'int64'];
export const UNSIGNED_INTS: readonly DType[] = ['uint8', 'uint16', 'uint32', 'uint64'];
export const INTS: readonly DType[] = [...SIGNED_INTS, ...UNSIGNED_INTS];
export const NUMERIC: readonly DType[] = [...FLOATS, ...INTS];
export const SIGNED_NUMERIC: readonly DType[] = [...FLOATS, ...SIGNED_INTS];
export const ALL_TYPES: readonly DType[] = [...NUMERIC, 'bool', 'string'];
export const BOOL: readonly DType[] = ['bool'];

/** One element as stored: number for most dtypes, bigint for int64/uint64, string for string. */
export type Elem = number | bigint | string;

// ---- run-time maps ---------------------------------------------------------------------------------------------

/** Refuse outputs no reference run could hold; a hostile model must fail fast rather than exhaust memory. */
export const MAX_ELEMENTS = 1 << 30;

function checkSize(dims: readonly number[]): number {
  const n = sizeOf(dims);
  checkElements(n, `output of dims [${dims.join(',')}]`);
  return n;
}

/** Store a JS value into storage; typed arrays wrap integers and round floats as ONNX casts within a kernel do. */
function finish<D extends DType>(dtype: D, dims: readonly number[], data: TensorData): Tensor<D> {
  return roundToDType({ dtype, dims: [...dims], data } as Tensor) as Tensor<D>;
}

export function mapUnary<D extends DType>(x: Tensor, outDtype: D, f: (a: Elem) => Elem | boolean): Tensor<D> {
  const n = checkSize(x.dims);
  const out = allocate(outDtype, n) as unknown as Elem[];
  const src = x.data as unknown as ArrayLike<Elem>;
  for (let i = 0; i < n; i++) out[i] = f(src[i]!) as Elem;
  return finish(outDtype, x.dims, out as unknown as TensorData);
}

export function mapBinary<D extends DType>(a: Tensor, b: Tensor, outDtype: D, f: (x: Elem, y: Elem) => Elem | boolean): Tensor<D> {
  const dims = broadcastDims(a.dims, b.dims);
  const n = checkSize(dims);
  const ia = broadcastIndexer(a.dims, dims);
  const ib = broadcastIndexer(b.dims, dims);
  const out = allocate(outDtype, n) as unknown as Elem[];
  const da = a.data as unknown as ArrayLike<Elem>;
  const db = b.data as unknown as ArrayLike<Elem>;
  for (let i = 0; i < n; i++) out[i] = f(da[ia(i)]!, db[ib(i)]!) as Elem;
  return finish(outDtype, dims, out as unknown as TensorData);
}

export function mapTernary<D extends DType>(
  a: Tensor, b: Tensor, c: Tensor, outDtype: D, f: (x: Elem, y: Elem, z: Elem) => Elem | boolean,
): Tensor<D> {
  const dims = broadcastDims(a.dims, b.dims, c.dims);
  const n = checkSize(dims);
  const ia = broadcastIndexer(a.dims, dims);
  const ib = broadcastIndexer(b.dims, dims);
  const ic = broadcastIndexer(c.dims, dims);
  const out = allocate(outDtype, n) as unknown as Elem[];
  const da = a.data as unknown as ArrayLike<Elem>;
  const db = b.data as unknown as ArrayLike<Elem>;
  const dc = c.data as unknown as ArrayLike<Elem>;
  for (let i = 0; i < n; i++) out[i] = f(da[ia(i)]!, db[ib(i)]!, dc[ic(i)]!) as Elem;
  return finish(outDtype, dims, out as unknown as TensorData);
}

// ---- inference helpers -------------------------------------------------------------------------------------------

/** Input i as a tensor type whose dtype is one of `allowed`. */
export function typedInput(ctx: InferContext<unknown>, i: number, allowed: readonly DType[], what = `input ${i}`): TensorType {
  const t = inType(ctx, i);
  if (!allowed.includes(t.dtype)) {
    throw new ShapeError(`${what} has element type ${t.dtype}; expected one of ${allowed.join(', ')}`);
  }
  return t;
}

/** All the given input types must share one dtype. */
export function sameDType(types: readonly TensorType[], what = 'inputs'): DType {
  const d = types[0]!.dtype;
  for (const t of types) {
    if (t.dtype !== d) throw new ShapeError(`${what} must share one element type; got ${types.map((x) => x.dtype).join(' and ')}`);
  }
  return d;
}

/** Numpy broadcast of shapes; unknown when any rank is unknown. */
export function broadcastTypes(types: readonly TensorType[]): readonly Dim[] | undefined {
  if (types.some((t) => t.shape === undefined)) return undefined;
  return broadcastShapes(...types.map((t) => t.shape!));
}

export function tensorType(dtype: DType, shape: readonly Dim[] | undefined): ValueType {
  return shape === undefined ? { kind: 'tensor', dtype } : { kind: 'tensor', dtype, shape: [...shape] };
}

// A small builder for one generated WebAssembly function: typed locals, counted loops and memory access by
// element type, so kernels read as loop nests over static shapes rather than raw Binaryen calls.

import binaryen from './binaryen.js';
import type { DType } from '../../ir/dtype.js';
import { UnsupportedTypeError } from '../../ir/errors.js';
import { bf16ToF32, f32ToBf16, f32ToHalf, halfToF32 } from './half.js';
import { genericDims, guardedLoop } from './dims-mode.js';

export type Expr = binaryen.ExpressionRef;
/** A local variable of the function being built. */
export interface Local { readonly index: number; readonly type: binaryen.Type }

/** An address in linear memory: a static byte offset plus, optionally, a dynamic i32 byte offset. */
export interface Ptr { readonly base: number; readonly dyn?: Expr }

/** The WebAssembly value type that holds one element of a dtype while computing. */
export type ValType = 'f32' | 'f64' | 'i32' | 'i64';

export function valType(dtype: DType): ValType {
  switch (dtype) {
    case 'float32': case 'float16': case 'bfloat16': return 'f32';
    case 'float64': return 'f64';
    case 'int64': case 'uint64': return 'i64';
    case 'int32': case 'uint32': case 'int16': case 'uint16': case 'int8': case 'uint8': case 'bool': return 'i32';
    // one element per byte in memory, as int8/uint8 (only ONNX raw data packs them)
    case 'int4': case 'uint4': case 'int2': case 'uint2': return 'i32';
    case 'string':
      throw new UnsupportedTypeError(`the wasm backend does not handle ${dtype} tensors yet`);
  }
}

/** Bytes per element in the wasm memory layout (the same as ONNX raw data for every supported dtype but the
 *  sub-byte integers, which take a byte each). */
export function elemBytes(dtype: DType): number {
  switch (dtype) {
    case 'float64': case 'int64': case 'uint64': return 8;
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'int16': case 'uint16': case 'float16': case 'bfloat16': return 2;
    case 'int8': case 'uint8': case 'bool': case 'int4': case 'uint4': case 'int2': case 'uint2': return 1;
    case 'string':
      throw new UnsupportedTypeError(`the wasm backend does not handle ${dtype} tensors yet`);
  }
}

export class Fn {
  readonly vars: binaryen.Type[] = [];
  private labels = 0;
  constructor(readonly m: binaryen.Module) {}

  local(type: binaryen.Type): Local {
    this.vars.push(type);
    return { index: this.vars.length - 1, type };
  }
  i32(): Local { return this.local(binaryen.i32); }
  f32(): Local { return this.local(binaryen.f32); }
  v128(): Local { return this.local(binaryen.v128); }
  forType(t: ValType): Local { return this.local(binaryen[t]); }

  get(l: Local): Expr { return this.m.local.get(l.index, l.type); }
  set(l: Local, v: Expr): Expr { return this.m.local.set(l.index, v); }
  tee(l: Local, v: Expr): Expr { return this.m.local.tee(l.index, v, l.type); }
  c32(n: number): Expr { return this.m.i32.const(n | 0); }
  cf32(x: number): Expr { return this.m.f32.const(x); }
  /** A fresh number for loop/block labels. */
  label(): number { return this.labels++; }
  block(children: Expr[]): Expr { return children.length === 1 ? children[0]! : this.m.block(null, children, binaryen.none); }

  /** for (i = from; i < to; i += step) body — bounds are static, so an empty range emits nothing. The body gets
   *  a getter: Binaryen expressions are tree nodes and must never be used twice. */
  loop(i: Local, from: number, to: number, body: (i: () => Expr) => Expr[], step = 1): Expr {
    const m = this.m;
    // a dynamic-dims sample: one loop shape for every trip count (dims-mode.ts)
    if (genericDims()) return guardedLoop(this, i, () => this.c32(from), () => this.c32(to), body, step);
    if (to <= from) return m.nop();
    if (to - from <= step) return this.block([this.set(i, this.c32(from)), ...body(() => this.get(i))]);
    const label = `L${this.labels++}`;
    return this.block([
      this.set(i, this.c32(from)),
      m.loop(label, this.block([
        ...body(() => this.get(i)),
        this.set(i, m.i32.add(this.get(i), this.c32(step))),
        m.br_if(label, m.i32.lt_s(this.get(i), this.c32(to))),
      ])),
    ]);
  }

  /** for (i = from; i < to; i++) with run-time bounds (i32 expressions); may run zero times. */
  loopDyn(i: Local, from: Expr, to: Local, body: (i: () => Expr) => Expr[]): Expr {
    const m = this.m;
    const brk = `B${this.labels}`, label = `L${this.labels++}`;
    return m.block(brk, [
      this.set(i, from),
      m.br(brk, m.i32.ge_s(this.get(i), this.get(to))),
      m.loop(label, this.block([
        ...body(() => this.get(i)),
        this.set(i, m.i32.add(this.get(i), this.c32(1))),
        m.br_if(label, m.i32.lt_s(this.get(i), this.get(to))),
      ])),
    ]);
  }

  /** Byte address expression of a Ptr, for instructions that take no static offset (memory.copy). */
  addr(p: Ptr): Expr {
    if (p.dyn === undefined) return this.c32(p.base);
    return p.base === 0 ? p.dyn : this.m.i32.add(p.dyn, this.c32(p.base));
  }
  /** Ptr advanced by `byteOff` (an i32 expression). */
  at(p: Ptr, byteOff: Expr): Ptr {
    return { base: p.base, dyn: p.dyn === undefined ? byteOff : this.m.i32.add(p.dyn, byteOff) };
  }
  /** Ptr of element `idx` (i32 expression) of size `bytes`. */
  elem(p: Ptr, idx: Expr, bytes: number): Ptr {
    return this.at(p, bytes === 1 ? idx : this.m.i32.shl(idx, this.c32(Math.log2(bytes))));
  }

  /** Load one element of `dtype` as its ValType. */
  load(dtype: DType, p: Ptr): Expr {
    const m = this.m, ptr = p.dyn ?? this.c32(0), o = p.base;
    switch (dtype) {
      case 'float32': return m.f32.load(o, 4, ptr);
      case 'float64': return m.f64.load(o, 8, ptr);
      case 'int64': case 'uint64': return m.i64.load(o, 8, ptr);
      case 'int32': case 'uint32': return m.i32.load(o, 4, ptr);
      case 'int16': return m.i32.load16_s(o, 2, ptr);
      case 'uint16': return m.i32.load16_u(o, 2, ptr);
      case 'int8': return m.i32.load8_s(o, 1, ptr);
      case 'uint8': case 'bool': return m.i32.load8_u(o, 1, ptr);
      // a byte each, held wrapped to their width (store below), so a plain byte load is exact
      case 'int4': case 'int2': return m.i32.load8_s(o, 1, ptr);
      case 'uint4': case 'uint2': return m.i32.load8_u(o, 1, ptr);
      // 16-bit floats are stored as bits and computed in f32 (see half.ts)
      case 'float16': return halfToF32(this, m.i32.load16_u(o, 2, ptr));
      case 'bfloat16': return bf16ToF32(this, m.i32.load16_u(o, 2, ptr));
      default: throw new UnsupportedTypeError(`the wasm backend does not handle ${dtype} tensors yet`);
    }
  }
  store(dtype: DType, p: Ptr, v: Expr): Expr {
    const m = this.m, ptr = p.dyn ?? this.c32(0), o = p.base;
    switch (dtype) {
      case 'float32': return m.f32.store(o, 4, ptr, v);
      case 'float64': return m.f64.store(o, 8, ptr, v);
      case 'int64': case 'uint64': return m.i64.store(o, 8, ptr, v);
      case 'int32': case 'uint32': return m.i32.store(o, 4, ptr, v);
      case 'int16': case 'uint16': return m.i32.store16(o, 2, ptr, v);
      case 'int8': case 'uint8': case 'bool': return m.i32.store8(o, 1, ptr, v);
      // wrapped to the type's width (ONNX Cast to int4/int2 wraps), sign-extended for the signed ones
      case 'int4': case 'int2': {
        const sh = (): Expr => this.c32(dtype === 'int4' ? 28 : 30); // a fresh node per use: Binaryen's IR is a tree
        return m.i32.store8(o, 1, ptr, m.i32.shr_s(m.i32.shl(v, sh()), sh()));
      }
      case 'uint4': return m.i32.store8(o, 1, ptr, m.i32.and(v, this.c32(15)));
      case 'uint2': return m.i32.store8(o, 1, ptr, m.i32.and(v, this.c32(3)));
      case 'float16': return m.i32.store16(o, 2, ptr, f32ToHalf(this, v));
      case 'bfloat16': return m.i32.store16(o, 2, ptr, f32ToBf16(this, v));
      default: throw new UnsupportedTypeError(`the wasm backend does not handle ${dtype} tensors yet`);
    }
  }
  loadV(p: Ptr): Expr { return this.m.v128.load(p.base, 4, p.dyn ?? this.c32(0)); }
  storeV(p: Ptr, v: Expr): Expr { return this.m.v128.store(p.base, 4, p.dyn ?? this.c32(0), v); }
}

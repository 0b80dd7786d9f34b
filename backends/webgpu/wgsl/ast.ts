// The WGSL syntax tree the kernels build: expressions carry their WGSL type as a TypeScript type parameter, so an
// f32 added to an i32, or a helper called with the wrong arguments, is a compile error here, not a shader error at
// run time. Nodes are plain data (a discriminated union on `kind`); print.ts turns them into source.

export type Scalar = 'f32' | 'i32' | 'u32' | 'bool';
export type Vec<S extends Scalar = Scalar> = `vec4<${S}>` | `vec2<${S}>` | `vec3<${S}>`;
export type WType = Scalar | Vec;
export type Num = 'f32' | 'i32' | 'u32';
export type NumT = Num | Vec<Num>;
export type FloatT = 'f32' | Vec<'f32'>;
/** The component type of a vector type. */
export type ElemOf<V extends Vec> = V extends `vec${2 | 3 | 4}<${infer S extends Scalar}>` ? S : never;

export type BinOp = '+' | '-' | '*' | '/' | '%' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||' | '&' | '|' | '^' | '<<' | '>>';

export type ExprNode =
  | { readonly kind: 'lit'; readonly text: string }
  | { readonly kind: 'ref'; readonly name: string }
  | { readonly kind: 'bin'; readonly op: BinOp; readonly a: ExprNode; readonly b: ExprNode }
  | { readonly kind: 'un'; readonly op: '-' | '!' | '~'; readonly a: ExprNode }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly ExprNode[] }
  | { readonly kind: 'index'; readonly base: ExprNode; readonly index: ExprNode }
  | { readonly kind: 'member'; readonly base: ExprNode; readonly field: string };

/** A typed expression: `T` is its WGSL type. */
export interface Expr<T extends WType = WType> {
  readonly type: T;
  readonly node: ExprNode;
}

/** An expression that can be assigned to (a `var`, a storage buffer element). */
export interface LValue<T extends WType = WType> extends Expr<T> {
  readonly lvalue: true;
}

export type Stmt =
  | { readonly kind: 'let'; readonly name: string; readonly type: WType; readonly value: ExprNode; readonly mutable: boolean }
  | { readonly kind: 'assign'; readonly target: ExprNode; readonly op: '=' | '+=' | '-=' | '*=' | '/='; readonly value: ExprNode }
  | { readonly kind: 'if'; readonly cond: ExprNode; readonly then: readonly Stmt[]; readonly else?: readonly Stmt[] }
  | { readonly kind: 'for'; readonly index: string; readonly from: ExprNode; readonly to: ExprNode; readonly step: number; readonly body: readonly Stmt[] }
  | { readonly kind: 'array'; readonly name: string; readonly elem: Scalar; readonly length: number }
  | { readonly kind: 'call'; readonly call: ExprNode }
  | { readonly kind: 'return'; readonly value?: ExprNode };

export const expr = <T extends WType>(type: T, node: ExprNode): Expr<T> => ({ type, node });

// --- literals

/** The module-scope private array holding NaN, +inf and -inf bits: WGSL cannot spell them, and a constant
 *  expression that evaluates to one is a shader compile error, so they are read at run time (module.ts declares
 *  the array in every shader that names it). */
export const SPECIAL_F32 = 'f32_special';
export const SPECIAL_F32_BITS = [0x7fc00000, 0x7f800000, 0xff800000] as const;

/** An f32 literal; NaN and infinities through SPECIAL_F32. */
export function f32(x: number): Expr<'f32'> {
  if (Number.isNaN(x)) return special(0);
  if (x === Infinity) return special(1);
  if (x === -Infinity) return special(2);
  const f = Math.fround(x);
  if (Object.is(f, -0)) return expr('f32', { kind: 'lit', text: '-0.0f' });
  // shortest text that reads back to the same f32
  let s = String(f);
  for (let p = 1; p <= 17; p++) { const t = f.toPrecision(p); if (Math.fround(Number(t)) === f) { s = t; break; } }
  if (!/[.e]/.test(s)) s += '.0';
  return expr('f32', { kind: 'lit', text: `${s}f` });
}
const special = (k: number): Expr<'f32'> => expr('f32', { kind: 'call', fn: 'bitcast<f32>', args: [{ kind: 'index', base: { kind: 'ref', name: SPECIAL_F32 }, index: { kind: 'lit', text: `${k}u` } }] });

export function i32(n: number): Expr<'i32'> {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new RangeError(`${n} is not an i32`);
  // -2^31 cannot be written as a negated literal
  return expr('i32', n === -(2 ** 31) ? { kind: 'call', fn: 'i32', args: [{ kind: 'lit', text: '0x80000000u' }] } : { kind: 'lit', text: `${n}i` });
}

export function u32(n: number): Expr<'u32'> {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new RangeError(`${n} is not a u32`);
  return expr('u32', { kind: 'lit', text: `${n}u` });
}

export const bool = (b: boolean): Expr<'bool'> => expr('bool', { kind: 'lit', text: b ? 'true' : 'false' });

// --- operators (both operands of the same type; NoInfer makes the second follow the first)

const bin = <T extends WType>(op: BinOp, a: Expr<T>, b: Expr<WType>, type: T): Expr<T> => expr(type, { kind: 'bin', op, a: a.node, b: b.node });
const isLit = (e: Expr, ...texts: string[]): boolean => e.node.kind === 'lit' && texts.includes(e.node.text);
// integer identities only (x + 0, x * 1): the printed source stays readable; float ones could change -0 and NaN
export const add = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => (isLit(b, '0u', '0i') ? a : isLit(a, '0u', '0i') ? expr(a.type, b.node) : bin('+', a, b, a.type));
export const sub = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('-', a, b, a.type);
export const mul = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => (isLit(b, '1u', '1i') ? a : isLit(a, '1u', '1i') ? expr(a.type, b.node) : bin('*', a, b, a.type));
export const div = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('/', a, b, a.type);
export const mod = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('%', a, b, a.type);
export const neg = <T extends 'f32' | 'i32' | Vec<'f32' | 'i32'>>(a: Expr<T>): Expr<T> => expr(a.type, { kind: 'un', op: '-', a: a.node });
/** Vector times scalar. */
export const scale = <V extends Vec<Num>>(v: Expr<V>, s: Expr<ElemOf<V>>): Expr<V> => expr(v.type, { kind: 'bin', op: '*', a: v.node, b: s.node });

const cmp = (op: BinOp) => <T extends Num>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<'bool'> => expr('bool', { kind: 'bin', op, a: a.node, b: b.node });
export const lt = cmp('<'), le = cmp('<='), gt = cmp('>'), ge = cmp('>='), eq = cmp('=='), ne = cmp('!=');
export const and = (a: Expr<'bool'>, b: Expr<'bool'>): Expr<'bool'> => bin('&&', a, b, 'bool');
export const or = (a: Expr<'bool'>, b: Expr<'bool'>): Expr<'bool'> => bin('||', a, b, 'bool');
export const not = (a: Expr<'bool'>): Expr<'bool'> => expr('bool', { kind: 'un', op: '!', a: a.node });
type IntT = 'i32' | 'u32';
/** Bitwise operators on 32-bit integers (shift amounts are u32, as WGSL requires). */
export const band = <T extends IntT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('&', a, b, a.type);
export const bor = <T extends IntT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('|', a, b, a.type);
export const bxor = <T extends IntT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => bin('^', a, b, a.type);
export const shl = <T extends IntT>(a: Expr<T>, b: Expr<'u32'>): Expr<T> => bin('<<', a, b, a.type);
export const shr = <T extends IntT>(a: Expr<T>, b: Expr<'u32'>): Expr<T> => bin('>>', a, b, a.type);
/** Equality of two values of one scalar type, bool included (WGSL compares bools with == and !=). */
export const same = <T extends 'bool' | Num>(a: Expr<T>, b: Expr<NoInfer<T>>, op: '==' | '!=' = '=='): Expr<'bool'> => expr('bool', { kind: 'bin', op, a: a.node, b: b.node });
/** The bits of a value reinterpreted as another 32-bit scalar type. */
export const bitcast = <T extends Num>(to: T, x: Expr<Num>): Expr<T> => call(to, `bitcast<${to}>`, [x]);

// --- built-in functions

const call = <T extends WType>(type: T, fn: string, args: readonly Expr[]): Expr<T> => expr(type, { kind: 'call', fn, args: args.map((a) => a.node) });

export type FloatFn = 'exp' | 'log' | 'sqrt' | 'inverseSqrt' | 'floor' | 'ceil' | 'round' | 'trunc' | 'sin' | 'cos' | 'tan' | 'asin' | 'acos' | 'atan'
  | 'sinh' | 'cosh' | 'tanh' | 'asinh' | 'acosh' | 'atanh' | 'abs' | 'sign' | 'exp2' | 'log2' | 'fract' | 'saturate';
export const math = <T extends FloatT>(fn: FloatFn, x: Expr<T>): Expr<T> => call(x.type, fn, [x]);
export const max = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => call(a.type, 'max', [a, b]);
export const min = <T extends NumT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => call(a.type, 'min', [a, b]);
export const clamp = <T extends NumT>(x: Expr<T>, lo: Expr<NoInfer<T>>, hi: Expr<NoInfer<T>>): Expr<T> => call(x.type, 'clamp', [x, lo, hi]);
export const abs = <T extends 'f32' | 'i32' | Vec<'f32' | 'i32'>>(x: Expr<T>): Expr<T> => call(x.type, 'abs', [x]);
export const pow = <T extends FloatT>(a: Expr<T>, b: Expr<NoInfer<T>>): Expr<T> => call(a.type, 'pow', [a, b]);
export const atan2 = <T extends FloatT>(y: Expr<T>, x: Expr<NoInfer<T>>): Expr<T> => call(y.type, 'atan2', [y, x]);
export const fma = <T extends FloatT>(a: Expr<T>, b: Expr<NoInfer<T>>, c: Expr<NoInfer<T>>): Expr<T> => call(a.type, 'fma', [a, b, c]);
export const dot = <S extends Num>(a: Expr<Vec<S>>, b: Expr<Vec<S>>): Expr<S> => call(a.type.slice(5, -1) as S, 'dot', [a, b]);
/** `cond ? t : f` (WGSL's select takes the false value first). */
export const select = <T extends WType>(cond: Expr<'bool'>, t: Expr<T>, f: Expr<NoInfer<T>>): Expr<T> => call(t.type, 'select', [f, t, cond]);
/** A value converted to another scalar type (f32(i), u32(x), ...). */
export const convert = <T extends Scalar>(to: T, x: Expr<Scalar>): Expr<T> => call(to, to, [x]);
/** A vec4 from four scalars or one (splat). */
export const vec4 = <S extends Num>(s: S, ...xs: readonly Expr<S>[]): Expr<`vec4<${S}>`> => call(`vec4<${s}>` as `vec4<${S}>`, `vec4<${s}>`, xs);
/** Component i of a vector. */
export const lane = <S extends Scalar>(v: Expr<Vec<S>>, i: 0 | 1 | 2 | 3): Expr<S> => expr(v.type.slice(5, -1) as S, { kind: 'member', base: v.node, field: 'xyzw'[i]! });
/** Component i of a vector, as something to assign to. */
export const laneRef = <S extends Scalar>(v: LValue<Vec<S>>, i: 0 | 1 | 2 | 3): LValue<S> => ({ ...lane(v, i), lvalue: true });

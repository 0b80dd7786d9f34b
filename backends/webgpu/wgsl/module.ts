// Building one compute shader: storage bindings (typed element access), module constants, helper functions
// (called through the typed function the declaration returns, so a helper's name and signature are checked),
// and the entry point's body. `print()` is the shader's source, which is also its cache key: everything a
// dispatch runs with (buffer ranges, workgroup counts) lives outside it (kernels/types.ts).

import { expr, SPECIAL_F32, SPECIAL_F32_BITS, type Expr, type LValue, type Scalar, type Stmt, type WType, u32 } from './ast.js';
import { printBlock, printExpr } from './print.js';

/** Workgroup size of one-dimensional kernels: 64 invocations suit lavapipe, SwiftShader and GPUs alike. */
export const WORKGROUP_SIZE = 64;
/** Largest workgroup count per dispatch dimension (WebGPU's default maxComputeWorkgroupsPerDimension). */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** WGSL keywords and the type and built-in names a kernel's hint could collide with. */
const RESERVED = new Set(['var', 'let', 'const', 'fn', 'if', 'else', 'for', 'loop', 'while', 'return', 'break', 'continue', 'struct',
  'switch', 'case', 'default', 'true', 'false', 'override', 'enable', 'alias', 'discard', 'array', 'atomic', 'bitcast', 'ptr', 'sampler',
  'f32', 'f16', 'i32', 'u32', 'bool', 'vec2', 'vec3', 'vec4', 'mat2x2', 'mat3x3', 'mat4x4', 'select', 'min', 'max', 'exp', 'log', 'dot']);

class Names {
  private readonly used = new Set<string>();
  fresh(hint: string): string {
    if (RESERVED.has(hint)) hint = `${hint}_`;
    let n = hint, k = 1;
    while (this.used.has(n)) n = `${hint}_${k++}`;
    this.used.add(n);
    return n;
  }
}

/** A statement list under construction. */
export class Body {
  readonly stmts: Stmt[] = [];
  constructor(private readonly names: Names) {}

  /** `let name = e;` and the name as an expression. */
  let<T extends WType>(hint: string, e: Expr<T>): Expr<T> {
    const name = this.names.fresh(hint);
    this.stmts.push({ kind: 'let', name, type: e.type, value: e.node, mutable: false });
    return expr(e.type, { kind: 'ref', name });
  }

  /** `var name = e;` and the variable. */
  var<T extends WType>(hint: string, e: Expr<T>): LValue<T> {
    const name = this.names.fresh(hint);
    this.stmts.push({ kind: 'let', name, type: e.type, value: e.node, mutable: true });
    return { type: e.type, node: { kind: 'ref', name }, lvalue: true };
  }

  set<T extends WType>(target: LValue<T>, e: Expr<NoInfer<T>>, op: '=' | '+=' | '-=' | '*=' | '/=' = '='): void {
    this.stmts.push({ kind: 'assign', target: target.node, op, value: e.node });
  }

  if(cond: Expr<'bool'>, then: (b: Body) => void, otherwise?: (b: Body) => void): void {
    const t = new Body(this.names); then(t);
    let e: Body | undefined;
    if (otherwise) { e = new Body(this.names); otherwise(e); }
    this.stmts.push({ kind: 'if', cond: cond.node, then: t.stmts, ...(e ? { else: e.stmts } : {}) });
  }

  /** `for (var i = from; i < to; i += step)`. */
  for(hint: string, from: Expr<'u32'>, to: Expr<'u32'>, body: (b: Body, i: Expr<'u32'>) => void, step = 1): void {
    const index = this.names.fresh(hint);
    const b = new Body(this.names);
    body(b, expr('u32', { kind: 'ref', name: index }));
    this.stmts.push({ kind: 'for', index, from: from.node, to: to.node, step, body: b.stmts });
  }

  /** A function-scope array of `length` zeros (per invocation state: a recurrent column, gates); element access. */
  array<T extends Scalar>(hint: string, elem: T, length: number): { at(i: Expr<'u32'>): LValue<T> } {
    const name = this.names.fresh(hint);
    this.stmts.push({ kind: 'array', name, elem, length: Math.max(1, length) });
    return { at: (i) => ({ type: elem, node: { kind: 'index', base: { kind: 'ref', name }, index: i.node }, lvalue: true }) };
  }

  /** `workgroupBarrier();` (in uniform control flow only: the shader compiler refuses it elsewhere). */
  barrier(): void {
    this.stmts.push({ kind: 'call', call: { kind: 'call', fn: 'workgroupBarrier', args: [] } });
  }

  /** A call whose result is not used (atomics). */
  call(e: Expr): void {
    this.stmts.push({ kind: 'call', call: e.node });
  }

  return(e?: Expr): void {
    this.stmts.push(e ? { kind: 'return', value: e.node } : { kind: 'return' });
  }
}

/** A storage buffer binding: an array of T. */
export interface Buffer<T extends WType> {
  readonly name: string;
  readonly elem: T;
  readonly access: 'read' | 'read_write';
  /** Element i (an lvalue; storing into a read-only binding is refused by the shader compiler). */
  at(i: Expr<'u32'>): LValue<T>;
}

/** The status word kernels set when they meet a bad index (runtime/webgpu reads it after a run). */
export interface StatusBinding {
  /** Record a failure (keeps the largest code written in a run) and the value that caused it. */
  fail(b: Body, code: number, value?: Expr<'i32'>): void;
}

type Params<Ps extends readonly WType[]> = { readonly [K in keyof Ps]: readonly [string, Ps[K]] };
type Args<Ps extends readonly WType[]> = { readonly [K in keyof Ps]: Expr<Ps[K]> };

export class ShaderBuilder {
  private readonly names = new Names();
  private readonly decls: string[] = [];
  private readonly helpers: string[] = [];
  private readonly bindings: string[] = [];
  private entry?: { size: readonly number[]; body: Body };
  /** Built-ins the entry point takes besides the global invocation id (`@builtin(name) param: type`). */
  private readonly builtins = new Map<string, { param: string; type: WType }>();
  private usesSubgroups = false;
  private readonly diagnostics: string[] = [];

  constructor() {
    for (const n of ['main', 'gid', SPECIAL_F32]) this.names.fresh(n);
  }

  /** The next binding (in declaration order, group 0). */
  buffer<T extends WType>(hint: string, elem: T, access: 'read' | 'read_write'): Buffer<T> {
    const name = this.names.fresh(hint);
    // Every binding is declared read_write: inputs and outputs are ranges of one arena buffer, and WebGPU forbids a
    // buffer bound writable and read-only in the same dispatch (the check is per buffer, not per range); several
    // writable bindings of one buffer are allowed. `access` still says what the kernel does with it.
    this.bindings.push(`@group(0) @binding(${this.bindings.length}) var<storage, read_write> ${name}: array<${elem}>;${access === 'read' ? ' // read' : ''}`);
    return { name, elem, access, at: (i) => ({ type: elem, node: { kind: 'index', base: { kind: 'ref', name }, index: i.node }, lvalue: true }) };
  }

  /** The status binding (next binding number): one atomic u32. */
  status(): StatusBinding {
    const name = this.names.fresh('status');
    this.bindings.push(`@group(0) @binding(${this.bindings.length}) var<storage, read_write> ${name}: array<atomic<u32>>;`);
    return {
      fail: (b, code, value) => {
        b.call(expr('u32', { kind: 'call', fn: 'atomicMax', args: [{ kind: 'lit', text: `&${name}[0]` }, u32(code).node] }));
        if (value) b.call(expr('u32', { kind: 'call', fn: 'atomicStore', args: [{ kind: 'lit', text: `&${name}[1]` }, { kind: 'call', fn: 'bitcast<u32>', args: [value.node] }] }));
      },
    };
  }

  /** A workgroup-shared array of `length` elements (`var<workgroup>`); element access. */
  workgroupArray<T extends WType>(hint: string, elem: T, length: number): { at(i: Expr<'u32'>): LValue<T> } {
    const name = this.names.fresh(hint);
    this.decls.push(`var<workgroup> ${name}: array<${elem}, ${Math.max(1, length)}>;`);
    return { at: (i) => ({ type: elem, node: { kind: 'index', base: { kind: 'ref', name }, index: i.node }, lvalue: true }) };
  }

  /** A module-scope `const`. */
  const<T extends WType>(hint: string, e: Expr<T>): Expr<T> {
    const name = this.names.fresh(hint);
    this.decls.push(`const ${name}: ${e.type} = ${printExpr(e.node)};`);
    return expr(e.type, { kind: 'ref', name });
  }

  /** A helper function; returns the typed function that calls it. */
  fn<Ps extends readonly WType[], R extends WType>(hint: string, params: Params<Ps>, ret: R, body: (b: Body, ...args: Args<Ps>) => Expr<R>): (...args: Args<Ps>) => Expr<R> {
    const name = this.names.fresh(hint);
    const b = new Body(this.names);
    const pnames = params.map(([p]) => this.names.fresh(p));
    const args = params.map(([, t], i) => expr(t, { kind: 'ref', name: pnames[i]! })) as unknown as Args<Ps>;
    b.return(body(b, ...args));
    const sig = params.map(([, t], i) => `${pnames[i]}: ${t}`).join(', ');
    this.helpers.push([`fn ${name}(${sig}) -> ${ret} {`, ...printBlock(b.stmts, '  '), '}'].join('\n'));
    return (...a: Args<Ps>) => expr(ret, { kind: 'call', fn: name, args: (a as readonly Expr[]).map((x) => x.node) });
  }

  /** An entry-point built-in other than the global invocation id (declared once, however often asked for). */
  builtin<T extends 'u32' | 'vec3<u32>'>(name: 'workgroup_id' | 'local_invocation_index' | 'subgroup_invocation_id' | 'subgroup_size', type: T): Expr<T> {
    if (name.startsWith('subgroup_')) this.usesSubgroups = true;
    let b = this.builtins.get(name);
    if (!b) { b = { param: this.names.fresh(name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())), type }; this.builtins.set(name, b); }
    return expr(type, { kind: 'ref', name: b.param });
  }

  /** Subgroup operations (WGSL's `subgroups` extension; the device must have the feature): the invocation's lane
   *  and a broadcast of lane `from`'s value (`from` a constant, as subgroupBroadcast requires). */
  subgroups(): { lane: Expr<'u32'>; broadcast<T extends WType>(v: Expr<T>, from: number): Expr<T> } {
    this.usesSubgroups = true;
    return {
      lane: this.builtin('subgroup_invocation_id', 'u32'),
      broadcast: (v, from) => expr(v.type, { kind: 'call', fn: 'subgroupBroadcast', args: [v.node, u32(from).node] }),
    };
  }

  /** `diagnostic(off, rule);` for the module: 'subgroup_uniformity' where a subgroup operation runs under a branch
   *  the uniformity analysis cannot prove subgroup-uniform but the kernel makes so (whole subgroups take it). */
  diagnosticOff(rule: 'subgroup_uniformity'): this {
    if (!this.diagnostics.includes(rule)) this.diagnostics.push(rule);
    return this;
  }

  /** The entry point `main`; `body` gets the global invocation id's x (flattened over y when the dispatch
   *  needs more than 65535 workgroups in x; see `dispatch1d`). */
  main(size: readonly [number, number?, number?], body: (b: Body, gid: { x: Expr<'u32'>; y: Expr<'u32'>; z: Expr<'u32'> }) => void): this {
    const b = new Body(this.names);
    const g = (f: string): Expr<'u32'> => expr('u32', { kind: 'member', base: { kind: 'ref', name: 'gid' }, field: f });
    body(b, { x: g('x'), y: g('y'), z: g('z') });
    this.entry = { size: size.filter((s): s is number => s !== undefined), body: b };
    return this;
  }

  print(): string {
    if (!this.entry) throw new Error('shader has no entry point');
    const code = [...this.decls, ...this.helpers, ...printBlock(this.entry.body.stmts, '')].join('\n');
    const special = new RegExp(`\\b${SPECIAL_F32}\\b`).test(code)
      ? [`var<private> ${SPECIAL_F32}: array<u32, 3> = array<u32, 3>(${SPECIAL_F32_BITS.map((b) => `${b}u`).join(', ')});`] : [];
    const params = ['@builtin(global_invocation_id) gid: vec3<u32>', ...[...this.builtins].map(([n, b]) => `@builtin(${n}) ${b.param}: ${b.type}`)];
    return [
      ...(this.usesSubgroups ? ['enable subgroups;'] : []),
      ...this.diagnostics.map((r) => `diagnostic(off, ${r});`),
      ...special,
      ...this.bindings, ...(this.decls.length ? ['', ...this.decls] : []), ...(this.helpers.length ? ['', ...this.helpers] : []), '',
      `@compute @workgroup_size(${this.entry.size.join(', ')})`,
      `fn main(${params.join(', ')}) {`, ...printBlock(this.entry.body.stmts, '  '), '}', '',
    ].join('\n');
  }
}

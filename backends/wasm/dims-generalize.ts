// One module for every size of the run-time dims, from modules emitted at several sizes: the texts must agree
// node by node except for numbers, and each number that differs must be a dim expression (lowering/dims.ts) of
// the sizes (an i32/i64 constant, a load/store offset, a float that is a size or its reciprocal). Each becomes a
// local of its function, computed on entry from the module's dim globals. Anything else (a different loop shape,
// a size split the kernel made at compile time, a plan chosen by size) is refused naming the function.

import { evalExpr, fitExpr, formatExpr, isConstExpr, type DimExpr } from '../../lowering/dims.js';
import { headOf, type Sx } from './dims-wat.js';

/** Why a function could not be generalised (the caller names the node it belongs to). */
export class GeneralizeError extends Error {
  constructor(readonly fn: string, readonly detail: string) { super(`${fn}: ${detail}`); }
}

/** The global a dim's run-time value lives in (the runtime sets it before each run). */
export const dimGlobal = (sym: string, k: number): string => `$dim${k}_${sym.replace(/[^A-Za-z0-9_]/g, '_')}`;

const MEM_OP = /^(i32|i64|f32|f64|v128)\.(load|store)/;
const INT = /^-?\d+$/;

interface FnState {
  readonly name: string;
  /** formatted expression -> local name */
  readonly locals: Map<string, { local: string; expr: DimExpr }>;
}

export interface GeneralizeResult {
  readonly module: Sx[];
  /** How many constants became run-time expressions (for reports and tests). */
  readonly holes: number;
}

/** Generalise `mods` (one `(module ...)` tree per point of `points`, dims ordered as `syms`). `statics`, the same
 *  modules emitted in static form: a function whose static code is the same at every point is taken as it is. */
export function generalizeModules(mods: readonly Sx[][], points: readonly (readonly number[])[], syms: readonly string[], statics?: readonly Sx[][]): GeneralizeResult {
  let holes = 0;
  const hole = (st: FnState, values: readonly number[], what: string): string => {
    const e = fitExpr(points, values);
    if (!e) throw new GeneralizeError(st.name, `${what} takes the values ${values.join(', ')} at ${syms.join(',')} = ${points.map((p) => p.join('x')).join(', ')}, which no dim expression gives (the kernel splits or plans by size at compile time)`);
    holes++;
    const key = formatExpr(e, syms);
    let l = st.locals.get(key);
    if (!l) { l = { local: `$dimx${st.locals.size}`, expr: e }; st.locals.set(key, l); }
    return l.local;
  };
  const num = (a: string): number => Number(a);
  const unify = (xs: readonly Sx[], st: FnState): Sx => {
    const x0 = xs[0]!;
    if (typeof x0 === 'string') {
      if (xs.every((x) => x === x0)) return x0;
      throw new GeneralizeError(st.name, `'${xs.map(String).join("' / '")}' differ between sizes`);
    }
    if (!xs.every((x) => Array.isArray(x))) throw new GeneralizeError(st.name, 'an operand is a list at one size and an atom at another');
    const ls = xs as Sx[][];
    const head = headOf(x0);
    // constants
    if ((head === 'i32.const' || head === 'i64.const') && ls.every((l) => l.length === 2 && typeof l[1] === 'string' && INT.test(l[1]))) {
      const vals = ls.map((l) => num(l[1] as string));
      if (vals.every((v) => v === vals[0])) return x0;
      const local = hole(st, vals, `${head} constant`);
      return head === 'i32.const' ? ['local.get', local] : ['i64.extend_i32_s', ['local.get', local]];
    }
    if ((head === 'f32.const' || head === 'f64.const') && ls.every((l) => l.length === 2 && typeof l[1] === 'string')) {
      const raw = ls.map((l) => l[1] as string);
      if (raw.every((v) => v === raw[0])) return x0;
      return floatHole(st, head, raw.map(num));
    }
    // memory accesses: a differing static offset moves into the address
    if (head && MEM_OP.test(head)) {
      const offs = ls.map((l) => { const a = l.find((c) => typeof c === 'string' && c.startsWith('offset=')) as string | undefined; return a ? num(a.slice(7)) : 0; });
      if (!offs.every((o) => o === offs[0])) {
        const local = hole(st, offs, `${head} offset`);
        const stripped = ls.map((l) => l.filter((c) => !(typeof c === 'string' && c.startsWith('offset='))));
        const out = unifyList(stripped, st);
        const at = out.findIndex((c) => Array.isArray(c));
        if (at < 0) throw new GeneralizeError(st.name, `${head} without an address operand`);
        out[at] = ['i32.add', out[at]!, ['local.get', local]];
        return out;
      }
    }
    return unifyList(ls, st);
  };
  const unifyList = (ls: readonly Sx[][], st: FnState): Sx[] => {
    const n = ls[0]!.length;
    if (!ls.every((l) => l.length === n && headOf(l) === headOf(ls[0]!))) {
      throw new GeneralizeError(st.name, `the code differs in shape between sizes at (${headOf(ls[0]!) ?? '?'} ...): ${ls.map((l) => `${headOf(l) ?? '?'}/${l.length}`).join(' vs ')}`);
    }
    return ls[0]!.map((_, k) => unify(ls.map((l) => l[k]!), st));
  };
  const floatHole = (st: FnState, head: string, vals: readonly number[]): Sx => {
    const round = head === 'f32.const' ? Math.fround : (x: number): number => x;
    // a size (mean over a dim: its count), or a size's reciprocal (1/count), each correctly rounded
    if (vals.every((v) => Number.isInteger(v))) {
      const local = hole(st, vals, `${head} constant`);
      return [`${head.slice(0, 3)}.convert_i32_s`, ['local.get', local]];
    }
    const inv = vals.map((v) => Math.round(1 / v));
    if (inv.every((d, j) => d !== 0 && round(1 / d) === vals[j])) {
      const local = hole(st, inv, `${head} constant (a reciprocal)`);
      const t = head.slice(0, 3);
      return [`${t}.div`, [`${t}.const`, '1'], [`${t}.convert_i32_s`, ['local.get', local]]];
    }
    throw new GeneralizeError(st.name, `${head} constant takes the values ${vals.join(', ')} at different sizes, neither a size nor its reciprocal`);
  };

  const exprSx = (e: DimExpr): Sx => {
    const term = (t: DimExpr['terms'][number]): Sx => {
      let x: Sx | undefined;
      t.pow.forEach((p, i) => { for (let r = 0; r < p; r++) { const g: Sx = ['global.get', dimGlobal(syms[i]!, i)]; x = x ? ['i32.mul', x, g] : g; } });
      if (!x) return ['i32.const', String(t.coef)];
      return t.coef === 1 ? x : ['i32.mul', x, ['i32.const', String(t.coef)]];
    };
    if (isConstExpr(e)) return ['i32.const', String(evalExpr(e, syms.map(() => 0)))];
    return e.terms.map(term).reduce((a, b) => ['i32.add', a, b]);
  };

  const m0 = mods[0]!;
  const out: Sx[] = [];
  for (let k = 0; k < m0.length; k++) {
    const xs = mods.map((md) => md[k]!);
    if (!mods.every((md) => md.length === m0.length)) throw new GeneralizeError('module', 'the modules have different numbers of fields');
    if (headOf(xs[0]!) !== 'func') {
      const st: FnState = { name: `module field ${headOf(xs[0]!) ?? k}`, locals: new Map() };
      const u = unify(xs, st);
      if (st.locals.size) throw new GeneralizeError(st.name, 'differs between sizes');
      out.push(u);
      continue;
    }
    const name = typeof (xs[0] as Sx[])[1] === 'string' ? ((xs[0] as Sx[])[1] as string) : `func ${k}`;
    const fixed = statics?.map((md) => md[k]);
    if (fixed && fixed.every((f) => f !== undefined && headOf(f) === 'func' && (f as Sx[])[1] === name && sameSx(f, fixed[0]!))) {
      out.push(fixed[0]!);
      continue;
    }
    const st: FnState = { name, locals: new Map() };
    const f = unify(xs, st) as Sx[];
    if (st.locals.size) {
      // declarations first (name, type, params, result, locals), then the dim locals and their values
      let at = 1;
      while (at < f.length && (typeof f[at] === 'string' || ['type', 'param', 'result', 'local', 'export'].includes(headOf(f[at]!) ?? ''))) at++;
      const locals = [...st.locals.values()];
      f.splice(at, 0, ...locals.map((l): Sx => ['local', l.local, 'i32']), ...locals.map((l): Sx => ['local.set', l.local, exprSx(l.expr)]));
    }
    out.push(f);
  }
  return { module: out, holes };
}

function sameSx(a: Sx, b: Sx): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((x, i) => sameSx(x, b[i]!));
}

// onnxc.FusedElementwise: the node's program (ops/fused/elementwise.ts) evaluated per element as one f32x4 loop
// on the elementwise engine (broadcast loop nest, scalar tail through the same formula): each input is loaded
// once, each step lands in a register, only the last is stored. Steps use the same formulas as the standalone
// kernels in elementwise-ops.ts.

import binaryen from 'binaryen';
import { toNumbers } from '../../../ir/tensor.js';
import { parseProgram, type Step } from '../../../ops/fused/elementwise.js';
import type { Expr, Fn } from '../fn.js';
import { erfV, expV, logV, sigmoidV, splatF32, tanhV } from '../math.js';
import { elementwise } from './elementwise.js';
import type { KernelContext, KernelGen } from './types.js';
import { unsupported } from './util.js';

type Get = () => Expr;
const c = (fn: Fn, x: number): Expr => splatF32(fn, x);

const UNARY: Readonly<Record<string, (fn: Fn, x: Get) => Expr>> = {
  Abs: (fn, x) => fn.m.f32x4.abs(x()),
  Neg: (fn, x) => fn.m.f32x4.neg(x()),
  Exp: (fn, x) => expV(fn, x()),
  Log: (fn, x) => logV(fn, x()),
  Sqrt: (fn, x) => fn.m.f32x4.sqrt(x()),
  Reciprocal: (fn, x) => fn.m.f32x4.div(c(fn, 1), x()),
  Relu: (fn, x) => fn.m.f32x4.max(x(), c(fn, 0)),
  Sigmoid: (fn, x) => sigmoidV(fn, x()),
  Tanh: (fn, x) => tanhV(fn, x()),
  Erf: (fn, x) => erfV(fn, x()),
  Floor: (fn, x) => fn.m.f32x4.floor(x()),
  Ceil: (fn, x) => fn.m.f32x4.ceil(x()),
  Softsign: (fn, x) => fn.m.f32x4.div(x(), fn.m.f32x4.add(c(fn, 1), fn.m.f32x4.abs(x()))),
  Softplus: (fn, x) => fn.m.v128.bitselect(x(), logV(fn, fn.m.f32x4.add(c(fn, 1), expV(fn, x()))), fn.m.f32x4.gt(x(), c(fn, 20))),
};

const BINARY: Readonly<Record<string, (fn: Fn, a: Get, b: Get) => Expr>> = {
  Add: (fn, a, b) => fn.m.f32x4.add(a(), b()),
  Sub: (fn, a, b) => fn.m.f32x4.sub(a(), b()),
  Mul: (fn, a, b) => fn.m.f32x4.mul(a(), b()),
  Div: (fn, a, b) => fn.m.f32x4.div(a(), b()),
  Max: (fn, a, b) => fn.m.f32x4.max(a(), b()),
  Min: (fn, a, b) => fn.m.f32x4.min(a(), b()),
};

/** x^y for a compile-time scalar exponent the Pow kernel also special-cases; other exponents are not fused here. */
function powConst(fn: Fn, x: Get, y: number): Expr | undefined {
  const V = fn.m.f32x4;
  switch (y) {
    case 1: return x();
    case 2: return V.mul(x(), x());
    case 3: return V.mul(V.mul(x(), x()), x());
    case 0.5: return V.sqrt(x());
    default: return undefined;
  }
}

function program(ctx: KernelContext): (fn: Fn, a: readonly Get[]) => Expr {
  const steps: Step[] = parseProgram(ctx.attrs['program'] as string[], ctx.inputs.length);
  const constScalar = (k: number): number | undefined => {
    const t = ctx.inputs[k]?.constant;
    return t && t.data.length === 1 ? toNumbers(t)[0] : undefined;
  };
  for (const s of steps) {
    const pow = s.op === 'Pow' && s.args[1]!.kind === 'input' ? constScalar(s.args[1]!.index) : undefined;
    if (s.op === 'Pow' ? pow === undefined || ![1, 2, 3, 0.5].includes(pow) : !(s.op in UNARY) && !(s.op in BINARY)) {
      unsupported(ctx, `with step '${s.op}'${s.op === 'Pow' ? ' (only constant exponents 0.5, 1, 2, 3)' : ''}`);
    }
  }
  return (fn, a) => {
    const m = fn.m;
    const ins = a.map(() => fn.v128());
    const res = steps.map(() => fn.v128());
    const body: Expr[] = ins.map((l, k) => fn.set(l, a[k]!()));
    steps.forEach((s, j) => {
      const arg = (i: number): Get => { const o = s.args[i]!; const l = o.kind === 'input' ? ins[o.index]! : res[o.index]!; return () => fn.get(l); };
      let e: Expr;
      if (s.op === 'Pow') e = powConst(fn, arg(0), constScalar((s.args[1] as { index: number }).index)!)!;
      else if (s.op in UNARY) e = UNARY[s.op]!(fn, arg(0));
      else e = BINARY[s.op]!(fn, arg(0), arg(1));
      body.push(fn.set(res[j]!, e));
    });
    body.push(fn.get(res[res.length - 1]!));
    return m.block(null, body, binaryen.v128);
  };
}

export const FUSED_ELEMENTWISE: Readonly<Record<string, KernelGen>> = {
  'onnxc.FusedElementwise': elementwise((ctx) => {
    const f = program(ctx);
    return { vec: (fn, a) => f(fn, a) };
  }),
};

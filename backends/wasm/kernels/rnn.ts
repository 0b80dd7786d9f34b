// RNN, GRU and LSTM. float32 with constant weights runs on SIMD (rnn-gemm.ts: one GEMM for the input projection,
// packed matrix-vector products per step); anything else as scalar f64 loops (the cell equations of ops/rnn.ts):
// per direction and batch entry, a run-time time loop (sequence_lens may shorten it) whose state lives in scratch
// as f64. Gates' matrix-vector products read W/R in their ONNX stacked layout; activations go through scalar.ts.

import binaryen from '../binaryen.js';
import type { Expr, Local } from '../fn.js';
import { elemBytes } from '../fn.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { readIndex } from './bounds.js';
import { expF, f64c, ldF, ldI, lin, logF, stF, tanhF, type Ix } from './scalar.js';
import { attrNum, attrStr, input, unsupported } from './util.js';
import { emitRnnGemm, rnnGeometry, rnnPrepack, rnnScratch, type Act, type Cell, type RnnGeom } from './rnn-gemm.js';

const GATES: Record<Cell, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTS: Record<Cell, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };
// parameters of the activations that take them, defaults as in ops/rnn-common.ts
const ALPHA: Record<string, number> = { affine: 1, leakyrelu: 0.01, thresholdedrelu: 1, scaledtanh: 1, hardsigmoid: 0.2, elu: 1 };
const BETA: Record<string, number> = { affine: 0, scaledtanh: 1, hardsigmoid: 0.5 };

/** Activation list per direction, alpha/beta consumed in order by the functions that take them. */
function activations(ctx: PlanContext, cell: Cell, nd: number): Act[][] {
  const per = DEFAULT_ACTS[cell].length;
  let names = (ctx.attrs['activations'] as string[] | undefined) ?? [];
  if (names.length === 0) names = Array.from({ length: nd }, () => DEFAULT_ACTS[cell]).flat();
  else if (names.length === per && nd === 2) names = [...names, ...names];
  const alphas = (ctx.attrs['activation_alpha'] as number[] | undefined) ?? [], betas = (ctx.attrs['activation_beta'] as number[] | undefined) ?? [];
  let ai = 0, bi = 0;
  const acts = names.map((raw): Act => {
    const name = raw.toLowerCase();
    if (!['relu', 'tanh', 'sigmoid', 'softsign', 'softplus'].includes(name) && !(name in ALPHA)) unsupported(ctx, `activation '${raw}'`);
    return { name, alpha: name in ALPHA ? (ai < alphas.length ? alphas[ai++]! : ALPHA[name]!) : 0, beta: name in BETA ? (bi < betas.length ? betas[bi++]! : BETA[name]!) : 0 };
  });
  return Array.from({ length: nd }, (_, d) => acts.slice(d * per, (d + 1) * per));
}

/** f(v) in f64; v is used once (kept in a local). */
function applyAct(ctx: KernelContext, a: Act, v: Expr): Expr {
  const { fn, m } = ctx, x = fn.forType('f64'), g = (): Expr => fn.get(x), c = (k: number): Expr => f64c(fn, k);
  const body = ((): Expr => {
    switch (a.name) {
      case 'relu': return m.f64.max(g(), c(0));
      case 'tanh': return tanhF(fn, g());
      case 'sigmoid': return m.f64.div(c(1), m.f64.add(c(1), expF(fn, m.f64.neg(g()))));
      case 'affine': return m.f64.add(m.f64.mul(c(a.alpha), g()), c(a.beta));
      case 'leakyrelu': return m.select(m.f64.ge(g(), c(0)), g(), m.f64.mul(c(a.alpha), g()));
      case 'thresholdedrelu': return m.select(m.f64.gt(g(), c(a.alpha)), g(), c(0));
      case 'scaledtanh': return m.f64.mul(c(a.alpha), tanhF(fn, m.f64.mul(c(a.beta), g())));
      case 'hardsigmoid': return m.f64.max(c(0), m.f64.min(c(1), m.f64.add(m.f64.mul(c(a.alpha), g()), c(a.beta))));
      case 'elu': return m.select(m.f64.ge(g(), c(0)), g(), m.f64.mul(c(a.alpha), m.f64.sub(expF(fn, g()), c(1))));
      case 'softsign': return m.f64.div(g(), m.f64.add(c(1), m.f64.abs(g())));
      case 'softplus': return m.f64.add(logF(fn, m.f64.add(c(1), expF(fn, m.f64.neg(m.f64.abs(g()))))), m.f64.max(g(), c(0)));
      default: return unsupported(ctx, `activation '${a.name}'`);
    }
  })();
  return m.block(null, [fn.set(x, v), body], binaryen.f64);
}

function recurrent(cell: Cell): KernelGen {
  const G = GATES[cell];
  const dims = (ctx: PlanContext) => {
    const x = input(ctx, 0), r = input(ctx, 2), layout = attrNum(ctx, 'layout');
    const [seq, batch, K] = layout === 0 ? [x.dims[0]!, x.dims[1]!, x.dims[2]!] : [x.dims[1]!, x.dims[0]!, x.dims[2]!];
    return { seq, batch, K, H: r.dims[2]!, layout, nd: attrStr(ctx, 'direction') === 'bidirectional' ? 2 : 1 };
  };
  const fast = (ctx: PlanContext): RnnGeom | undefined => {
    const d = dims(ctx);
    activations(ctx, cell, d.nd); // an unknown activation is refused here, before either path
    return rnnGeometry(ctx, cell, {
      ...d, lbr: cell === 'GRU' && attrNum(ctx, 'linear_before_reset') !== 0, coupled: cell === 'LSTM' && attrNum(ctx, 'input_forget') !== 0,
      clip: ctx.attrs['clip'] as number | undefined, reverseOnly: attrStr(ctx, 'direction') === 'reverse',
    });
  };
  return {
    unread: (ctx) => (fast(ctx) ? (cell === 'LSTM' && ctx.inputs[7] ? [1, 2, 3, 7] : [1, 2, 3]) : []),
    prepack: (ctx) => { const g = fast(ctx); return g ? rnnPrepack(ctx, g) : []; },
    // f64 scratch of the scalar loops: xw [G H], hr [G H], h, c, tmp [H each]
    scratch: (ctx) => { const g = fast(ctx); return g ? rnnScratch(g) : 8 * (2 * G * dims(ctx).H + 3 * dims(ctx).H); },
    emit(ctx) {
      const { fn, m } = ctx, { seq, batch, K, H, layout, nd } = dims(ctx);
      const g = fast(ctx), lensIn = ctx.inputs[4];
      // a length past seq would run the time loop outside X and Y: checked against [0, seq] (kernels/bounds.ts)
      const readLen = (bv: () => Expr, dst: Local): Expr[] => (lensIn ? readIndex(fn, lensIn, bv, seq + 1, dst, 'plain') : [fn.set(dst, fn.c32(seq))]);
      if (g) return emitRnnGemm(ctx, g, activations(ctx, cell, nd), { readLen });
      const X = input(ctx, 0), W = input(ctx, 1), R = input(ctx, 2), B = ctx.inputs[3], lens = ctx.inputs[4];
      const H0 = ctx.inputs[5], C0 = cell === 'LSTM' ? ctx.inputs[6] : undefined, P = cell === 'LSTM' ? ctx.inputs[7] : undefined;
      const [Y, YH, YC] = [ctx.outputs[0], ctx.outputs[1], ctx.outputs[2]];
      const acts = activations(ctx, cell, nd), gh = G * H;
      const clipA = ctx.attrs['clip'] as number | undefined;
      const lbr = cell === 'GRU' && attrNum(ctx, 'linear_before_reset') !== 0, coupled = cell === 'LSTM' && attrNum(ctx, 'input_forget') !== 0;
      const reverseOnly = attrStr(ctx, 'direction') === 'reverse';
      // scratch slots (in f64 elements)
      const XW = 0, HR = gh, HS = 2 * gh, CS = 2 * gh + H, TMP = 2 * gh + 2 * H;
      const sp = (slot: number, idx: Expr) => fn.elem({ base: ctx.scratch.base + slot * 8 }, idx, 8);
      const ldS = (slot: number, i: Ix): Expr => fn.load('float64', typeof i === 'number' ? { base: ctx.scratch.base + (slot + i) * 8 } : sp(slot, i()));
      const stS = (slot: number, i: Ix, v: Expr): Expr => fn.store('float64', typeof i === 'number' ? { base: ctx.scratch.base + (slot + i) * 8 } : sp(slot, i()), v);
      const clip = (v: Expr): Expr => (clipA === undefined ? v : m.f64.min(f64c(fn, clipA), m.f64.max(f64c(fn, -clipA), v)));
      const b = fn.i32(), s = fn.i32(), t = fn.i32(), len = fn.i32(), i = fn.i32(), k = fn.i32(), j = fn.i32();
      const acc = fn.forType('f64');
      const gb = (): Expr => fn.get(b), gt = (): Expr => fn.get(t), gj = (): Expr => fn.get(j);

      /** dst[0, n) = M[rows from .. from+n) (of direction d, row length kk) · vec + bias. */
      const matVec = (dst: number, M: typeof W, d: number, from: number, n: number, kk: number, vec: (k: () => Expr) => Expr, bias: number | undefined): Expr =>
        fn.loop(i, 0, n, (iv) => [
          fn.set(acc, bias === undefined || !B ? f64c(fn, 0) : ldF(fn, B, lin(fn, [[iv, 1]], d * 2 * gh + bias + from))),
          fn.loop(k, 0, kk, (kv) => [fn.set(acc, m.f64.add(fn.get(acc), m.f64.mul(ldF(fn, M, lin(fn, [[iv, kk], [kv, 1]], (d * gh + from) * kk)), vec(kv))))]),
          stS(dst, iv, fn.get(acc)),
        ]);
      const stateAt = (d: number): Expr => lin(fn, layout === 0 ? [[gb, H]] : [[gb, nd * H]], layout === 0 ? d * batch * H : d * H);
      const pre = (gate: number): Expr => m.f64.add(ldS(XW + gate * H, gj), ldS(HR + gate * H, gj));

      const cellStep = (d: number, act: Act[]): Expr[] => {
        const hVec = (kv: () => Expr): Expr => ldS(HS, kv);
        switch (cell) {
          case 'RNN': return [
            matVec(HR, R, d, 0, H, H, hVec, gh),
            fn.loop(j, 0, H, () => [stS(HS, gj, applyAct(ctx, act[0]!, clip(pre(0))))]),
          ];
          case 'GRU': {
            const z = fn.forType('f64');
            return [
              matVec(HR, R, d, 0, 2 * H, H, hVec, gh),
              // z and r overwrite their pre-activations
              fn.loop(j, 0, 2 * H, () => [stS(HR, gj, applyAct(ctx, act[0]!, clip(m.f64.add(ldS(XW, gj), ldS(HR, gj)))))]),
              ...(lbr
                ? [matVec(HR + 2 * H, R, d, 2 * H, H, H, hVec, gh)]
                : [fn.loop(j, 0, H, () => [stS(TMP, gj, m.f64.mul(ldS(HR + H, gj), ldS(HS, gj)))]), matVec(HR + 2 * H, R, d, 2 * H, H, H, (kv) => ldS(TMP, kv), gh)]),
              fn.loop(j, 0, H, () => {
                const hh = lbr ? m.f64.mul(ldS(HR + H, gj), ldS(HR + 2 * H, gj)) : ldS(HR + 2 * H, gj);
                const cand = applyAct(ctx, act[1]!, clip(m.f64.add(ldS(XW + 2 * H, gj), hh)));
                return [
                  fn.set(z, ldS(HR, gj)),
                  stS(HS, gj, m.f64.add(m.f64.mul(m.f64.sub(f64c(fn, 1), fn.get(z)), cand), m.f64.mul(fn.get(z), ldS(HS, gj)))),
                ];
              }),
            ];
          }
          case 'LSTM': {
            const it = fn.forType('f64'), ft = fn.forType('f64'), c = fn.forType('f64');
            const peep = (g: number, v: Expr): Expr => (P ? m.f64.add(v, m.f64.mul(ldF(fn, P, lin(fn, [[gj, 1]], d * 3 * H + g * H)), fn.get(c))) : v);
            return [
              matVec(HR, R, d, 0, 4 * H, H, hVec, gh),
              fn.loop(j, 0, H, () => [
                fn.set(c, ldS(CS, gj)),
                fn.set(it, applyAct(ctx, act[0]!, clip(peep(0, pre(0))))),
                fn.set(ft, coupled ? m.f64.sub(f64c(fn, 1), fn.get(it)) : applyAct(ctx, act[0]!, clip(peep(2, pre(2))))),
                fn.set(c, m.f64.add(m.f64.mul(fn.get(ft), fn.get(c)), m.f64.mul(fn.get(it), applyAct(ctx, act[1]!, clip(pre(3)))))),
                stS(CS, gj, fn.get(c)),
                stS(HS, gj, m.f64.mul(applyAct(ctx, act[0]!, clip(peep(1, pre(1)))), applyAct(ctx, act[2]!, fn.get(c)))),
              ]),
            ];
          }
        }
      };

      const zero = (o: typeof Y): Expr => (o && o.size ? m.memory.fill(fn.addr(o.ptr), fn.c32(0), fn.c32(o.size * elemBytes(o.dtype))) : m.nop());
      const perDirection = (d: number): Expr => {
        const reverse = reverseOnly || d === 1;
        const xRow = (): Expr => lin(fn, layout === 0 ? [[gt, batch * K], [gb, K]] : [[gb, seq * K], [gt, K]]);
        const yRow = (): Expr => lin(fn, layout === 0 ? [[gt, nd * batch * H], [gb, H]] : [[gb, seq * nd * H], [gt, nd * H]], d * (layout === 0 ? batch * H : H));
        return fn.loop(b, 0, batch, () => [
          ...readLen(gb, len),
          fn.loop(j, 0, H, () => [
            stS(HS, gj, H0 ? ldF(fn, H0, m.i32.add(stateAt(d), gj())) : f64c(fn, 0)),
            stS(CS, gj, C0 ? ldF(fn, C0, m.i32.add(stateAt(d), gj())) : f64c(fn, 0)),
          ]),
          fn.loopDyn(s, fn.c32(0), len, (sv) => [
            fn.set(t, reverse ? m.i32.sub(m.i32.sub(fn.get(len), fn.c32(1)), sv()) : sv()),
            matVec(XW, W, d, 0, gh, K, (kv) => ldF(fn, X, m.i32.add(xRow(), kv())), 0),
            ...cellStep(d, acts[d]!),
            Y ? fn.loop(j, 0, H, () => [stF(fn, Y, m.i32.add(yRow(), gj()), ldS(HS, gj))]) : m.nop(),
          ]),
          YH ? fn.loop(j, 0, H, () => [stF(fn, YH, m.i32.add(stateAt(d), gj()), ldS(HS, gj))]) : m.nop(),
          YC ? fn.loop(j, 0, H, () => [stF(fn, YC, m.i32.add(stateAt(d), gj()), ldS(CS, gj))]) : m.nop(),
        ]);
      };
      return fn.block([zero(Y), ...Array.from({ length: nd }, (_, d) => perDirection(d))]);
    },
  };
}

export const RECURRENT: Readonly<Record<string, KernelGen>> = { RNN: recurrent('RNN'), GRU: recurrent('GRU'), LSTM: recurrent('LSTM') };

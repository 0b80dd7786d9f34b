// Smaller ops with the reference's formulas: RotaryEmbedding (half-split or interleaved pairs; position_ids read as
// checked int64), OneHot (float, int32 or checked int64 indices; an index outside [-depth, depth) selects nothing),
// Det (LU with partial pivoting per matrix, in a function-scope array), and BatchNormalization in training mode
// (one invocation per channel: batch statistics, output, running statistics).

import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { abs, add, bool, convert, div, eq, f32, ge, gt, i32, lt, math, mul, ne, select, sub, u32, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, type Buffer } from '../wgsl/module.js';
import { bindInputs, coords, grid1d, loadI64, main1d, prod, refuseNonFloat } from './common.js';
import { output, STATUS, type KernelDispatch, type LowerContext, type WgKernel } from './types.js';

type F = Expr<'f32'>;
type U = Expr<'u32'>;

// --- RotaryEmbedding

function rotaryGeo(ctx: PlanContext) {
  const X = ctx.inputs[0]!.dims, rank = X.length;
  const H = rank === 4 ? X[1]! : Number(ctx.attrs['num_heads']);
  const [B, S, D] = rank === 4 ? [X[0]!, X[2]!, X[3]!] : [X[0]!, X[1]!, X[2]! / H];
  const rd = Number(ctx.attrs['rotary_embedding_dim'] ?? 0), rot = rd === 0 ? D : rd;
  return { rank, B, S, H, D, rot, half: rot / 2, interleaved: Number(ctx.attrs['interleaved'] ?? 0) !== 0 };
}

function rotaryShader(ctx: LowerContext): { shader: string; operands: ReturnType<typeof bindInputs>['operands'] } {
  const g = rotaryGeo(ctx);
  const s = new ShaderBuilder();
  const { bufs, operands } = bindInputs(s, ctx, [{ index: 0, hint: 'x', elem: 'f32' }, { index: 1, hint: 'cos', elem: 'f32' }, { index: 2, hint: 'sin', elem: 'f32' }]);
  const POS = ctx.inputs[3] ? s.buffer('pos', 'u32', 'read') : undefined;
  if (POS) operands.push({ kind: 'input', index: 3 });
  const Y = s.buffer('y', 'f32', 'read_write');
  const status = POS ? s.status() : undefined;
  const X = bufs.get(0) as Buffer<'f32'>, C = bufs.get(1) as Buffer<'f32'>, Sn = bufs.get(2) as Buffer<'f32'>;
  const dims = g.rank === 4 ? [g.B, g.H, g.S, g.D] : [g.B, g.S, g.H, g.D];
  main1d(s, prod(dims), (b, i) => {
    const cs = coords(b, i, dims);
    const [bb, ss] = g.rank === 4 ? [cs[0]!, cs[2]!] : [cs[0]!, cs[1]!];
    const d = cs[3]!;
    const rowBase = b.let('rowbase', sub(i, d));
    b.if(ge(d, u32(g.rot)), (t) => { t.set(Y.at(i) as LValue<'f32'>, X.at(i) as F); t.return(); });
    const first = b.let('first', g.interleaved ? eq(band1(d), u32(0)) : lt(d, u32(g.half)));
    const pair = b.let('pair', g.interleaved ? div(d, u32(2)) : select(first, d, sub(d, u32(g.half))));
    const i1 = b.let('i1', g.interleaved ? mul(pair, u32(2)) : pair), i2 = b.let('i2', g.interleaved ? add(mul(pair, u32(2)), u32(1)) : add(pair, u32(g.half)));
    let row: U;
    if (POS) {
      const p = loadI64(b, POS, ctx.inputs[3]!.size === 1 ? u32(0) : add(mul(bb, u32(g.S)), ss), status!, i32(0));
      const cacheRows = ctx.inputs[1]!.dims[0]!;
      const ok = b.let('pos_ok', ge(p, i32(0)));
      b.if(expr2or(lt(p, i32(0)), ge(p, i32(cacheRows))), (t) => status!.fail(t, 1, p));
      row = b.let('row', select(ok, convert('u32', select(lt(p, i32(cacheRows)), p, i32(0))), u32(0)));
    } else row = b.let('row', add(mul(bb, u32(g.S)), ss));
    const c = b.let('c', C.at(add(mul(row, u32(g.half)), pair)) as F), sn = b.let('sn', Sn.at(add(mul(row, u32(g.half)), pair)) as F);
    const x1 = b.let('x1', X.at(add(rowBase, i1)) as F), x2 = b.let('x2', X.at(add(rowBase, i2)) as F);
    b.set(Y.at(i) as LValue<'f32'>, select(first, sub(mul(c, x1), mul(sn, x2)), add(mul(sn, x1), mul(c, x2))));
  });
  return { shader: s.print(), operands };
}
const band1 = (d: U): U => ({ type: 'u32', node: { kind: 'bin', op: '&', a: d.node, b: u32(1).node } });
const expr2or = (a: Expr<'bool'>, b: Expr<'bool'>): Expr<'bool'> => ({ type: 'bool', node: { kind: 'bin', op: '||', a: a.node, b: b.node } });

export const rotaryKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const bad = refuseNonFloat(ctx, [3]);
    if (bad) return bad;
    const g = rotaryGeo(ctx);
    if (g.rank !== 3 && g.rank !== 4) return { reason: 'form', detail: `X of rank ${g.rank}` };
    if (!Number.isInteger(g.D) || g.rot > g.D || g.rot % 2 !== 0) return { reason: 'form', detail: `rotary_embedding_dim ${g.rot} must be even and <= head size ${g.D}` };
    const pos = ctx.inputs[3];
    if (pos && pos.dtype !== 'int64') return { reason: 'dtype', dtype: pos.dtype, detail: 'position_ids must be int64' };
    if (!pos && (ctx.inputs[1]!.dims[0] !== g.B || ctx.inputs[1]!.dims[1] !== g.S)) return { reason: 'form', detail: `cos_cache must be [${g.B},${g.S},${g.half}] without position_ids` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    if (ctx.outputs[0]!.size === 0) return [];
    const { shader, operands } = rotaryShader(ctx);
    return [{ shader, operands: [...operands, output(0), ...(ctx.inputs[3] ? [STATUS] : [])], workgroups: grid1d(ctx.outputs[0]!.size) }];
  },
};

// --- OneHot

export const oneHotKernel: WgKernel = {
  constInputs: [1],
  unread: () => [1],
  refuse(ctx): Refusal | undefined {
    const v = ctx.inputs[2]!, ind = ctx.inputs[0]!;
    if (v.dtype !== 'float32' && v.dtype !== 'int32') return { reason: 'dtype', dtype: v.dtype, detail: `OneHot values of ${v.dtype}` };
    if (!['float32', 'int32', 'int64'].includes(ind.dtype)) return { reason: 'dtype', dtype: ind.dtype, detail: `OneHot indices of ${ind.dtype}` };
    return undefined;
  },
  lower(ctx): KernelDispatch[] {
    const y = ctx.outputs[0]!, ind = ctx.inputs[0]!;
    if (y.size === 0) return [];
    const r = y.dims.length, a0 = Number(ctx.attrs['axis'] ?? -1), axis = a0 < 0 ? a0 + r : a0;
    const depth = y.dims[axis]!, outer = prod(y.dims.slice(0, axis)), inner = prod(y.dims.slice(axis + 1));
    const elem = y.dtype === 'int32' ? 'i32' : 'f32';
    const s = new ShaderBuilder();
    const wide = ind.dtype === 'int64';
    const { bufs, operands } = bindInputs(s, ctx, [{ index: 0, hint: 'ind', elem: wide ? 'u32' : ind.dtype === 'int32' ? 'i32' : 'f32' }, { index: 2, hint: 'vals', elem }]);
    const Y = s.buffer('y', elem, 'read_write');
    const status = wide ? s.status() : undefined;
    main1d(s, y.size, (b, i) => {
      const [o, j, k] = coords(b, i, [outer, depth, inner]);
      const at = add(mul(o!, u32(inner)), k!);
      const I = bufs.get(0)!;
      const raw: Expr<'i32'> = wide ? loadI64(b, I as Buffer<'u32'>, at, status!, i32(depth)) : ind.dtype === 'int32' ? I.at(at) as Expr<'i32'> : convert('i32', math('trunc', I.at(at) as F));
      const idx = b.let('idx', raw);
      const jj = b.let('jj', select(lt(idx, i32(0)), add(idx, i32(depth)), idx));
      const V = bufs.get(2)!;
      b.set(Y.at(i) as LValue<'f32'>, select(eq(jj, convert('i32', j!)), V.at(u32(1)) as F, V.at(u32(0)) as F));
    });
    return [{ shader: s.print(), operands: [...operands, output(0), ...(wide ? [STATUS] : [])], workgroups: grid1d(y.size) }];
  },
};

// --- Det

export const detKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx): Refusal | undefined {
    const d = ctx.inputs[0]!.dims, r = d.length;
    if (r < 2 || d[r - 1] !== d[r - 2]) return { reason: 'form', detail: `X must be [*, M, M], got [${d.join(',')}]` };
    if (d[r - 1]! > 64) return { reason: 'form', detail: `${d[r - 1]}x${d[r - 1]} matrices: the webgpu Det holds one in a function-scope array of at most 64x64` };
    return refuseNonFloat(ctx);
  },
  lower(ctx): KernelDispatch[] {
    const d = ctx.inputs[0]!.dims, n = d[d.length - 1]!, batch = prod(d.slice(0, -2));
    if (batch === 0) return [];
    const s = new ShaderBuilder();
    const X = s.buffer('x', 'f32', 'read'), Y = s.buffer('y', 'f32', 'read_write');
    main1d(s, batch, (b, i) => {
      const m = b.array('m', 'f32', n * n);
      b.for('e', u32(0), u32(n * n), (lb, e) => lb.set(m.at(e), X.at(add(mul(i, u32(n * n)), e)) as F));
      const det = b.var('det', f32(1));
      const singular = b.var('singular', bool(false));
      b.for('c', u32(0), u32(n), (cb, c) => {
        const p = cb.var('p', c);
        cb.for('r', add(c, u32(1)), u32(n), (rb, r) => rb.if(gt(abs(m.at(add(mul(r, u32(n)), c))), abs(m.at(add(mul(p, u32(n)), c)))), (t) => t.set(p, r)));
        cb.if(eq(m.at(add(mul(p, u32(n)), c)), f32(0)), (t) => t.set(singular, bool(true)));
        cb.if(ne(p, c), (sw) => {
          sw.for('j', u32(0), u32(n), (jb, j) => {
            const t = jb.let('t', m.at(add(mul(c, u32(n)), j)));
            jb.set(m.at(add(mul(c, u32(n)), j)), m.at(add(mul(p, u32(n)), j)));
            jb.set(m.at(add(mul(p, u32(n)), j)), t);
          });
          sw.set(det, sub(f32(0), det));
        });
        const piv = cb.let('piv', m.at(add(mul(c, u32(n)), c)));
        cb.set(det, mul(det, piv));
        cb.for('r', add(c, u32(1)), u32(n), (rb, r) => {
          const f = rb.let('f', select(eq(piv, f32(0)), f32(0), div(m.at(add(mul(r, u32(n)), c)), piv)));
          rb.for('j', c, u32(n), (jb, j) => jb.set(m.at(add(mul(r, u32(n)), j)), sub(m.at(add(mul(r, u32(n)), j)), mul(f, m.at(add(mul(c, u32(n)), j))))));
        });
      });
      b.set(Y.at(i) as LValue<'f32'>, select(singular, f32(0), det));
    });
    return [{ shader: s.print(), operands: [{ kind: 'input', index: 0 }, output(0)], workgroups: grid1d(batch) }];
  },
};

// --- BatchNormalization, training mode

/** y, and the running mean and variance when asked (outputs 1, 2): one invocation per channel. */
export function batchNormTrainingDispatch(ctx: LowerContext): KernelDispatch[] {
  const x = ctx.inputs[0]!.dims, n = x[0]!, C = x[1]!, inner = prod(x.slice(2));
  const eps = Number(ctx.attrs['epsilon'] ?? 1e-5), mom = Number(ctx.attrs['momentum'] ?? 0.9);
  if (C === 0) return [];
  const s = new ShaderBuilder();
  // the running statistics are read only for the outputs that update them
  const { bufs, operands } = bindInputs(s, ctx, ['x', 'scale', 'bias', 'mean', 'var'].flatMap((hint, index) => (index < 3 || ctx.outputs[index - 2] ? [{ index, hint, elem: 'f32' as const }] : [])));
  const at = (k: number, e: U): F => (bufs.get(k) as Buffer<'f32'>).at(e) as F;
  const outs = [0, 1, 2].map((k) => (ctx.outputs[k] ? s.buffer(['y', 'running_mean', 'running_var'][k]!, 'f32', 'read_write') : undefined));
  main1d(s, C, (b, ch) => {
    const cnt = n * inner;
    const idx = (bb: U, q: U): U => add(mul(add(mul(bb, u32(C)), ch), u32(inner)), q);
    const sum = b.var('sum', f32(0));
    b.for('bb', u32(0), u32(n), (lb, bb) => lb.for('q', u32(0), u32(inner), (qb, q) => qb.set(sum, add(sum, at(0, idx(bb, q))))));
    const mu = b.let('mu', div(sum, f32(cnt)));
    const sq = b.var('sq', f32(0));
    b.for('bb', u32(0), u32(n), (lb, bb) => lb.for('q', u32(0), u32(inner), (qb, q) => { const d = qb.let('d', sub(at(0, idx(bb, q)), mu)); qb.set(sq, add(sq, mul(d, d))); }));
    const v = b.let('v', div(sq, f32(cnt)));
    const k = b.let('k', div(at(1, ch), math('sqrt', add(v, f32(eps)))));
    if (outs[0]) b.for('bb', u32(0), u32(n), (lb, bb) => lb.for('q', u32(0), u32(inner), (qb, q) => qb.set(outs[0]!.at(idx(bb, q)) as LValue<'f32'>, add(mul(sub(at(0, idx(bb, q)), mu), k), at(2, ch)))));
    if (outs[1]) b.set(outs[1].at(ch) as LValue<'f32'>, add(mul(at(3, ch), f32(mom)), mul(mu, f32(1 - mom))));
    if (outs[2]) b.set(outs[2].at(ch) as LValue<'f32'>, add(mul(at(4, ch), f32(mom)), mul(v, f32(1 - mom))));
  });
  return [{ shader: s.print(), operands: [...operands, ...[0, 1, 2].filter((k) => ctx.outputs[k]).map((k) => output(k))], workgroups: grid1d(C) }];
}

export const MISC_KERNELS = { RotaryEmbedding: rotaryKernel, OneHot: oneHotKernel, Det: detKernel } as const;

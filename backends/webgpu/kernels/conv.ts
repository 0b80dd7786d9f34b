// Conv (1-D and 2-D; groups, depthwise, strides, dilations, pads) as a direct convolution blocked in registers:
// with 4 | output channels per group and constant weights, an invocation computes 4 channels x 4 output columns
// from weights pre-packed to [group][c][kh][kw][m] (one vec4 load per tap); otherwise (depthwise, odd groups) 1
// channel x 4 columns. Taps outside the input read index 0 and are masked to zero, so nothing is read out of
// range. Bias is added in the epilogue.
// Where that leaves few invocations with long channel loops (1x1 convs over 576-960 channels at 14x14 or 7x7), the
// split form has S invocations of one workgroup each take every S-th input channel of the same output block and
// sums their partial results through workgroup memory: on an H200 (Dawn, Vulkan) mobilenet_v2's GPU time in one
// pass went 2.8 -> 0.57 ms and its 1x1 projections 0.13-0.26 -> 0.02 ms each (bench/webgpu-profile.ts). Such a
// dispatch also carries the unsplit form, which CPU adapters run (runtime/webgpu/forms.ts).

import type { Tensor } from '../../../ir/tensor.js';
import type { PlanContext } from '../../../lowering/protocol.js';
import { add, and, convert, eq, expr, f32, fma, ge, i32, lane, lt, min, mul, select, sub, u32, vec4, type Expr, type LValue } from '../wgsl/ast.js';
import { ShaderBuilder, WORKGROUP_SIZE, type Body } from '../wgsl/module.js';
import { refuseNonFloat } from './common.js';
import { activationFormula, type Formula } from './elementwise-ops.js';
import { input, output, packed, type KernelDispatch, type KernelForm, type WgKernel } from './types.js';
import { window2d, type Window2d } from './window.js';

/** Output columns per invocation. */
export const CONV_COLS = 4;
/** Output channels per invocation in the channel-blocked form. */
export const CONV_CHANNELS = 4;

const groupsOf = (ctx: PlanContext): number => Number(ctx.attrs['group'] ?? 1);
/** Channel-blocked form: constant weights and a multiple of 4 output channels per group. */
const blocked = (ctx: PlanContext): boolean => ctx.inputs[1]!.constant !== undefined && (ctx.inputs[1]!.dims[0]! / groupsOf(ctx)) % CONV_CHANNELS === 0;

/** OIHW weights -> [group][c][kh][kw][m within the group]. */
function packWeights(w: Tensor, groups: number): Tensor {
  const [M, Cg, kH = 1, kW = 1] = w.dims as number[];
  const Mg = M! / groups, taps = kH * kW, src = w.data as Float32Array, out = new Float32Array(src.length);
  for (let m = 0; m < M!; m++) {
    const g = Math.floor(m / Mg), ml = m % Mg;
    for (let c = 0; c < Cg!; c++) for (let t = 0; t < taps; t++) out[((g * Cg! + c) * taps + t) * Mg + ml] = src[(m * Cg! + c) * taps + t]!;
  }
  return { dtype: 'float32', dims: [groups, Cg!, kH, kW, Mg], data: out };
}

/** What follows the convolution in the same kernel (onnxc.FusedConv): a residual of Y's shape, an activation. */
export interface ConvEpilogue { readonly residual?: boolean; readonly activation?: Formula }

/** Invocations per workgroup of the split form. */
export const CONV_SPLIT_THREADS = 128;
/** Invocations a dispatch should have before its input channels are not split further (a big GPU holds ~270k). */
const SPLIT_TARGET = 32768;

/** How many slices the input channels of a group are split into (1: the unsplit form): doubled while the dispatch
 *  has fewer than SPLIT_TARGET invocations, each slice keeps 16+ multiply-adds per output, and it divides Cg. */
export function convSlices(g: Window2d, M: number, groups: number, isBlocked: boolean): number {
  const Cg = g.C / groups, CB = isBlocked ? CONV_CHANNELS : 1;
  const invocations = g.OH * Math.ceil(g.OW / CONV_COLS) * (M / CB) * g.N;
  let S = 1;
  while (S < 16 && invocations * S < SPLIT_TARGET && Cg % (2 * S) === 0 && (Cg / (2 * S)) * g.kH * g.kW >= 16) S *= 2;
  return S;
}

/** `S`: slices of the input channels (convSlices' by default; 1 the unsplit form). */
export function convShader(g: Window2d, M: number, groups: number, isBlocked: boolean, hasBias: boolean, epi: ConvEpilogue = {}, withSubgroups = false, S = convSlices(g, M, groups, isBlocked)): { shader: string; workgroups: [number, number, number] } {
  const Cg = g.C / groups, Mg = M / groups, CB = isBlocked ? CONV_CHANNELS : 1;
  const colBlocks = Math.ceil(g.OW / CONV_COLS), pixels = g.OH * colBlocks;
  // few pixel blocks and many channel blocks (squeezenet's 13x13 classifier, 512 -> 1000): channel blocks along a
  // workgroup, so its invocations read the same input values (uniform loads on lavapipe) and each its own weights
  // (squeezenet1_1 on lavapipe, min of 3: all convs 730 -> 499 ms, 13x13 expand3x3 37 -> 10 ms); else pixel blocks along it
  const chanMajor = isBlocked && pixels <= WORKGROUP_SIZE && M / CB >= WORKGROUP_SIZE / 2;
  const xCount = chanMajor ? M / CB : pixels, yCount = chanMajor ? pixels : M / CB;
  // split form (few invocations, long channel loops: mobilenet_v2's 1x1 projections at 14x14 and 7x7): S slices of
  // the input channels per output block, in one workgroup, summed through workgroup memory before the epilogue
  const T = S > 1 ? CONV_SPLIT_THREADS / S : WORKGROUP_SIZE;
  const s = new ShaderBuilder();
  const X = s.buffer('x', 'f32', 'read');
  const Wb = isBlocked ? s.buffer('w', 'vec4<f32>', 'read') : s.buffer('w', 'f32', 'read');
  const B = hasBias ? s.buffer('bias', 'f32', 'read') : undefined;
  const Z = epi.residual ? s.buffer('z', 'f32', 'read') : undefined;
  const Y = s.buffer('y', 'f32', 'read_write');
  const li = S > 1 ? s.builtin('local_invocation_index', 'u32') : undefined;
  const wid = S > 1 ? s.builtin('workgroup_id', 'vec3<u32>') : undefined;
  const nAcc = isBlocked ? CONV_COLS : 1;
  const red = S > 1 ? s.workgroupArray('partial', 'vec4<f32>', CONV_SPLIT_THREADS * nAcc) : undefined;
  // the output block (xi, yi, image n) over input channels c = from, from + step, ...: its accumulators, and the
  // epilogue that stores them
  const block = (b: Body, xi: Expr<'u32'>, yi: Expr<'u32'>, n: Expr<'u32'>, from: Expr<'u32'>, step: number): { acc: LValue<'vec4<f32>'>[]; store: (ob: Body) => void } => {
    const pix = chanMajor ? yi : xi, blk = chanMajor ? xi : yi;
    const oy = b.let('oy', div(pix, colBlocks)), ox0 = b.let('ox0', mul(modu(pix, colBlocks), u32(CONV_COLS)));
    const m0 = b.let('m0', mul(blk, u32(CB)));
    const grp = b.let('grp', div(m0, Mg));
    const xBase = b.let('xbase', mul(add(mul(n, u32(g.C)), mul(grp, u32(Cg))), u32(g.H * g.W)));
    // acc[p]: 4 channels at column p (blocked), or lanes = 4 columns of one channel
    const acc: LValue<'vec4<f32>'>[] = Array.from({ length: nAcc }, (_, p) => b.var(`acc${p}`, vec4('f32', f32(0))));
    const iy0 = b.let('iy0', sub(convert('i32', mul(oy, u32(g.sH))), i32(g.pT)));
    const ix0 = b.let('ix0', sub(convert('i32', mul(ox0, u32(g.sW))), i32(g.pL)));
    b.for('c', from, u32(Cg), (cb, c) => {
      const xc = cb.let('xc', add(xBase, mul(c, u32(g.H * g.W))));
      cb.for('ky', u32(0), u32(g.kH), (kb, ky) => {
        const iy = kb.let('iy', add(iy0, convert('i32', mul(ky, u32(g.dH)))));
        kb.if(and(ge(iy, i32(0)), lt(iy, i32(g.H))), (yb) => {
          const xrow = yb.let('xrow', add(xc, mul(convert('u32', iy), u32(g.W))));
          yb.for('kx', u32(0), u32(g.kW), (xb, kx) => {
            const xs = Array.from({ length: CONV_COLS }, (_, p) => {
              const ix = xb.let(`ix${p}`, add(ix0, convert('i32', add(mul(kx, u32(g.dW)), u32(p * g.sW)))));
              const inside = and(ge(ix, i32(0)), lt(ix, i32(g.W)));
              return xb.let(`xv${p}`, select(inside, X.at(add(xrow, convert('u32', select(inside, ix, i32(0))))) as Expr<'f32'>, f32(0)));
            });
            const tap = add(mul(add(mul(c, u32(g.kH)), ky), u32(g.kW)), kx);
            if (isBlocked) {
              // packed [grp][c][ky][kx][Mg]: the 4 channels m0..m0+3 are one vec4
              const wi = add(mul(add(mul(grp, u32(Cg * g.kH * g.kW)), tap), u32(Mg / 4)), div(sub(m0, mul(grp, u32(Mg))), 4));
              const wv = xb.let('wv', Wb.at(wi) as Expr<'vec4<f32>'>);
              acc.forEach((a, p) => xb.set(a, fma(vec4('f32', xs[p]!), wv, a)));
            } else {
              const wv = xb.let('wv', Wb.at(add(mul(m0, u32(Cg * g.kH * g.kW)), tap)) as Expr<'f32'>);
              xb.set(acc[0]!, fma(vec4('f32', ...xs), vec4('f32', wv), acc[0]!));
            }
          });
        });
      });
    }, step);
    const ohw = g.OH * g.OW;
    const store = (ob: Body): void => {
      for (let p = 0; p < CONV_COLS; p++) {
        ob.if(lt(add(ox0, u32(p)), u32(g.OW)), (sb) => {
          for (let ch = 0; ch < CB; ch++) {
            const m = add(m0, u32(ch));
            const v = isBlocked ? lane(acc[p]!, ch as 0 | 1 | 2 | 3) : lane(acc[0]!, p as 0 | 1 | 2 | 3);
            const yi = add(add(mul(add(mul(n, u32(M)), m), u32(ohw)), mul(oy, u32(g.OW))), add(ox0, u32(p)));
            const yv = sb.let('yi', yi);
            let r: Expr<'f32'> = B ? add(v, B.at(m) as Expr<'f32'>) : v;
            if (Z) r = add(r, Z.at(yv) as Expr<'f32'>);
            if (epi.activation) r = epi.activation([r], f32);
            sb.set(Y.at(yv) as LValue<'f32'>, r);
          }
        });
      }
    };
    return { acc, store };
  };
  s.main([S > 1 ? CONV_SPLIT_THREADS : WORKGROUP_SIZE, 1, 1], (b, gid) => {
    if (S === 1) {
      b.if(ge(gid.x, u32(xCount)), (r) => r.return());
      const { store } = block(b, gid.x, gid.y, gid.z, u32(0), 1);
      store(b);
      return;
    }
    if (withSubgroups) {
      // subgroups under 16 lanes (CPU adapters: lavapipe's 8, where the split form ran mobilenet_v2 ~1.9x slower):
      // invocation x of the grid does the unsplit form's block x; no return inside (the barrier below must stay
      // under uniform control flow), whole subgroups skip past the last block
      s.diagnosticOff('subgroup_uniformity');
      const size = s.builtin('subgroup_size', 'u32');
      b.if(lt(size, u32(16)), (cb) => {
        const x = cb.let('x', add(mul(lane(wid!, 0), u32(CONV_SPLIT_THREADS)), li!));
        cb.if(lt(x, u32(xCount)), (wb) => block(wb, x, lane(wid!, 1), lane(wid!, 2), u32(0), 1).store(wb));
        cb.return();
      });
    }
    // no early return: every invocation reaches the barrier; those past the edge compute the last block again
    const slice = b.let('slice', div(li!, T)), t = b.let('t', modu(li!, T));
    const xr = b.let('xr', add(mul(lane(wid!, 0), u32(T)), t));
    const valid = b.let('valid', lt(xr, u32(xCount)));
    const xi = b.let('xi', min(xr, u32(xCount - 1)));
    const { acc, store } = block(b, xi, lane(wid!, 1), lane(wid!, 2), slice, S);
    // partial sums of slice q at [(q * T + t) * nAcc + p]; slice 0 adds the others' and stores
    acc.forEach((a, p) => b.set(red!.at(add(mul(li!, u32(nAcc)), u32(p))), a));
    b.barrier();
    b.if(and(eq(slice, u32(0)), valid), (sb) => {
      for (let q = 1; q < S; q++) acc.forEach((a, p) => sb.set(a, add(a, red!.at(add(mul(add(u32(q * T), t), u32(nAcc)), u32(p))) as Expr<'vec4<f32>'>)));
      store(sb);
    });
  });
  const wg: [number, number, number] = S > 1 ? [Math.ceil(xCount / T), yCount, g.N] : [Math.ceil(xCount / WORKGROUP_SIZE), yCount, g.N];
  return { shader: s.print(), workgroups: wg };
}

/** The dispatch's forms: the unsplit shader alone, or the split one with its subgroup shader and, for CPU adapters,
 *  the unsplit one. */
function convForms(g: Window2d, M: number, groups: number, isBlocked: boolean, hasBias: boolean, epi: ConvEpilogue): KernelForm & { cpu?: KernelForm } {
  const main = convShader(g, M, groups, isBlocked, hasBias, epi);
  if (convSlices(g, M, groups, isBlocked) === 1) return main;
  return { ...main, subgroups: convShader(g, M, groups, isBlocked, hasBias, epi, true), cpu: convShader(g, M, groups, isBlocked, hasBias, epi, false, 1) };
}
const div = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? a : expr('u32', { kind: 'bin', op: '/', a: a.node, b: u32(k).node }));
const modu = (a: Expr<'u32'>, k: number): Expr<'u32'> => (k === 1 ? u32(0) : expr('u32', { kind: 'bin', op: '%', a: a.node, b: u32(k).node }));

export const convKernel: WgKernel = {
  dtypes: ['float32'],
  refuse(ctx) {
    const bad = refuseNonFloat(ctx);
    if (bad) return bad;
    const g = window2d(ctx, ctx.inputs[1]!.dims.slice(2));
    if ('reason' in g) return g;
    if (ctx.inputs[1]!.dims[0]! > 65535 * CONV_CHANNELS || g.N > 65535) return { reason: 'form', detail: 'more channels or images than one dispatch holds' };
    return undefined;
  },
  prepack: (ctx) => (blocked(ctx) ? [packWeights(ctx.inputs[1]!.constant!, groupsOf(ctx))] : []),
  unread: (ctx) => (blocked(ctx) ? [1] : []),
  lower(ctx): KernelDispatch[] {
    if (ctx.outputs[0]!.size === 0) return [];
    const g = window2d(ctx, ctx.inputs[1]!.dims.slice(2)) as Window2d;
    const M = ctx.inputs[1]!.dims[0]!, isBlocked = blocked(ctx), hasBias = ctx.inputs[2] !== undefined;
    return [{ operands: [input(0), isBlocked ? packed(0) : input(1), ...(hasBias ? [input(2)] : []), output(0)], ...convForms(g, M, groupsOf(ctx), isBlocked, hasBias, {}) }];
  },
};

/** onnxc.FusedConv in ONNX layout (channels first, OIHW weights): the direct conv with its residual and activation
 *  in the store; channels-last or re-laid-out weights are refused (the webgpu backend skips layout-nhwc). */
export const fusedConvKernel: WgKernel = {
  ...convKernel,
  refuse(ctx) {
    const a = ctx.attrs;
    if (Number(a['channels_last'] ?? 0) !== 0 || !['', 'OIHW', 'OIH', 'OIW'].includes(String(a['weight_layout'] ?? ''))) {
      return { reason: 'form', detail: 'the webgpu FusedConv takes channels-first X and OIHW weights' };
    }
    if (!activationFormula(String(a['activation'] ?? ''), (a['activation_params'] as number[] | undefined) ?? [])) return { reason: 'form', detail: `activation '${String(a['activation'])}' has no webgpu formula` };
    const z = ctx.inputs[3];
    if (z && z.dims.join() !== ctx.outputs[0]!.dims.join()) return { reason: 'form', detail: 'the webgpu FusedConv takes a residual of the output\'s shape only' };
    return convKernel.refuse!(ctx);
  },
  lower(ctx): KernelDispatch[] {
    if (ctx.outputs[0]!.size === 0) return [];
    const g = window2d(ctx, ctx.inputs[1]!.dims.slice(2)) as Window2d;
    const M = ctx.inputs[1]!.dims[0]!, isBlocked = blocked(ctx), hasBias = ctx.inputs[2] !== undefined, residual = ctx.inputs[3] !== undefined;
    const activation = activationFormula(String(ctx.attrs['activation'] ?? ''), (ctx.attrs['activation_params'] as number[] | undefined) ?? [])!;
    return [{ operands: [input(0), isBlocked ? packed(0) : input(1), ...(hasBias ? [input(2)] : []), ...(residual ? [input(3)] : []), output(0)], ...convForms(g, M, groupsOf(ctx), isBlocked, hasBias, { residual, activation }) }];
  },
};

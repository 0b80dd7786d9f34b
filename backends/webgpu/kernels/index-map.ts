// Data movement whose pattern is fixed at compile time (Slice, Pad, Expand, Tile, Split, DepthToSpace,
// SpaceToDepth): the op's own reference `run`, applied at compile time to an iota (each element's own index), gives
// for every output element the input element it copies; that int32 map is pre-packed with the weights and the
// shader is one gather. Exact ONNX semantics by construction (clamping, negative steps, reflect/edge/wrap pads):
// nothing is restated. Pad's constant positions come back as -1 and take the pad value.

import { makeTensor, toNumbers, type Tensor } from '../../../ir/tensor.js';
import type { PlanContext, Refusal } from '../../../lowering/protocol.js';
import { getOp } from '../../../ops/index.js';
import { bool, convert, f32, ge, i32, max, select, type Expr, type Scalar } from '../wgsl/ast.js';
import { ShaderBuilder } from '../wgsl/module.js';
import { grid1d } from './common.js';
import { ELEM_OF, load, storeAll, type Elem } from './scalar-map.js';
import { input, output, packed, type KernelDispatch, type WgKernel } from './types.js';

const ELEM = ELEM_OF;
/** Largest input the iota can index exactly (and a map the weights can reasonably hold). */
const MAX_MAPPED = 2 ** 24;

/** The source index of every element of every output, by running the op on an iota of input 0. */
function indexMaps(ctx: PlanContext): Tensor[] {
  const x = ctx.inputs[0]!;
  const iota = makeTensor('int32', x.dims);
  for (let i = 0; i < x.size; i++) (iota.data as Int32Array)[i] = i;
  const def = getOp(ctx.node.op)!;
  const inputs = ctx.inputs.map((r, i) => {
    if (i === 0) return iota;
    if (!r) return undefined;
    // Pad's constant_value takes X's type: -1 marks the padded positions
    if (ctx.node.op === 'Pad' && i === 2) return { dtype: 'int32', dims: [...r.dims], data: new Int32Array(Math.max(1, r.size)).fill(-1) } as Tensor;
    return r.constant;
  });
  if (ctx.node.op === 'Pad' && !ctx.inputs[2]) inputs[2] = { dtype: 'int32', dims: [], data: Int32Array.of(-1) };
  const outs = def.run({
    node: ctx.node, attrs: ctx.attrs as never, inputs, numOutputs: ctx.outputs.length,
    outputTypes: ctx.outputs.map((o) => (o ? { kind: 'tensor', dtype: 'int32', shape: [...o.dims] } : undefined)),
    runSubgraph: () => { throw new Error('no subgraphs in an index map'); },
  });
  return ctx.outputs.flatMap((o, k) => (o ? [outs[k] as Tensor] : []));
}

const padValue = (ctx: PlanContext): number => {
  const c = ctx.node.op === 'Pad' ? ctx.inputs[2]?.constant : undefined;
  return c && c.data.length ? toNumbers(c)[0]! : 0;
};

export function gatherMapShader(n: number, elem: Elem, pad: number): string {
  const s = new ShaderBuilder();
  const word = elem === 'bool' ? 'u32' : elem;
  const X = s.buffer('x', word, 'read'), M = s.buffer('map', 'i32', 'read'), Y = s.buffer('y', word, 'read_write');
  storeAll(s, Y, elem, n, (b, i) => {
    const src = b.let('src', M.at(i) as Expr<'i32'>);
    const v = load(X, elem, convert('u32', max(src, i32(0))));
    const fill = (elem === 'f32' ? f32(pad) : elem === 'bool' ? bool(pad !== 0) : convert(elem, i32(pad))) as Expr<Scalar>;
    return select(ge(src, i32(0)), v, fill);
  });
  return s.print();
}

export const indexMapKernel: WgKernel = {
  refuse(ctx): Refusal | undefined {
    const x = ctx.inputs[0]!;
    if (!ELEM[x.dtype]) return { reason: 'dtype', dtype: x.dtype, detail: `the webgpu ${ctx.node.op} moves float32/int32/uint32/bool values, not ${x.dtype}` };
    const runtime = ctx.inputs.findIndex((r, i) => i > 0 && r && r.constant === undefined);
    if (runtime > 0) return { reason: 'data-dependent', detail: `input ${runtime} ('${ctx.inputs[runtime]!.name}') must be known at compile time` };
    if (x.size > MAX_MAPPED || ctx.outputs.some((o) => o && o.size > MAX_MAPPED)) return { reason: 'form', detail: `more than ${MAX_MAPPED} elements to map` };
    if (ctx.node.op === 'Pad' && ctx.inputs[3] && ctx.inputs[3].constant === undefined) return { reason: 'data-dependent', detail: 'Pad axes must be known at compile time' };
    return undefined;
  },
  prepack: (ctx) => indexMaps(ctx),
  unread: (ctx) => ctx.inputs.flatMap((r, i) => (i > 0 && r ? [i] : [])),
  lower(ctx): KernelDispatch[] {
    const elem = ELEM[ctx.inputs[0]!.dtype]!;
    const out: KernelDispatch[] = [];
    let k = 0;
    ctx.outputs.forEach((o, j) => {
      if (!o) return;
      const m = k++;
      if (o.size === 0) return;
      out.push({ shader: gatherMapShader(o.size, elem, padValue(ctx)), operands: [input(0), packed(m), output(j)], workgroups: grid1d(elem === 'bool' ? Math.ceil(o.size / 4) : o.size) });
    });
    return out;
  },
};

export const INDEX_MAP_KERNELS = {
  Slice: indexMapKernel, Pad: indexMapKernel, Expand: indexMapKernel, Tile: indexMapKernel, Split: indexMapKernel,
  DepthToSpace: indexMapKernel, SpaceToDepth: indexMapKernel,
} as const;

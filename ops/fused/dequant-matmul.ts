// onnxc.DequantMatMul: Y = act(A @ DequantizeLinear(B_q, scale) (+ bias)), B a constant [K, N] int8/int4/int2 weight with
// symmetric per-column scales [N] (block_size 0) or per-block scales [ceil(K / block_size), N] along K. Made by
// passes/quant/fuse-dequant-matmul.ts so a backend can keep the weight integer and dequantise in its kernel.
// Reference: exactly DequantizeLinear, MatMul, Add, activation, each rounding where the unfused ops do.

import { ShapeError } from '../../ir/errors.js';
import type { Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { attrInt } from '../../ir/graph.js';
import { withDefaults } from '../attrs.js';
import { mapBinary } from '../elementwise-kernel.js';
import { matmulOps } from '../matmul.js';
import { activationNodes, applyActivation, parseActivation } from './activation.js';
import { epilogueAttrs } from './matmul.js';
import { quantOps } from '../quant.js';
import { attr, defineOp, type AnyOpDef, type ImportNode, type LegacyContext } from '../schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from '../util.js';

/** Ops by name from their families (ops/index.js would import this file back). */
const getOpUnchecked = (op: string): AnyOpDef => [...matmulOps, ...quantOps].find((d) => d.op === op)!;

const dqAttrs = (blockSize: number): Node['attrs'] =>
  withDefaults(getOpUnchecked('DequantizeLinear'), { axis: attrInt(blockSize > 0 ? 0 : 1), block_size: attrInt(blockSize) });

export const dequantMatMulOp = defineOp({
  op: 'onnxc.DequantMatMul',
  attrs: { block_size: attr.int(0), ...epilogueAttrs },
  inputs: [3, 4],
  outputs: [1, 1],
  infer(ctx) {
    const a = inType(ctx, 0), b = inType(ctx, 1), s = inType(ctx, 2), bias = optInType(ctx, 3);
    expectDType(a, ['float32'], 'A');
    expectDType(b, ['int8', 'uint8', 'int4', 'int2'], 'B');
    expectDType(s, ['float32'], 'scale');
    if (!b.shape || b.shape.length !== 2) throw new ShapeError('B must be a 2-D [K, N] weight');
    const [K, N] = b.shape;
    const bs = ctx.attrs.block_size;
    const want = bs > 0 && typeof K === 'number' ? [Math.ceil(K / bs), N] : [N];
    if (!s.shape || s.shape.length !== want.length || s.shape.some((d, i) => typeof d === 'number' && typeof want[i] === 'number' && d !== want[i])) {
      throw new ShapeError(`scale must be [${want.join(',')}] for block_size ${bs}, got [${s.shape?.join(',') ?? '?'}]`);
    }
    if (bias && (bias.dtype !== 'float32' || !bias.shape || bias.shape.length !== 1)) throw new ShapeError('bias must be a 1-D float32 [N]');
    const y = getOpUnchecked('MatMul').infer({ ...ctx, inputs: [a, tensorOf('float32', b.shape)] } as never);
    return y;
  },
  run(ctx) {
    const b = input(ctx, 1), s = input(ctx, 2), bias = optInput(ctx, 3);
    const node: Node = { name: `${ctx.node.name}/dq`, op: 'DequantizeLinear', inputs: ['b', 's'], outputs: ['w'], attrs: dqAttrs(ctx.attrs.block_size) };
    const dq = getOpUnchecked('DequantizeLinear');
    const [w] = dq.run({ ...ctx, node, attrs: { axis: ctx.attrs.block_size > 0 ? 0 : 1, block_size: ctx.attrs.block_size, output_dtype: 0 }, inputs: [b, s], numOutputs: 1, outputTypes: [undefined] } as never);
    const mm = getOpUnchecked('MatMul');
    let y = mm.run({ ...ctx, node: { ...node, op: 'MatMul' }, attrs: {}, inputs: [input(ctx, 0), w], numOutputs: 1, outputTypes: [undefined] } as never)[0] as Tensor;
    if (bias) y = mapBinary(y, bias, y.dtype, (p, q) => (p as number) + (q as number));
    return [applyActivation(y, parseActivation(ctx.attrs.activation, ctx.attrs.activation_params), ctx.attrs.activation_params)];
  },
  decompose(node: Node, ctx: LegacyContext): ImportNode[] {
    const bs = node.attrs['block_size']?.kind === 'int' ? node.attrs['block_size'].value : 0;
    const w = ctx.freshName(`${node.name}_w`);
    const out: ImportNode[] = [{ name: ctx.freshName(`${node.name}_DequantizeLinear`), op: 'DequantizeLinear', inputs: [node.inputs[1]!, node.inputs[2]!], outputs: [w], attrs: dqAttrs(bs) }];
    const bias = node.inputs[3];
    const a = node.attrs;
    const params = a['activation_params']?.kind === 'floats' ? a['activation_params'].value : [];
    const act = parseActivation(a['activation']?.kind === 'string' ? a['activation'].value : '', params);
    const mm = bias || act ? ctx.freshName(`${node.name}_mm`) : node.outputs[0]!;
    out.push({ name: ctx.freshName(`${node.name}_MatMul`), op: 'MatMul', inputs: [node.inputs[0]!, w], outputs: [mm], attrs: {} });
    let y = mm;
    if (bias) {
      y = act ? ctx.freshName(`${node.name}_biased`) : node.outputs[0]!;
      out.push({ name: ctx.freshName(`${node.name}_Add`), op: 'Add', inputs: [mm, bias], outputs: [y], attrs: {} });
    }
    if (act) out.push(...activationNodes(act, params, y, node.outputs[0]!, node.name, ctx));
    return out;
  },
});

export const dequantMatMulOps: AnyOpDef[] = [dequantMatMulOp as unknown as AnyOpDef];

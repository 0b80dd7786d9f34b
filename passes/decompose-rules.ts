// Rules that rewrite composite ai.onnx ops into primitives, as data: op -> builder. Each builder emits nodes with
// every attribute filled (as the importer would) and constants of the input's float type.
// Used by the `decompose` pass for ops the target backend lacks.

import type { DType } from '../ir/dtype.js';
import type { Attr, Node } from '../ir/graph.js';
import { attrInt } from '../ir/graph.js';
import { fromValues } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { withDefaults } from '../ops/attrs.js';
import { getOp } from '../ops/index.js';
import type { ImportNode, LegacyContext } from '../ops/schema.js';

export interface DecomposeFacts {
  type(name: string): ValueType | undefined;
}

export interface DecomposeRule {
  readonly op: string;
  /** The replacement nodes, or undefined when this node's form is not handled (the node stays). */
  build(node: Node, ctx: LegacyContext, facts: DecomposeFacts): ImportNode[] | undefined;
}

/** Emits nodes with defaults filled and fresh names. */
class Emitter {
  readonly nodes: ImportNode[] = [];
  constructor(private readonly base: Node, private readonly ctx: LegacyContext, readonly dtype: DType) {}
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    const o = out ?? this.ctx.freshName(`${this.base.name}_${op}`);
    this.nodes.push({ name: this.ctx.freshName(`${this.base.name}_${op}`), op, inputs, outputs: [o], attrs: withDefaults(getOp(op)!, attrs) });
    return o;
  }
  scalar(v: number, hint: string): string { return this.ctx.constant(fromValues(this.dtype, [], [v]), `${this.base.name}_${hint}`); }
  ints(v: readonly number[], hint: string): string { return this.ctx.constant(fromValues('int64', [v.length], v), `${this.base.name}_${hint}`); }
}

function floatInput(node: Node, facts: DecomposeFacts): { dtype: DType; rank: number | undefined } | undefined {
  const t = facts.type(node.inputs[0] ?? '');
  if (t?.kind !== 'tensor' || (t.dtype !== 'float32' && t.dtype !== 'float64')) return undefined;
  return { dtype: t.dtype, rank: t.shape?.length };
}

const gelu: DecomposeRule = {
  op: 'Gelu',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const approx = node.attrs['approximate'];
    let inner: string;
    if (approx?.kind === 'string' && approx.value === 'tanh') {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const x3 = e.op('Mul', [e.op('Mul', [x, x]), x]);
      const poly = e.op('Add', [x, e.op('Mul', [x3, e.scalar(0.044715, 'c')])]);
      inner = e.op('Tanh', [e.op('Mul', [poly, e.scalar(Math.sqrt(2 / Math.PI), 'k')])]);
    } else {
      // 0.5 x (1 + erf(x / sqrt 2))
      inner = e.op('Erf', [e.op('Mul', [x, e.scalar(Math.SQRT1_2, 'rsqrt2')])]);
    }
    const onePlus = e.op('Add', [inner, e.scalar(1, 'one')]);
    e.op('Mul', [e.op('Mul', [x, e.scalar(0.5, 'half')]), onePlus], {}, node.outputs[0]);
    return e.nodes;
  },
};

const hardSwish: DecomposeRule = {
  op: 'HardSwish',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    if (!f) return undefined;
    const e = new Emitter(node, ctx, f.dtype);
    const x = node.inputs[0]!;
    const lin = e.op('Add', [e.op('Mul', [x, e.scalar(1 / 6, 'sixth')]), e.scalar(0.5, 'half')]);
    const gate = e.op('Clip', [lin, e.scalar(0, 'zero'), e.scalar(1, 'one')]);
    e.op('Mul', [x, gate], {}, node.outputs[0]);
    return e.nodes;
  },
};

const layerNorm: DecomposeRule = {
  op: 'LayerNormalization',
  build(node, ctx, facts) {
    const f = floatInput(node, facts);
    // Mean and InvStdDev outputs are rarely read; only the plain form is rewritten.
    if (!f || f.rank === undefined || node.outputs.slice(1).some((o) => o !== '')) return undefined;
    const axisAttr = node.attrs['axis'];
    const epsAttr = node.attrs['epsilon'];
    const axis0 = axisAttr?.kind === 'int' ? axisAttr.value : -1;
    const axis = axis0 < 0 ? axis0 + f.rank : axis0;
    const eps = epsAttr?.kind === 'float' ? epsAttr.value : 1e-5;
    const e = new Emitter(node, ctx, f.dtype);
    const [x, scale, bias] = node.inputs;
    const axes = e.ints([...Array(f.rank - axis).keys()].map((k) => k + axis), 'axes');
    const mean = e.op('ReduceMean', [x!, axes], { keepdims: attrInt(1) });
    const d = e.op('Sub', [x!, mean]);
    const variance = e.op('ReduceMean', [e.op('Mul', [d, d]), axes], { keepdims: attrInt(1) });
    const std = e.op('Sqrt', [e.op('Add', [variance, e.scalar(eps, 'eps')])]);
    const normed = e.op('Div', [d, std]);
    const hasBias = bias !== undefined && bias !== '';
    const scaled = e.op('Mul', [normed, scale!], {}, hasBias ? undefined : node.outputs[0]);
    if (hasBias) e.op('Add', [scaled, bias], {}, node.outputs[0]);
    return e.nodes;
  },
};

export const DECOMPOSE_RULES: ReadonlyMap<string, DecomposeRule> = new Map([gelu, hardSwish, layerNorm].map((r) => [r.op, r]));

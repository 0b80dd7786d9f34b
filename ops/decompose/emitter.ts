// The pieces the decompositions of composite ai.onnx ops share: the rule shape, the facts a rule may ask about the graph, and an emitter
// of nodes with every attribute filled (as the importer would) and constants of the input's float type.

import type { DType } from '../../ir/dtype.js';
import type { Attr, Node } from '../../ir/graph.js';
import { fromValues } from '../../ir/tensor.js';
import { withDefaults } from '../attrs.js';
import { getOp } from '../index.js';
import type { DecomposeFacts, ImportNode, LegacyContext } from '../schema.js';

export type { DecomposeFacts };

/** A composite ai.onnx op's decomposition (ops/index.ts installs `build` as the op's OpDef.decompose). */
export interface DecomposeRule {
  readonly op: string;
  /** The replacement nodes, or undefined when this node's form is not handled (the node stays). */
  build(node: Node, ctx: LegacyContext, facts: DecomposeFacts): ImportNode[] | undefined;
}

/** Emits nodes with defaults filled and fresh names. */
export class Emitter {
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

export function floatInput(node: Node, facts: DecomposeFacts): { dtype: DType; rank: number | undefined } | undefined {
  const t = facts.type(node.inputs[0] ?? '');
  if (t?.kind !== 'tensor' || (t.dtype !== 'float32' && t.dtype !== 'float64')) return undefined;
  return { dtype: t.dtype, rank: t.shape?.length };
}


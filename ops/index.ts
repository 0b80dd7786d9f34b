// The op registry: every ai.onnx op onnxc knows, by op type.

import type { AnyOpDef } from './schema.js';
import { elementwiseOps } from './elementwise.js';
import { activationOps } from './activation.js';
import { shapeOps } from './shape.js';
import { indexingOps } from './indexing.js';
import { reduceOps } from './reduce.js';
import { normalizationOps } from './normalization.js';
import { matmulOps } from './matmul.js';
import { convOps } from './conv.js';
import { poolOps } from './pool.js';
import { resizeOps } from './resize.js';
import { controlOps } from './control.js';
import { sequenceOps } from './sequence.js';
import { rnnOps } from './rnn.js';
import { quantOps } from './quant.js';
import { attentionOps } from './attention.js';
import { signalOps } from './signal.js';
import { miscOps } from './misc.js';
import { fusedOps } from './fused/index.js';
import { layoutOps } from './layout/index.js';
import { COMPOSITE_DECOMPOSITIONS } from './decompose/index.js';

const ALL: AnyOpDef[] = [
  ...elementwiseOps, ...activationOps, ...shapeOps, ...indexingOps, ...reduceOps, ...normalizationOps,
  ...matmulOps, ...convOps, ...poolOps, ...resizeOps, ...controlOps, ...sequenceOps, ...rnnOps, ...quantOps,
  ...attentionOps, ...signalOps, ...miscOps, ...fusedOps, ...layoutOps,
];

const REGISTRY = new Map<string, AnyOpDef>();
for (const def of ALL) {
  if (REGISTRY.has(def.op)) throw new Error(`op ${def.op} is defined twice`);
  REGISTRY.set(def.op, def);
}
// composite ai.onnx ops decompose through their OpDef, like onnxc's own ops
for (const rule of COMPOSITE_DECOMPOSITIONS) {
  const def = REGISTRY.get(rule.op);
  if (!def || def.decompose) throw new Error(`decomposition of ${rule.op}: no such op, or it has one already`);
  REGISTRY.set(rule.op, { ...def, decompose: (node, ctx, facts) => rule.build(node, ctx, facts ?? { type: () => undefined }) });
}

/** The definition of an ai.onnx op, or undefined when onnxc does not implement it. */
export function getOp(op: string): AnyOpDef | undefined {
  return REGISTRY.get(op);
}

/** All ops, sorted by name. */
export function allOps(): AnyOpDef[] {
  return [...REGISTRY.values()].sort((a, b) => a.op.localeCompare(b.op));
}

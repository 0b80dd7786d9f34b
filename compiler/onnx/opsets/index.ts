// The importer's opset rewrites, by op: how a node written against an older ai.onnx opset becomes the current
// form the op definitions in ops/ describe. ops/ holds no import logic; this table is the one place for it.

import { elementwiseRewrites } from './elementwise.js';
import { normalizationRewrites } from './normalization.js';
import { otherRewrites } from './other.js';
import { shapeRewrites } from './shape.js';
import type { OpsetRewrite } from './common.js';

export type { OpsetRewrite } from './common.js';

const REWRITES: ReadonlyMap<string, OpsetRewrite> = new Map(Object.entries({
  ...elementwiseRewrites, ...shapeRewrites, ...normalizationRewrites, ...otherRewrites,
}));

/** The rewrite for `op` (an ai.onnx op type), if older opsets wrote it differently. */
export function opsetRewrite(op: string): OpsetRewrite | undefined {
  return REWRITES.get(op);
}

/** Every op with a rewrite (for tests). */
export function rewrittenOps(): string[] {
  return [...REWRITES.keys()];
}

// The pass registry: one alphabetical list; its summaries are `onnxc opt --help`. Tests may register extra passes
// (e.g. one that deliberately breaks numbers) with `registerPass`.

import { constantFold } from './constant-fold.js';
import { csePass } from './cse.js';
import { dce } from './dce.js';
import { decomposePass } from './decompose.js';
import {
  fuseAttention, fuseBatchnorm, fuseConvEpilogue, fuseConvTransposeEpilogue, fuseElementwise, fuseGelu, fuseLayernorm, fuseMatmulEpilogue, fuseRmsnorm,
} from './fusion/index.js';
import { inlineIf } from './inline-if.js';
import { layoutNhwc, layoutPackWeights } from './layout/index.js';
import { oneHotGather } from './one-hot.js';
import { foldPadConv } from './fold-pad.js';
import { foldConvAffine } from './fold-conv-affine.js';
import { canonicalHardActivations } from './hard-activations.js';
import { preluLeakyRelu } from './prelu-leaky.js';
import { sinkSqueeze } from './sink-squeeze.js';
import { removeNoopsPass } from './remove-noops.js';
import { upcastFloat16Pass } from './upcast-float16.js';
import { PRUNE_PASSES } from './prune/index.js';
import { QUANT_PASSES } from './quant/index.js';
import { pruneWeightsPass } from './prune/weights.js';
import type { Pass } from './pass.js';

const BUILTIN: readonly Pass[] = [
  canonicalHardActivations,
  constantFold,
  csePass,
  dce,
  decomposePass,
  foldConvAffine,
  foldPadConv,
  fuseAttention,
  fuseBatchnorm,
  fuseConvEpilogue,
  fuseConvTransposeEpilogue,
  fuseElementwise,
  fuseGelu,
  fuseLayernorm,
  fuseMatmulEpilogue,
  fuseRmsnorm,
  inlineIf,
  layoutNhwc,
  layoutPackWeights,
  oneHotGather,
  preluLeakyRelu,
  removeNoopsPass,
  sinkSqueeze,
  upcastFloat16Pass,
  ...QUANT_PASSES,
  pruneWeightsPass,
  ...PRUNE_PASSES,
];

const REGISTRY = new Map<string, Pass>();
for (const p of BUILTIN) addPass(p);

function addPass(p: Pass): void {
  if (REGISTRY.has(p.name)) throw new Error(`pass '${p.name}' is registered twice`);
  REGISTRY.set(p.name, p);
}

/** The pass named `name`, or undefined. */
export function getPass(name: string): Pass | undefined {
  return REGISTRY.get(name);
}

/** Every registered pass, sorted by name. */
export function allPasses(): Pass[] {
  return [...REGISTRY.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Register a pass from outside the built-in list (tests, experiments). Returns a function that removes it. */
export function registerPass(p: Pass): () => void {
  addPass(p);
  return () => { if (REGISTRY.get(p.name) === p) REGISTRY.delete(p.name); };
}

export type { Pass, PassContext, PassProperties, Requirement, Semantics } from './pass.js';
export { EXACT, defaultContext, definePass } from './pass.js';

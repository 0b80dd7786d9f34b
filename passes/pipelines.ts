// Pipelines: the pass lists behind -O0..-O3 and `--passes a,b,c`. Ordering assumptions are written down here.

import { UsageError } from '../ir/errors.js';
import { allPasses, getPass } from './index.js';
import type { Pass } from './pass.js';

export type OptLevel = 0 | 1 | 2 | 3;

// sink-squeeze after fuse-gelu (a Squeeze cannot pass the diamond of an unfused Gelu) and before the conv epilogue,
// which then finds the bias and activation right after the conv.
const FUSION = [
  'fuse-batchnorm', 'fuse-gelu', 'fuse-layernorm', 'fuse-rmsnorm', 'fuse-attention', 'sink-squeeze', 'fuse-conv-epilogue', 'fuse-convtranspose-epilogue',
  'fuse-matmul-epilogue', 'fuse-dequant-epilogue',
  'fuse-elementwise',
];

/** Pass names per level. Constant folding goes first so shape subgraphs become constants that remove-noops can
 *  judge (same-shape Reshape); CSE after no-op removal sees through Identity chains; DCE last sweeps up. */
const LEVELS: Record<OptLevel, readonly string[]> = {
  0: [],
  1: ['remove-noops', 'dce'],
  // Fusion after CSE (one producer per value); fuse-gelu before the epilogue pass so a recognised Gelu can join
  // its Conv; BN folding first so the folded Conv is what the epilogue absorbs.
  // Norms and attention before the epilogue passes (which would take their MatMuls and Adds); fuse-elementwise
  // last, so it only merges the elementwise ops no pattern claimed.
  // inline-if right after folding, which is what makes an If's condition constant (a shape test, a fixed input);
  // it folds what the inlined branches compute itself, so nested conditions are decided in the same pass.
  // fuse-dequant-matmul and fuse-qdq-conv before any folding: folding would widen a quantised weight back to float32.
  // one-hot-gather, fold-pad-conv, fold-conv-affine and canonical-hard-activations before fusion, which would take
  // the MatMul / Conv they rewrite into an epilogue, and which knows HardSigmoid/HardSwish as conv epilogues;
  // prelu-leaky-relu before fusion too, which takes LeakyRelu (not PRelu) into an epilogue.
  2: ['fuse-dequant-matmul', 'fuse-qdq-conv', 'constant-fold', 'inline-if', 'remove-noops', 'cse', 'one-hot-gather', 'fold-pad-conv', 'fold-conv-affine', 'canonical-hard-activations', 'prelu-leaky-relu', ...FUSION, 'dce'],
  // Fusion and layout passes join here as they land (passes/fusion, passes/layout).
  // layout-nhwc after fusion: it turns the fused (channels-first) FusedConvs channels-last.
  // fuse-elementwise after layout-nhwc, which moves through the plain elementwise ops it would hide.
  // fuse-convtranspose-epilogue before layout-nhwc, which makes the fused node onnxc.NhwcFusedConvTranspose.
  3: ['fuse-dequant-matmul', 'fuse-qdq-conv', 'constant-fold', 'inline-if', 'remove-noops', 'cse', 'one-hot-gather', 'fold-pad-conv', 'fold-conv-affine', 'canonical-hard-activations', 'prelu-leaky-relu', ...FUSION.filter((p) => p !== 'fuse-elementwise'),
    'layout-nhwc', 'fuse-elementwise', 'dce'],
};

export function levelPassNames(level: OptLevel): readonly string[] {
  return LEVELS[level];
}

export function pipelineForLevel(level: OptLevel): Pass[] {
  return resolvePasses(LEVELS[level]);
}

/** Passes by name, in the order given; a UsageError lists the known names when one is not. */
export function resolvePasses(names: readonly string[]): Pass[] {
  return names.map((name) => {
    const p = getPass(name);
    if (!p) throw new UsageError(`unknown pass '${name}'; known passes: ${allPasses().map((q) => q.name).join(', ')}`);
    return p;
  });
}

/** `a,b,c` -> passes. */
export function parsePassList(list: string): Pass[] {
  return resolvePasses(list.split(',').map((s) => s.trim()).filter((s) => s !== ''));
}

export function parseLevel(text: string): OptLevel {
  const n = Number(text.replace(/^-?O/, ''));
  if (n === 0 || n === 1 || n === 2 || n === 3) return n;
  throw new UsageError(`unknown optimisation level '${text}': use -O0, -O1, -O2 or -O3`);
}

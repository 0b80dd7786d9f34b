// Decompositions of composite ai.onnx ops (Gelu, HardSwish, LayerNormalization, ...), by op: ops/index.ts installs
// each as its OpDef's `decompose`, so every decomposition, of onnxc ops and ai.onnx composites alike, is found there.

import { ACTIVATION_DECOMPOSITIONS } from './activations.js';
import { CONV_DECOMPOSITIONS } from './conv3d.js';
import type { DecomposeRule } from './emitter.js';
import { NORMALIZATION_DECOMPOSITIONS } from './normalizations.js';
import { POOL_DECOMPOSITIONS } from './pools.js';
import { scanUnroll } from './scan-unroll.js';

export const COMPOSITE_DECOMPOSITIONS: readonly DecomposeRule[] = [...ACTIVATION_DECOMPOSITIONS, ...NORMALIZATION_DECOMPOSITIONS, ...POOL_DECOMPOSITIONS, ...CONV_DECOMPOSITIONS, scanUnroll];

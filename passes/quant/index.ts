// The compression passes of passes/quant, as the registry takes them (one entry in passes/index.ts).

import type { Pass } from '../pass.js';
import { convertFloat16Pass } from './convert-float16.js';
import { fuseDequantEpilogue } from './fuse-dequant-epilogue.js';
import { fuseDequantMatmulPass } from './fuse-dequant-matmul.js';
import { fuseQdqConvPass } from './fuse-qdq-conv.js';
import { quantizeDynamicPass } from './quantize-dynamic.js';
import { quantizeStaticPass } from './quantize-static.js';
import { quantizeWeightsPass } from './quantize-weights.js';

export const QUANT_PASSES: readonly Pass[] = [convertFloat16Pass, fuseDequantEpilogue, fuseDequantMatmulPass, fuseQdqConvPass, quantizeDynamicPass, quantizeStaticPass, quantizeWeightsPass];

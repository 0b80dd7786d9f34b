// The fusion passes, for the registry (passes/index.ts).

export { fuseAttention } from './attention.js';
export { fuseBatchnorm } from './batchnorm.js';
export { fuseElementwise } from './elementwise.js';
export { fuseConvEpilogue, fuseConvTransposeEpilogue } from './epilogue.js';
export { fuseGelu } from './gelu.js';
export { fuseLayernorm, fuseRmsnorm } from './layernorm.js';
export { fuseMatmulEpilogue } from './matmul-epilogue.js';

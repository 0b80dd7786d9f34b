// The fusion passes, for the registry (passes/index.ts).

export { fuseBatchnorm } from './batchnorm.js';
export { fuseConvEpilogue } from './epilogue.js';
export { fuseGelu } from './gelu.js';

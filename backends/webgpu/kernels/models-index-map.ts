// Kernels real models need that come from the index-map mechanism (index-map.ts): GatherND with constant indices
// (BERT's attention-mask gather after shape folding) is a compile-time map like Slice's. Listed before the kernel
// table's own entries, so a general GatherND kernel added there takes over.

import { indexMapKernel } from './index-map.js';

export const MODEL_INDEX_MAP_KERNELS = { GatherND: indexMapKernel } as const;

import { KERNELS } from '/work/main/backends/wasm/kernels/index.js';
console.log(Object.keys(KERNELS).sort().join(' '));

import { measurePeak } from './bench/gemm.js';
for (let i = 0; i < 3; i++) console.log(measurePeak().toFixed(2));

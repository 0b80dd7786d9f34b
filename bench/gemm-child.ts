// Child process for the GEMM microbenchmark (started with GEMM_NODE_FLAGS so every module runs optimised code):
// prints the GemmReport as one JSON line. usage: gemm-child.ts [LABEL_REGEX]

import { GEMM_SHAPES, runGemmBench } from './gemm.js';

const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
const shapes = filter ? GEMM_SHAPES.filter((s) => filter.test(s.label)) : GEMM_SHAPES;
process.stdout.write(`${JSON.stringify(runGemmBench(shapes, (l) => process.stderr.write(`${l}\n`)))}\n`);

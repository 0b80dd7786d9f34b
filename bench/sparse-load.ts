// Load cost of the CSC form built at load (kernels/sparse-init.ts csc_build), measured alone: L MatMul layers
// [16,256]x[256,1024] with B about half non-zero; of those that fit, the measured rule takes the CSC kernel with its
// form built at load. Against the same model with cscAtLoad: false (B expanded from the bitmask form only).
//
//   npx tsx bench/sparse-load.ts [L]
//
// Per variant: the least first run of 8 fresh sessions (the weights' init, then one run) and the least steady run.

import { setFlagsFromString } from 'node:v8';
import { emitWasm, WASM_BACKEND } from '../backends/wasm/compile.js';
import { KERNELS } from '../backends/wasm/kernels/index.js';
import { withSparse, type SparseChoice } from '../backends/wasm/kernels/sparse-matmul.js';
import { planLowering } from '../lowering/plan.js';
import { prepareForLowering } from '../lowering/prepare.js';
import { makeTensor } from '../ir/tensor.js';
import { prng } from '../ir/random.js';
import { GraphBuilder } from '../models/builder.js';
import { createSessionSync } from '../runtime/wasm/session.js';
import { toTensorValue } from '../compiler/compile.js';
setFlagsFromString('--no-liftoff'); setFlagsFromString('--no-wasm-lazy-compilation');
const M = 16, K = 256, N = 1024, L = Number(process.argv[2] ?? 16);
const b = new GraphBuilder('csc_load');
let h = b.input('x', 'float32', [M, K]);
const r = prng(3);
const outs: string[] = [];
for (let l = 0; l < L; l++) {
  const d = new Float32Array(K * N); for (let i = 0; i < d.length; i++) if (r() < 0.5) d[i] = r() - 0.5;
  for (let k = 0; k < 8; k++) d[k * N] = 1;
  outs.push(b.op('MatMul', [h, b.weight(`w${l}`, makeTensor('float32', [K, N], d))]));
}
for (const o of outs) b.output(o);
const g = b.build();
const x = makeTensor('float32', [M, K], Float32Array.from({ length: M * K }, () => r() * 2 - 1));
const variants: [string, SparseChoice][] = [['csc at load', {}], ['dense (bitmask expanded)', { cscAtLoad: false }]];
const built = variants.map(([name, ch]) => {
  const opts = { inputShapes: { x: [M, K] }, embedLimit: 0 };
  const a = emitWasm(planLowering({ ...WASM_BACKEND, kernels: { ...KERNELS, MatMul: withSparse(KERNELS['MatMul']!, ch) } }, prepareForLowering(g, opts)), opts);
  const kinds = (a.manifest.sparseWeights ?? []).map((e) => e[3]);
  return { name, a, kinds };
});
const feeds = { x: toTensorValue(x) };
const res = built.map(() => ({ first: Infinity, steady: Infinity }));
for (let round = 0; round < 8; round++) {
  built.forEach(({ a }, i) => {
    const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.weights });
    let t0 = performance.now(); s.runSync(feeds); res[i]!.first = Math.min(res[i]!.first, performance.now() - t0);
    for (let j = 0; j < 5; j++) { t0 = performance.now(); s.runSync(feeds); res[i]!.steady = Math.min(res[i]!.steady, performance.now() - t0); }
  });
}
built.forEach(({ name, a, kinds }, i) => console.log(`${name}: weights.bin ${a.weights.length} B (${kinds.filter((k) => k === 'sparse-kernel').length} on a sparse kernel), first run ${res[i]!.first.toFixed(2)} ms, steady ${res[i]!.steady.toFixed(2)} ms, first - steady ${(res[i]!.first - res[i]!.steady).toFixed(2)} ms`));

// The int8 kernels of a QDQ model, `--simd strict` against `--simd relaxed`: per-kernel times (compiler/kernel-profile.ts)
// of both builds, profiled in alternating rounds, each kernel's fastest over every round (on a shared machine the
// least disturbed), summed by kind: depthwise QConv, the GEMM QConvs (1x1 and im2col), QLinearAdd, the rest.
//   npx tsx scripts/quant-relaxed-profile.ts MODEL.onnx [...] [--rounds 5] [--reps 10]
// The input is seeded random (compiler/random-inputs.ts seed 1); the integer kernels' time does not depend on it.

import { setFlagsFromString } from 'node:v8';
import { relaxedSimdAvailable } from '../bench/relaxed-probe.js';
import type { SimdMode } from '../backends/wasm/relaxed.js';
import { compileWasmGraph, toTensorValue } from '../compiler/compile.js';
import { profileKernels, type KernelTime } from '../compiler/kernel-profile.js';
import { loadModel } from '../compiler/onnx/import.js';
import { randomInputs } from '../compiler/random-inputs.js';
import type { Graph } from '../ir/graph.js';

if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

const args = process.argv.slice(2);
const flag = (n: string, d: number): number => { const i = args.indexOf(n); return i < 0 ? d : Number(args[i + 1]); };
const rounds = flag('--rounds', 5), reps = flag('--reps', 10);
const paths = args.filter((a, i) => a.endsWith('.onnx') && !args[i - 1]?.startsWith('--'));

function kindOf(g: Graph, k: KernelTime): string {
  if (k.op !== 'onnxc.QConv') return k.op === 'onnxc.QLinearAdd' ? 'QLinearAdd' : 'other';
  const n = g.nodes.find((x) => x.name === k.node);
  const group = n?.attrs['group']?.kind === 'int' ? n.attrs['group'].value : 1;
  return group > 1 ? 'QConv depthwise' : 'QConv GEMM';
}

for (const path of paths) {
  const model = loadModel(path);
  const x = randomInputs(model.graph, {}, 1);
  const feeds = Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(x[i]!)]));
  const builds = (['strict', 'relaxed'] as SimdMode[]).map((simd) => {
    const { artifact, graph } = compileWasmGraph(model.graph, { source: path, embedLimit: 0, exportKernels: true, simd }, { level: 3 });
    return { simd, artifact, graph, best: new Map<string, KernelTime>(), runs: [] as number[] };
  });
  for (let r = 0; r < rounds; r++) {
    for (const b of builds) {
      const p = await profileKernels(b.artifact, feeds, reps, 3);
      b.runs.push(p.runMinMs);
      for (const k of p.kernels) { const o = b.best.get(k.fn); if (!o || k.minMs < o.minMs) b.best.set(k.fn, k); }
    }
  }
  console.log(`${path} (${rounds} alternating rounds of ${reps} reps; fastest per kernel, summed by kind)`);
  const sums = builds.map((b) => {
    const s = new Map<string, [number, number]>();
    for (const k of b.best.values()) { const kind = kindOf(b.graph, k), e = s.get(kind) ?? [0, 0]; s.set(kind, [e[0] + k.minMs, e[1] + 1]); }
    return s;
  });
  const kinds = [...new Set(sums.flatMap((s) => [...s.keys()]))].sort();
  for (const kind of kinds) {
    const [a, b] = sums.map((s) => s.get(kind) ?? [0, 0]);
    console.log(`  ${kind.padEnd(16)} ${String(a![1]).padStart(3)} kernels  strict ${a![0].toFixed(2)} ms  relaxed ${b![0].toFixed(2)} ms  (${(b![0] / a![0]).toFixed(3)}x)`);
  }
  const tot = sums.map((s) => [...s.values()].reduce((t, [v]) => t + v, 0));
  const run = builds.map((b) => Math.min(...b.runs));
  console.log(`  sum of kernels   strict ${tot[0]!.toFixed(2)} ms  relaxed ${tot[1]!.toFixed(2)} ms  (${(tot[1]! / tot[0]!).toFixed(3)}x); whole run fastest strict ${run[0]!.toFixed(2)} ms, relaxed ${run[1]!.toFixed(2)} ms (${(run[1]! / run[0]!).toFixed(3)}x)`);
}

// Figures for `onnxc quantize --mode static` (issue 9) on an image model (mobilenet_v2 by default): the ONNX file and
// the wasm artifact's weights.bin against fp32's, top-1 agreement of the int8 artifact with the fp32 artifact on
// seeded inputs other than the calibration ones, drift (max |q - f| / max |f|), onnxruntime-node on the quantised
// ONNX against the int8 artifact (max |diff| over the output's max |value|); with --reduce-range also the 7-bit
// weights' cost, and with --speed the `--simd relaxed` build against the strict one (interleaved, median).
//   npx tsx scripts/quant-static-figures.ts [--model PATH] [--calib 128] [--samples 200] [--ort 20]
//     [--reduce-range] [--method minmax|percentile|entropy] [--speed N] [--save DIR]
// Calibration inputs are seeds 1..calib of compiler/random-inputs.ts, eval inputs seeds 100001.., as
// `onnxc quantize --random-samples` would draw them.

import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { relaxedSimdAvailable } from '../bench/relaxed-probe.js';
import { compareSets, quantizeModel } from '../compiler/calibrate-quantize.js';
import { compileWasmGraph, toTensorValue } from '../compiler/compile.js';
import { importModel, loadModel } from '../compiler/onnx/import.js';
import { randomInputs } from '../compiler/random-inputs.js';
import type { SimdMode } from '../backends/wasm/relaxed.js';
import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { createSessionSync } from '../runtime/wasm/session.js';
import { ortVsArtifact } from './ort-vs-artifact.js';

if (!relaxedSimdAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

const SHARED = resolve(process.env.ONNXC_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const path = opt('--model', join(SHARED, 'models/mobilenet_v2/model.onnx'));
const nCalib = Number(opt('--calib', '128')), nEval = Number(opt('--samples', '200')), nOrt = Number(opt('--ort', '20'));
const speedRuns = Number(opt('--speed', '0')), method = opt('--method', 'minmax') as 'minmax';
const variants = args.includes('--reduce-range') ? [false, true] : [false];
const save = opt('--save', '');

/** The wasm artifact (-O3) of a model: weights.bin size, whether it multiplies on the relaxed int8 dot, a runner. */
function artifactOf(model: Model, simd: SimdMode = 'strict') {
  const { artifact } = compileWasmGraph(model.graph, { source: model.info.source, embedLimit: 0, simd }, { level: 3 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
  const run = (x: readonly Tensor[]): RuntimeValue[] => {
    const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(x[i]!)])));
    return model.graph.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
  };
  // i16x8.relaxed_dot_i8x16_i7x16_s: 0xfd 0x112
  const w = artifact.wasm, dot = w.some((v, i) => v === 0xfd && w[i + 1] === 0x92 && w[i + 2] === 0x02);
  return { weights: artifact.weights.length, run, dot };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(3)} MB`;
const model = loadModel(path);
const calib = Array.from({ length: nCalib }, (_, i) => randomInputs(model.graph, {}, i + 1));
const evalSet = Array.from({ length: nEval }, (_, i) => randomInputs(model.graph, {}, 100_001 + i));
const fp = artifactOf(model);
const want = evalSet.map(fp.run);
console.log(`${path}: fp32 artifact weights ${mb(fp.weights)}; ${nCalib} calibration, ${nEval} eval inputs (seeded), method ${method}`);
for (const reduceRange of variants) {
  const t0 = performance.now();
  const r = quantizeModel(model, calib, { mode: 'static', method, ...(reduceRange ? { reduceRange } : {}) });
  const label = reduceRange ? 'static --reduce-range (7-bit weights)' : 'static (8-bit weights)';
  if (save) writeFileSync(join(save, reduceRange ? 'static7.onnx' : 'static.onnx'), r.bytes);
  // the ONNX file as written, read back: what a user ships and compiles
  const q = importModel(r.bytes, { source: 'quantised.onnx' });
  const a = artifactOf(q);
  const got = evalSet.map(a.run);
  const rep = compareSets(model.graph, want, got);
  console.log(`  ${label}: quantize ${((performance.now() - t0) / 1000).toFixed(1)} s, ONNX ${mb(r.report.bytesBefore)} -> ${mb(r.bytes.length)}`
    + ` (${(100 * r.bytes.length / r.report.bytesBefore).toFixed(1)}%), artifact weights ${mb(a.weights)} (${(100 * a.weights / fp.weights).toFixed(1)}% of fp32's)`);
  for (const o of Object.keys(rep.drift)) {
    console.log(`    ${o}: top-1 agreement with the fp32 artifact ${(100 * (rep.top1[o] ?? NaN)).toFixed(2)}% of ${nEval}, drift ${rep.drift[o]!.toExponential(2)} of the range`);
  }
  const worst = await ortVsArtifact(r.bytes, model.graph, evalSet, got, Math.min(nOrt, nEval));
  console.log(`    onnxruntime-node on the quantised ONNX vs the int8 artifact: max |diff| ${worst.toExponential(2)} of the output range (${Math.min(nOrt, nEval)} inputs)`);
  if (speedRuns > 0) {
    const rel = artifactOf(q, 'relaxed');
    const relOut = evalSet.slice(0, 20).map(rel.run), strictOut = got.slice(0, 20);
    const d = compareSets(model.graph, strictOut, relOut);
    const times: Record<string, number[]> = { strict: [], relaxed: [], fp32: [] };
    const x = evalSet[0]!;
    for (const f of [a.run, rel.run, fp.run]) f(x);
    for (let i = 0; i < speedRuns; i++) {
      for (const [k, f] of [['strict', a.run], ['relaxed', rel.run], ['fp32', fp.run]] as const) {
        const t = performance.now(); f(x); times[k]!.push(performance.now() - t);
      }
    }
    const med = (v: number[]): number => [...v].sort((p, q2) => p - q2)[Math.floor(v.length / 2)]!;
    const min = (v: number[]): number => Math.min(...v);
    const fmt = (k: string): string => `${k} ${med(times[k]!).toFixed(2)} ms median / ${min(times[k]!).toFixed(2)} min`;
    console.log(`    speed (${speedRuns} interleaved runs): ${fmt('strict')}, ${fmt('relaxed')}, ${fmt('fp32')}; relaxed/strict `
      + `${(med(times['relaxed']!) / med(times['strict']!)).toFixed(3)} median, ${(min(times['relaxed']!) / min(times['strict']!)).toFixed(3)} min; `
      + `relaxed dot in the module: ${rel.dot}; relaxed vs strict drift ${Object.values(d.drift).map((v) => v.toExponential(2)).join(', ')}, `
      + `top-1 ${Object.values(d.top1).map((v) => (100 * v).toFixed(1) + '%').join(', ')} (20 inputs)`);
  }
}

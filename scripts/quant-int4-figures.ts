// Figures for `onnxc quantize --mode weights-int4|dynamic` (issue 9) on bert-tiny and gpt2_tiny: the ONNX file against
// the float file as given and as onnxc writes it again (the given bert-tiny file carries 230 KB of node metadata the
// writer drops: that part of the ratio is not quantisation), the wasm artifact's weights.bin against fp32's at the same
// shapes, top-1/argmax agreement of the quantised artifact with the fp32 artifact over every output row (rows counted;
// bert's last_hidden_state split into real and padding tokens), drift (max |q - f| / max |f|) and relative L2 error,
// on seeded inputs other than the calibration ones; and onnxruntime-node on the quantised ONNX against its artifact.
//   npx tsx scripts/quant-int4-figures.ts [--modes weights-int4,dynamic] [--blocks 64] [--samples 128] [--calib 64]
//     [--ort 8] [--exclude OP,...] [--seqs 32,128] [--sizes] [model ...]   (models: bert, gpt2)
// Each artifact's weights.bin is also given by storage form (as is, float16, int4 blocks, sparse); --sizes lists
// every tensor of the weights region with its dense and stored bytes.
// bert is quantised once, calibrated on its test_data_set and on --calib seeded inputs spread over the --seqs lengths,
// and evaluated at each length (--samples inputs each). bert inputs are sentence-like: [CLS] tokens [SEP] tokens [SEP]
// then padding (attention mask 0), a random length of 1/4..1 of the sequence, token types 0 then 1 after the first [SEP].

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareSets, quantizeModel, type QuantMode } from '../compiler/calibrate-quantize.js';
import { readCalibrationSet, type Sample } from '../compiler/calibrate-data.js';
import { toTensorValue } from '../compiler/compile.js';
import { compileFor } from '../lowering/compile-for.js';
import type { LoweringPlan, PackedRef } from '../lowering/plan.js';
import { compressWords, worthCompressing } from '../lowering/sparse-weights.js';
import { int4Form } from '../lowering/int4-weights.js';
import { f16Form } from '../lowering/f16-weights.js';
import { WASM_BACKEND } from '../backends/wasm/compile.js';
import { withThreadScratch } from '../backends/wasm/parallel.js';
import { importModel, loadModel } from '../compiler/onnx/import.js';
import { exportModel } from '../compiler/onnx/export.js';
import type { Model } from '../ir/graph.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { createSessionSync } from '../runtime/wasm/session.js';
import { ortVsArtifact } from './ort-vs-artifact.js';

const SHARED = resolve(process.env.ONNXC_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const args = process.argv.slice(2);
const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const modes = opt('--modes', 'weights-int4,dynamic').split(',') as QuantMode[];
const blocks = opt('--blocks', '').split(',').filter(Boolean).map(Number);
const nEval = Number(opt('--samples', '128')), nCalib = Number(opt('--calib', '64')), nOrt = Number(opt('--ort', '8'));
const exclude = opt('--exclude', '').split(',').filter(Boolean);
const SEQS = opt('--seqs', opt('--seq', '32,128')).split(',').map(Number);
const sizes = args.includes('--sizes');
const names = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1]?.startsWith('--') && args[i - 1] !== '--sizes'));

/** Seeded LCG in [0, 1). */
function lcg(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

const BERT_VOCAB = 1000, CLS = 101n, SEP = 102n;
function bertSample(seed: number, S: number): Tensor[] {
  const r = lcg(seed);
  const len = Math.max(4, Math.floor(S / 4 + r() * (S - S / 4 + 1)));
  const split = 1 + Math.floor(r() * (len - 2));
  const ids = new BigInt64Array(S), mask = new BigInt64Array(S), types = new BigInt64Array(S);
  for (let i = 0; i < len; i++) {
    mask[i] = 1n;
    ids[i] = i === 0 ? CLS : i === len - 1 || i === split ? SEP : BigInt(103 + Math.floor(r() * (BERT_VOCAB - 103)));
    types[i] = i > split ? 1n : 0n;
  }
  return [makeTensor('int64', [1, S], ids), makeTensor('int64', [1, S], mask), makeTensor('int64', [1, S], types)];
}

function gpt2Sample(seed: number): Tensor[] {
  const r = lcg(seed);
  return [makeTensor('int64', [1, 64], BigInt64Array.from({ length: 64 }, () => BigInt(Math.floor(r() * 8192))))];
}

interface Spec {
  readonly dir: string;
  readonly file: string;
  /** Sequence lengths evaluated (and calibrated on); each with the dims it is compiled for. */
  readonly lengths: readonly number[];
  readonly dims: (S: number) => Record<string, number>;
  readonly sample: (seed: number, S: number) => Tensor[];
  /** Input whose 0 marks padding rows (attention mask), if any. */
  readonly mask?: number;
}
const MODELS: Record<string, Spec> = {
  bert: { dir: 'models/generated-bert-tiny', file: 'bert_tiny_random_opset18.onnx', lengths: SEQS, dims: (S) => ({ batch: 1, seq: S }), sample: bertSample, mask: 1 },
  gpt2: { dir: 'models/gpt2_tiny', file: 'model.onnx', lengths: [64], dims: () => ({}), sample: gpt2Sample },
};

/** Each placed tensor of the weights region in the form weights.bin stores it (the order of storeWeights' choice:
 *  sparse, int4 blocks, float16, else as it is): [label, dense bytes, stored bytes, form]. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function storedForms(plan: LoweringPlan<any, any>): [string, number, number, string][] {
  const label = new Map<number, string>();
  for (const p of plan.nodes) for (const t of p.packed as readonly PackedRef[]) label.set(t.offset, `${p.node.name} (packed ${t.dtype} [${t.dims}])`);
  for (const [name, t] of plan.prepared.constants) {
    const o = plan.weights.offsetOf(name);
    if (o !== undefined && !label.has(o)) label.set(o, `${name} ${t.dtype} [${t.dims}]`);
  }
  return plan.weights.placed().map(({ offset, bytes: b }) => {
    const i4 = worthCompressing(b) ? undefined : int4Form(b), h = worthCompressing(b) || i4 ? undefined : f16Form(b);
    const [stored, form] = worthCompressing(b) ? [compressWords(b).length, 'sparse'] : i4 ? [i4.bytes.length, `int4/${i4.block}`] : h ? [h.byteLength, 'float16'] : [b.length, 'as is'];
    return [label.get(offset) ?? `@${offset}`, b.length, stored, form];
  });
}

function artifactOf(model: Model, dims: Record<string, number>) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let plan: LoweringPlan<any, any> | undefined;
  const backend = withThreadScratch(WASM_BACKEND, 1);
  const { artifact } = compileFor({ ...backend, emit: (p: Parameters<typeof backend.emit>[0], o: Parameters<typeof backend.emit>[1]) => { plan = p; return backend.emit(p, o); } },
    model.graph, { source: model.info.source, dims, embedLimit: 0 }, { level: 3 });
  const s = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights });
  const run = (x: Sample): RuntimeValue[] => {
    const outs = s.runSync(Object.fromEntries(model.graph.inputs.map((n, i) => [n, toTensorValue(x[i] as Tensor)])));
    return model.graph.outputs.map((n) => ({ dtype: outs[n]!.type, dims: outs[n]!.dims, data: outs[n]!.data }) as Tensor);
  };
  return { weights: artifact.weights.length, forms: storedForms(plan!), run };
}

/** weights.bin by storage form (stored bytes and tensors, alignment padding aside); with --sizes, one line per tensor. */
function formsLine(forms: readonly [string, number, number, string][], indent: string, title = ''): string {
  const by = new Map<string, [number, number]>();
  for (const [, , st, f] of forms) { const e = by.get(f) ?? [0, 0]; by.set(f, [e[0] + st, e[1] + 1]); }
  const head = `${indent}${title}weights.bin by form: ${[...by].map(([f, [b, n]]) => `${f} ${b} B (${n})`).join(', ')}`;
  return sizes ? [head, ...forms.map(([l, d, st, f]) => `${indent}  ${String(d).padStart(7)} -> ${String(st).padStart(7)} ${f.padEnd(8)} ${l}`)].join('\n') : head;
}

/** Per output: sqrt(sum (q - f)^2 / sum f^2) over every sample. */
function relL2(outputs: readonly string[], want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): string {
  return outputs.map((o, k) => {
    let e = 0, m = 0;
    want.forEach((w, s) => {
      const a = (w[k] as Tensor).data as Float32Array, b = (got[s]![k] as Tensor).data as Float32Array;
      for (let i = 0; i < a.length; i++) { e += (a[i]! - b[i]!) ** 2; m += a[i]! ** 2; }
    });
    return `${o} ${Math.sqrt(e / m).toExponential(2)}`;
  }).join(', ');
}

/** Argmax agreement of output 0's rows, split by the mask input: real tokens and padding. */
function maskedAgreement(evalSet: readonly Sample[], mask: number, want: readonly RuntimeValue[][], got: readonly RuntimeValue[][]): string {
  const n = [0, 0], ok = [0, 0];
  evalSet.forEach((x, s) => {
    const m = (x[mask] as Tensor).data as BigInt64Array, a = want[s]![0] as Tensor, b = got[s]![0] as Tensor;
    const C = a.dims.at(-1)!, A = a.data as Float32Array, B = b.data as Float32Array;
    for (let r = 0; r < A.length / C; r++) {
      let ia = 0, ib = 0;
      for (let c = 1; c < C; c++) { if (A[r * C + c]! > A[r * C + ia]!) ia = c; if (B[r * C + c]! > B[r * C + ib]!) ib = c; }
      const k = m[r % m.length] === 0n ? 1 : 0;
      n[k]!++;
      if (ia === ib) ok[k]!++;
    }
  });
  const pct = (k: number): string => `${(100 * ok[k]! / Math.max(1, n[k]!)).toFixed(2)}% of ${n[k]}`;
  return `real tokens ${pct(0)}, padding ${pct(1)}`;
}

/** Rows each output contributes to agreement (its size over its last dim, summed over samples). */
const rowsOf = (outs: readonly RuntimeValue[][], k: number): number =>
  outs.reduce((n, o) => { const t = o[k] as Tensor; return n + t.data.length / (t.dims.at(-1) ?? 1); }, 0);

const mb = (n: number): string => `${(n / 1e6).toFixed(3)} MB`;
for (const name of names.length ? names : Object.keys(MODELS)) {
  const spec = MODELS[name]!;
  const path = join(SHARED, spec.dir, spec.file);
  // quantised once, on the model as declared (symbolic lengths where it has them)
  const model = loadModel(path);
  const onnxFile = readFileSync(path).length, onnxRe = exportModel(model).length;
  const own = readCalibrationSet(join(SHARED, spec.dir, 'test_data_set_0'), model.graph);
  const L = spec.lengths;
  const calib: Sample[] = [...own, ...Array.from({ length: nCalib }, (_, i) => spec.sample(i + 1, L[i % L.length]!))];
  const atLength = L.map((S) => {
    const fixed = loadModel(path, { dims: spec.dims(S) });
    const fp = artifactOf(fixed, spec.dims(S));
    const evalSet = Array.from({ length: nEval }, (_, i) => spec.sample(100_000 + i, S));
    return { S, fixed, fp, evalSet, want: evalSet.map(fp.run) };
  });
  console.log(`${name}: fp32 ONNX ${mb(onnxFile)} (re-exported ${mb(onnxRe)}), artifact weights ${atLength.map((a) => `${mb(a.fp.weights)} at ${a.S}`).join(', ')}; `
    + `${calib.length} calibration inputs (test_data_set ${own.length}, seeded ${nCalib} at ${L.join('/')}), ${nEval} eval inputs per length`);
  for (const at of atLength) console.log(formsLine(at.fp.forms, '    ', `fp32 seq ${at.S}: `));
  for (const mode of modes) {
    for (const bs of mode === 'weights-int4' && blocks.length ? blocks : [undefined]) {
      const r = quantizeModel(model, calib, { mode, ...(bs !== undefined ? { blockSize: bs } : {}), exclude });
      console.log(`  ${mode}${bs !== undefined ? ` block ${bs}` : ''}: ONNX ${mb(r.bytes.length)} (${(onnxFile / r.bytes.length).toFixed(2)}x the file as given, `
        + `${(onnxRe / r.bytes.length).toFixed(2)}x the file as onnxc writes it)`);
      if (r.report.layerBits) console.log(`    measured layer widths (quant-layer-bits): ${r.report.layerBits}`);
      for (const at of atLength) {
        // the ONNX file as written, read back: what a user ships and compiles
        const q = importModel(r.bytes, { dims: spec.dims(at.S), source: `${name}-${mode}.onnx` });
        const a = artifactOf(q, spec.dims(at.S));
        const got = at.evalSet.map(a.run);
        const rep = compareSets(at.fixed.graph, at.want, got);
        const agree = Object.entries(rep.top1).map(([o, v]) => `${o} ${(100 * v).toFixed(2)}% of ${rowsOf(at.want, at.fixed.graph.outputs.indexOf(o))} rows`).join(', ');
        const drift = Object.entries(rep.drift).map(([o, v]) => `${o} ${v.toExponential(2)}`).join(', ');
        console.log(`    seq ${at.S}: artifact weights ${mb(a.weights)} (${a.weights} B against fp32's ${at.fp.weights} B: ${(at.fp.weights / a.weights).toFixed(3)}x); agreement ${agree}`
          + `${spec.mask !== undefined ? ` (${at.fixed.graph.outputs[0]}: ${maskedAgreement(at.evalSet, spec.mask, at.want, got)})` : ''}`);
        console.log(`      drift ${drift}; relative L2 ${relL2(at.fixed.graph.outputs, at.want, got)}`);
        console.log(formsLine(a.forms, '      '));
        // onnxruntime-node runs the quantised ONNX; its outputs against the quantised artifact's, over each output's range
        const worst = await ortVsArtifact(r.bytes, model.graph, at.evalSet, got, Math.min(nOrt, nEval));
        console.log(`      onnxruntime-node on the quantised ONNX vs its wasm artifact: max |diff| ${worst.toExponential(2)} of the output range (${Math.min(nOrt, nEval)} inputs)`);
      }
    }
  }
}

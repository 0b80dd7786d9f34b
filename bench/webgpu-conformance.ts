// The ONNX backend node suite's float32-only cases on the webgpu backend (through prepareWebGpu, -O0: the kernels
// as the model is written), with the conformance runner's tolerance: pass/fail counts and the failures grouped by
// reason, for iterating on kernels (`npm run conformance` checks the same cases against
// test/conformance/expected-failures-webgpu.json through the conformance runner):
//   npx tsx bench/webgpu-conformance.ts [--filter RE] [--json FILE]

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareWebGpu } from '../backends/webgpu/model-backend.js';
import { compareValues, BACKEND_TEST_TOLERANCE } from '../compiler/compare.js';
import { loadModel } from '../compiler/onnx/import.js';
import { readValueFile } from '../compiler/onnx/tensor-proto.js';
import { OnnxcError } from '../ir/errors.js';
import { SHARED } from '../test/helpers/shared.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const filter = new RegExp(opt('--filter') ?? '.');
const root = join(SHARED, 'onnx-backend', 'node');
const names = readFileSync(join(SHARED, 'onnx-backend', 'node-float32-only-cases.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && filter.test(l));
const numbered = (dir: string, prefix: string): string[] => readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
  .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3))).map((f) => join(dir, f));

const results: { name: string; pass: boolean; reason?: string }[] = [];
for (const name of names) {
  const dir = join(root, name);
  let reason: string | undefined;
  try {
    const model = loadModel(join(dir, 'model.onnx'));
    const g = model.graph;
    const p = prepareWebGpu(model, { level: 0 });
    for (const ds of readdirSync(dir).filter((f) => f.startsWith('test_data_set')).map((f) => join(dir, f))) {
      const inputs = numbered(ds, 'input_').map((f, i) => readValueFile(f, g.types.get(g.inputs[i] ?? '')));
      const expected = numbered(ds, 'output_').map((f, i) => readValueFile(f, g.types.get(g.outputs[i] ?? '')));
      const outs = await p.run(g.inputs.map((_, i) => inputs[i]));
      for (let k = 0; k < expected.length && !reason; k++) {
        const d = compareValues(outs[k]!, expected[k]!, BACKEND_TEST_TOLERANCE);
        if (d.mismatch) reason = `mismatch: output ${k}: ${d.mismatch}`;
      }
      if (reason) break;
    }
  } catch (e) {
    reason = e instanceof OnnxcError ? `${e.name}: ${e.message.split('\n')[0]}` : `internal: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  results.push({ name, pass: !reason, ...(reason ? { reason } : {}) });
  if (process.stderr.isTTY) process.stderr.write(`\r${results.length}/${names.length}`);
}
const failed = results.filter((r) => !r.pass);
const groups = new Map<string, string[]>();
for (const f of failed) {
  const key = f.reason!.replace(/'[^']*'/g, "'…'").replace(/\d+(\.\d+)?(e-?\d+)?/g, 'N').slice(0, 110);
  groups.set(key, [...(groups.get(key) ?? []), f.name]);
}
for (const [k, v] of [...groups].sort((a, b) => b[1].length - a[1].length)) console.log(`${String(v.length).padStart(4)}  ${k}  (${v.slice(0, 3).join(', ')}${v.length > 3 ? ', …' : ''})`);
console.log(`webgpu node suite (float32-only cases): ${results.length - failed.length} passed, ${failed.length} failed of ${results.length}`);
const json = opt('--json');
if (json) writeFileSync(json, JSON.stringify(results, null, 1));
process.exit(0);

import * as ort from 'onnxruntime-node';
import { loadModel } from '../../compiler/onnx/import.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { readdirSync } from 'node:fs';
const root = '/work/shared/models';
for (const d of readdirSync(root)) {
  let f: string | undefined;
  try { f = readdirSync(`${root}/${d}`).find((x) => x.endsWith('.onnx')); } catch { continue; }
  if (!f) continue;
  const m = loadModel(`${root}/${d}/${f}`);
  const res: string[] = [];
  for (const [ir, opset] of [[10, 21], [10, 22], [10, 23], [11, 24], [12, 25], [13, 26]] as const) {
    try { await ort.InferenceSession.create(exportModel(m, { opset, irVersion: ir })); res.push(`${opset}:ok`); }
    catch (e) { res.push(`${opset}:FAIL ${String(e).replace(/\n/g, ' ').slice(0, 200)}`); }
  }
  console.log(d, res.join(' | '));
}

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compareValues, BACKEND_TEST_TOLERANCE } from '../../compiler/compare.js';
import { loadModel } from '../../compiler/onnx/import.js';
import { readValueFile } from '../../compiler/onnx/tensor-proto.js';
const base = '/work/shared/onnx-backend/node';
for (const c of readdirSync(base).filter((d) => /optional|_opt$|loop16_seq|if_opt|identity_opt|sequence/.test(d))) {
  try {
    const m = loadModel(join(base, c, 'model.onnx'));
    const ds = join(base, c, 'test_data_set_0');
    const inputs = m.graph.inputs.map((n, k) => { try { return readValueFile(join(ds, `input_${k}.pb`), m.graph.types.get(n)); } catch { return undefined; } });
    const outs = runGraph(m.graph, inputs);
    const bad = m.graph.outputs.map((n, k) => compareValues(outs[k]!, readValueFile(join(ds, `output_${k}.pb`), m.graph.types.get(n)), BACKEND_TEST_TOLERANCE).mismatch).filter(Boolean);
    console.log(bad.length ? 'FAIL' : 'pass', c, bad.join('; ').slice(0, 200));
  } catch (e) { console.log('ERR', c, String(e).slice(0, 200)); }
}

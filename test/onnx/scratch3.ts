import { decodeMessage, type ModelProtoMsg, int64ToNumber } from '../../compiler/onnx/proto.js';
import { readFileSync, readdirSync } from 'node:fs';
const base = '/work/shared/onnx-backend/node/';
const c = new Map<string, number>();
for (const d of readdirSync(base)) {
  try { const m = decodeMessage<ModelProtoMsg>('ModelProto', readFileSync(base + d + '/model.onnx'));
  const k = `ir${int64ToNumber(m.ir_version, '')} ` + m.opset_import.map(o => `${o.domain}:${o.version}`).join(',');
  c.set(k, (c.get(k) ?? 0) + 1); } catch (e) { console.log(d, String(e)); }
}
console.log([...c].sort((a, b) => b[1] - a[1]).slice(0, 30));

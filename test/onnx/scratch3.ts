import { decodeMessage, type ModelProtoMsg } from '../../compiler/onnx/proto.js';
import { readFileSync } from 'node:fs';
const m = decodeMessage<ModelProtoMsg>('ModelProto', readFileSync(process.argv[2]!));
console.log(JSON.stringify(m.graph!.input.map(i => [i.name, i.type])));
for (const n of m.graph!.node.slice(0, Number(process.argv[3] ?? 5))) console.log(n.op_type, n.input, n.output, JSON.stringify(n.attribute).slice(0, 300));

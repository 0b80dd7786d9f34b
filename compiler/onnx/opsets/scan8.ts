// The opset 8 form of Scan, rewritten at import into current ops. Opset 8 has a leading sequence_lens input and
// a batch axis 0 on every input and output; the same computation is a Loop over the batch whose body picks
// entry b, cuts its scan inputs to sequence_lens[b], runs an opset-9 Scan, and zero-pads the scan outputs back
// to the full length (as onnxruntime does). The Loop's scan outputs stack the entries back along axis 0.

import { ShapeError } from '../../../ir/errors.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { attrGraph, attrInt, attrInts } from '../../../ir/graph.js';
import { fromValues, scalar } from '../../../ir/tensor.js';
import type { ValueType } from '../../../ir/types.js';
import type { ImportNode, LegacyContext } from '../../../ops/schema.js';
import { tensorOf } from '../../../ops/util.js';

export function scanFromOpset8(node: ImportNode, ctx: LegacyContext): ImportNode[] {
  if (ctx.opset >= 9) return [node];
  const [lens = '', ...rest] = node.inputs;
  const body = node.attrs['body'];
  const numScan = node.attrs['num_scan_inputs'];
  if (body?.kind !== 'graph' || numScan?.kind !== 'int') throw new ShapeError('Scan needs body and num_scan_inputs');
  const m = numScan.value;
  const n = rest.length - m;
  const k = body.value.outputs.length - n;
  if (m < 1 || n < 0 || k < 0) throw new ShapeError(`num_scan_inputs ${m} does not fit ${rest.length} inputs`);
  const dirs = node.attrs['directions'];
  const directions = dirs?.kind === 'ints' ? dirs.value : new Array<number>(m).fill(0);
  const fresh = (hint: string): string => ctx.freshName(`${node.name}_${hint}`);
  const mk = (op: string, inputs: string[], outputs: string[], attrs: ImportNode['attrs'] = {}): ImportNode =>
    ({ name: fresh(op.toLowerCase()), op, inputs, outputs, attrs });

  const iter = fresh('batch_index');
  const condIn = fresh('cond_in');
  const condOut = fresh('cond_out');
  const nodes: Node[] = [mk('Identity', [condIn], [condOut])];
  const picked = rest.map((name) => {
    const p = fresh(`${name}_entry`);
    nodes.push(mk('Gather', [name, iter], [p], { axis: attrInt(0) }));
    return p;
  });
  const outer: ImportNode[] = [];
  let pads: string | undefined;
  const axis0 = ctx.constant(fromValues('int64', [1], [0n]), `${node.name}_axis0`);
  if (lens !== '') {
    const zero1 = ctx.constant(fromValues('int64', [1], [0n]), `${node.name}_zero1`);
    const [len, len64, len1, full, padLen] = ['len', 'len64', 'len1', 'full_len', 'pad_len'].map(fresh) as [string, string, string, string, string];
    pads = fresh('pads');
    outer.push(mk('Shape', [rest[n]!], [full], { start: attrInt(1), end: attrInt(2) }));
    nodes.push(
      mk('Gather', [lens, iter], [len], { axis: attrInt(0) }),
      mk('Cast', [len], [len64], { to: attrInt(7) }),
      mk('Unsqueeze', [len64, axis0], [len1]),
      mk('Sub', [full, len1], [padLen]),
      mk('Concat', [zero1, padLen], [pads], { axis: attrInt(0) }),
    );
    for (let j = 0; j < m; j++) {
      const cut = fresh('cut');
      nodes.push(mk('Slice', [picked[n + j]!, zero1, len1, axis0], [cut]));
      picked[n + j] = cut;
    }
  }
  const innerOuts = node.outputs.map((name) => fresh(`${name || 'unused'}_entry`));
  nodes.push(mk('Scan', picked, innerOuts, {
    body, num_scan_inputs: attrInt(m),
    scan_input_axes: attrInts(new Array<number>(m).fill(0)), scan_input_directions: attrInts(directions),
    scan_output_axes: attrInts(new Array<number>(k).fill(0)), scan_output_directions: attrInts(new Array<number>(k).fill(0)),
  }));
  const bodyOuts = innerOuts.map((name, i) => {
    if (pads === undefined || i < n) return name;
    const padded = fresh('padded');
    nodes.push(mk('Pad', [name, pads, '', axis0], [padded], { mode: { kind: 'string', value: 'constant' } }));
    return padded;
  });
  const loopBody: Graph = {
    name: `${node.name}_per_batch_entry`,
    inputs: [iter, condIn],
    outputs: [condOut, ...bodyOuts],
    nodes,
    initializers: new Map(),
    types: new Map<string, ValueType>([[iter, tensorOf('int64', [])], [condIn, tensorOf('bool', [])]]),
  };
  const shape = fresh('shape');
  const batch = fresh('batch');
  const zero = ctx.constant(scalar('int64', 0n), `${node.name}_zero`);
  return [
    ...outer,
    mk('Shape', [rest[0]!], [shape]),
    mk('Gather', [shape, zero], [batch], { axis: attrInt(0) }),
    { name: node.name, op: 'Loop', inputs: [batch, ''], outputs: [...node.outputs], attrs: { body: attrGraph(loopBody) } },
  ];
}

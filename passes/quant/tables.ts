// How the quantisation passes store each embedding table (Gather of a constant). An embedding row goes into every
// token's residual stream as it is, where a MatMul's weight error is damped by its branch, so tables take more bits
// than the MatMuls: measured on bert-tiny (4096 token rows), int8 rows of the 128-row position table alone cost 0.6%
// of argmax agreement and int4 blocks of the word table 5.5%, against 1.4% for every MatMul at int4.
//   - small tables (at most 1/16 of the graph's float32 weight elements: positions, token types) are read by every
//     token and cost little: float16 values (2 bytes, error <= 2^-11 of each weight);
//   - 8-bit modes: int8 per row;
//   - 4-bit mode: int8 per row while the table holds at most 1/4 of the weights (the extra 4 bits then
//     add at most ~1/4 to the size), int4 blocks when a vocabulary dominates the model.
// Option quant-tables=auto|int8|int4|float16 forces one form for every table (auto: the rules above); items
// TABLE=FORM (comma-separated, with or without such a form) set one table's form, e.g.
// quant-tables=embeddings.position_embeddings.weight=int8.

import { UsageError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import type { PassContext } from '../pass.js';
import type { WeightUse } from './quant-graph.js';

export type TableForm = 'float16' | 'int8' | 'int4';

const SMALL = 1 / 16, INT8_IN_4BIT = 1 / 4;
const FORMS = ['auto', 'int8', 'int4', 'float16'];

/** The form of every Gather table among `uses` (weights read by other ops are not tables). */
export function tableForms(g: Graph, uses: ReadonlyMap<string, readonly WeightUse[]>, bits: 8 | 4, ctx: PassContext): Map<string, TableForm> {
  // a form for every table, or TABLE=FORM items for some (the rest: auto)
  const items = (ctx.options.get('quant-tables') ?? 'auto').split(',').map((x) => x.trim()).filter(Boolean);
  let all = 'auto';
  const named = new Map<string, TableForm>();
  for (const it of items) {
    const eq = it.lastIndexOf('='), form = eq < 0 ? it : it.slice(eq + 1);
    if (!FORMS.includes(form)) throw new UsageError(`option quant-tables=${it}: expected auto, int8, int4 or float16 (or TABLE=FORM)`);
    if (eq < 0) all = form;
    else if (form !== 'auto') named.set(it.slice(0, eq), form as TableForm);
  }
  // the share of every float32 weight of the graph, so excluding some layers does not change a table's form
  let total = 0;
  for (const t of g.initializers.values()) if (t.dtype === 'float32') total += t.data.length;
  const out = new Map<string, TableForm>();
  for (const [w, us] of uses) {
    if (us[0]!.node.op !== 'Gather') continue;
    const forced = named.get(w) ?? (all !== 'auto' ? all as TableForm : undefined);
    if (forced) { out.set(w, forced); continue; }
    const share = g.initializers.get(w)!.data.length / total;
    out.set(w, share <= SMALL && share < 1 ? 'float16' : bits === 8 || share <= INT8_IN_4BIT ? 'int8' : 'int4');
  }
  return out;
}

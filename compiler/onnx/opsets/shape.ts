// Opset rewrites of the shape and indexing ops: attributes that later opsets turned into inputs (Reshape's shape,
// Squeeze/Unsqueeze axes, Slice's starts/ends/axes, Pad's pads and value, Split's split, TopK's k), Concat-1's
// default axis, and Tile-1, which is refused.

import { UnsupportedOpError } from '../../../ir/errors.js';
import { attrToInput, dropAttrs, setInput, type OpsetRewrite } from './common.js';

/** A rewrite that moves attribute `name` into input `index` for opsets before `since`. */
const toInputBefore = (since: number, name: string, index: number): OpsetRewrite => (node, ctx) => {
  if (ctx.opset < since) attrToInput(node, ctx, name, index);
  return [node];
};

const reshape: OpsetRewrite = (node, ctx) => {
  const n = dropAttrs(node, 'consumed_inputs');
  if (ctx.opset < 5) attrToInput(n, ctx, 'shape', 1);
  return [n];
};

const slice: OpsetRewrite = (node, ctx) => {
  if (ctx.opset < 10) {
    attrToInput(node, ctx, 'starts', 1);
    attrToInput(node, ctx, 'ends', 2);
    attrToInput(node, ctx, 'axes', 3);
  }
  return [node];
};

const pad: OpsetRewrite = (node, ctx) => {
  if (ctx.opset >= 11) return [node];
  // Pad-1 called pads `paddings`; until 11 pads and the fill value were attributes
  if (node.attrs['paddings'] !== undefined) { node.attrs['pads'] = node.attrs['paddings']!; delete node.attrs['paddings']; }
  attrToInput(node, ctx, 'pads', 1);
  const v = node.attrs['value'];
  delete node.attrs['value'];
  // the data's type is unknown here: a float32 scalar is cast to it at run time
  if (v !== undefined && v.kind === 'float' && v.value !== 0) {
    setInput(node, 2, ctx.constant({ dtype: 'float32', dims: [], data: new Float32Array([v.value]) }, `${node.name}_value`));
  }
  return [node];
};

export const shapeRewrites: Readonly<Record<string, OpsetRewrite>> = {
  Reshape: reshape,
  Squeeze: toInputBefore(13, 'axes', 1),
  Unsqueeze: toInputBefore(13, 'axes', 1),
  Split: toInputBefore(13, 'split', 1),
  TopK: toInputBefore(10, 'k', 1),
  Slice: slice,
  Pad: pad,
  Concat(node, ctx) {
    // Concat-1 defaulted axis to 1
    if (ctx.opset < 4 && node.attrs['axis'] === undefined) node.attrs['axis'] = { kind: 'int', value: 1 };
    return [node];
  },
  Tile(node, ctx) {
    if (ctx.opset < 6) throw new UnsupportedOpError('Tile-1 (tiles and axis inputs) is not supported; re-export with opset >= 6');
    return [node];
  },
};

// Turning a node's tagged IR attributes into the plain typed values an op's infer/run receive.

import type { Attr, Node } from '../ir/graph.js';
import type { AnyOpDef, AttrSchema, AttrsOf } from './schema.js';

const cache = new WeakMap<Node, AttrsOf<AttrSchema>>();

/** Plain attribute values of `node` per `def.attrs` (cached per node object). Absent optional ones are undefined. */
export function plainAttrs(def: AnyOpDef, node: Node): AttrsOf<AttrSchema> {
  let a = cache.get(node);
  if (a === undefined) {
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(def.attrs)) {
      const v = node.attrs[name];
      out[name] = v !== undefined ? v.value : spec.default;
    }
    a = out as AttrsOf<AttrSchema>;
    cache.set(node, a);
  }
  return a;
}

/** The schema defaults as tagged attributes, for the attributes `attrs` lacks. */
export function withDefaults(def: AnyOpDef, attrs: Readonly<Record<string, Attr>>): Record<string, Attr> {
  const out: Record<string, Attr> = { ...attrs };
  for (const [name, spec] of Object.entries(def.attrs)) {
    if (out[name] === undefined && spec.default !== undefined) out[name] = { kind: spec.kind, value: spec.default } as Attr;
  }
  return out;
}

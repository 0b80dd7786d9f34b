// Run one op through its inference and reference semantics, checking that the values it computes have the
// dtypes and shapes its inference promised. For op unit tests.

import { expect } from 'vitest';
import type { Attr, Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { isTensor } from '../../ir/value.js';
import { getOp } from '../../ops/index.js';
import { plainAttrs as nodeAttrs, withDefaults } from '../../ops/attrs.js';
import type { AnyOpDef, AttrSchema, AttrsOf } from '../../ops/schema.js';

/** Fill defaults from the op's schema (what the importer does). */
export const completeAttrs = withDefaults;

/** Plain attribute values for `def` from tagged attributes (defaults not filled). */
export function plainAttrs(def: AnyOpDef, attrs: Record<string, Attr>): AttrsOf<AttrSchema> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.attrs)) out[name] = attrs[name]?.value;
  return out as AttrsOf<AttrSchema>;
}

export function typeOf(v: RuntimeValue): ValueType {
  if (isTensor(v)) return { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] };
  if (v.kind === 'sequence') return { kind: 'sequence', elem: v.elemType };
  return { kind: 'optional', elem: v.elemType };
}

/** Infer and run `op` on constant inputs (undefined = omitted optional input). Returns the outputs and the
 *  inferred types; asserts each output's dtype and static dims agree with inference. */
export function runOp(
  op: string,
  inputs: readonly (RuntimeValue | undefined)[],
  attrs: Record<string, Attr> = {},
  numOutputs?: number,
): { outputs: RuntimeValue[]; types: ValueType[] } {
  const def = getOp(op);
  if (!def) throw new Error(`no op ${op}`);
  const full = completeAttrs(def, attrs);
  const n = numOutputs ?? def.outputs[0];
  const node: Node = {
    name: `test_${op}`, op,
    inputs: inputs.map((v, i) => (v === undefined ? '' : `in${i}`)),
    outputs: Array.from({ length: n }, (_, i) => `out${i}`),
    attrs: full,
  };
  const a = nodeAttrs(def, node);
  const types = def.infer({
    node, attrs: a, inputs: inputs.map((v) => (v === undefined ? undefined : typeOf(v))),
    constant: (i) => { const v = inputs[i]; return v !== undefined && isTensor(v) ? v : undefined; },
    shapeValue: (i) => { const v = inputs[i]; return v !== undefined && isTensor(v) && v.dims.length <= 1 && v.dtype !== 'string' ? Array.from(v.data as ArrayLike<number | bigint>, Number) : undefined; },
    numOutputs: n,
    inferSubgraph: () => { throw new Error('runOp: subgraphs need the interpreter'); },
    freshDim: (hint) => `?${hint ?? 'd'}`,
  });
  const outputs = def.run({
    node, attrs: a, inputs, numOutputs: n, outputTypes: types,
    runSubgraph: (_g: Graph) => { throw new Error('runOp: subgraphs need the interpreter'); },
  });
  for (let i = 0; i < Math.min(outputs.length, types.length); i++) {
    const t = types[i]!; const v = outputs[i]!;
    if (t.kind === 'tensor' && isTensor(v)) {
      expect(v.dtype, `output ${i} dtype`).toBe(t.dtype);
      if (t.shape) {
        expect(v.dims.length, `output ${i} rank`).toBe(t.shape.length);
        t.shape.forEach((d, k) => { if (typeof d === 'number') expect(v.dims[k], `output ${i} dim ${k}`).toBe(d); });
      }
    }
  }
  return { outputs, types };
}

/** Output i as a tensor. */
export function out(r: { outputs: RuntimeValue[] }, i = 0): Tensor {
  const v = r.outputs[i];
  if (!v || !isTensor(v)) throw new Error(`output ${i} is not a tensor`);
  return v;
}

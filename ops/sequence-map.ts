// SequenceMap: run a body graph once per sequence position; the i-th run sees element i of every sequence
// input and the whole of every tensor input, and its outputs become element i of the output sequences.

import { KernelError, ShapeError } from '../ir/errors.js';
import type { ValueType } from '../ir/types.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { attr, defineOp } from './schema.js';
import type { AnyOpDef } from './schema.js';
import { makeSequence, seqInType, typeOfValue } from './sequence-types.js';

export const SequenceMap = defineOp({
  op: 'SequenceMap',
  attrs: { body: attr.graph.required() },
  inputs: [1, Infinity],
  outputs: [1, Infinity],
  infer(ctx) {
    seqInType(ctx, 0);
    const body = ctx.attrs.body;
    if (body.inputs.length !== ctx.inputs.length) {
      throw new ShapeError(`body takes ${body.inputs.length} inputs, SequenceMap has ${ctx.inputs.length}`);
    }
    if (body.outputs.length !== ctx.numOutputs) {
      throw new ShapeError(`body has ${body.outputs.length} outputs, SequenceMap has ${ctx.numOutputs}`);
    }
    const argTypes = ctx.inputs.map((t, i): ValueType => {
      if (t === undefined) throw new ShapeError(`input ${i} is required`);
      return t.kind === 'sequence' ? t.elem : t;
    });
    return ctx.inferSubgraph(body, argTypes).map((elem): ValueType => ({ kind: 'sequence', elem }));
  },
  run(ctx) {
    const ins = ctx.inputs.map((v, i) => {
      if (v === undefined) throw new KernelError(`input ${i} is required`);
      return v;
    });
    const first = ins[0]!;
    if (isTensor(first) || first.kind !== 'sequence') throw new KernelError('input 0 must be a sequence');
    const n = first.items.length;
    for (const v of ins) {
      if (!isTensor(v) && v.kind === 'sequence' && v.items.length !== n) {
        throw new KernelError(`sequence inputs have different lengths: ${v.items.length} and ${n}`);
      }
    }
    const results: RuntimeValue[][] = Array.from({ length: ctx.numOutputs }, () => []);
    for (let i = 0; i < n; i++) {
      const args = ins.map((v) => (!isTensor(v) && v.kind === 'sequence' ? v.items[i]! : v));
      const outs = ctx.runSubgraph(ctx.attrs.body, args);
      outs.forEach((o, k) => results[k]?.push(o));
    }
    return results.map((items, k) => {
      const t = ctx.outputTypes[k];
      const elemType = t?.kind === 'sequence' ? t.elem : items.length ? typeOfValue(items[0]!) : undefined;
      if (elemType === undefined) throw new KernelError(`cannot type empty output sequence ${k}`);
      return makeSequence(elemType, items);
    });
  },
});

export const sequenceMapOps: AnyOpDef[] = [SequenceMap] as AnyOpDef[];

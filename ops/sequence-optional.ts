// Optional ops: wrapping a value (or nothing) as an optional, testing it, and unwrapping it. Since opset 18
// OptionalHasElement/OptionalGetElement also accept a plain tensor or sequence, which counts as present.

import { KernelError, ShapeError } from '../ir/errors.js';
import { scalar } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { attr, defineOp } from './schema.js';
import type { AnyOpDef } from './schema.js';
import { tensorOf } from './util.js';
import { typeOfValue } from './sequence-types.js';

export const Optional = defineOp({
  op: 'Optional',
  attrs: { type: attr.type() },
  inputs: [0, 1],
  outputs: [1, 1],
  infer(ctx) {
    const given = ctx.inputs[0];
    if (given !== undefined) {
      if (given.kind === 'optional') throw new ShapeError('Optional cannot wrap an optional');
      return [{ kind: 'optional', elem: given }];
    }
    if (ctx.attrs.type === undefined) throw new ShapeError('Optional with no input needs the type attribute');
    return [{ kind: 'optional', elem: ctx.attrs.type }];
  },
  run(ctx) {
    const v = ctx.inputs[0];
    const t = ctx.outputTypes[0];
    const elemType = t?.kind === 'optional' ? t.elem : v !== undefined ? typeOfValue(v) : ctx.attrs.type;
    if (elemType === undefined) throw new KernelError('Optional with no input needs the type attribute');
    return [{ kind: 'optional', elemType, value: v }];
  },
});

export const OptionalHasElement = defineOp({
  op: 'OptionalHasElement',
  attrs: {},
  inputs: [0, 1],
  outputs: [1, 1],
  infer: () => [tensorOf('bool', [])],
  run(ctx) {
    const v: RuntimeValue | undefined = ctx.inputs[0];
    const has = v !== undefined && (isTensor(v) || v.kind !== 'optional' || v.value !== undefined);
    return [scalar('bool', has)];
  },
});

export const OptionalGetElement = defineOp({
  op: 'OptionalGetElement',
  attrs: {},
  inputs: [1, 1],
  outputs: [1, 1],
  infer(ctx) {
    const t = ctx.inputs[0];
    if (t === undefined) throw new ShapeError('input 0 is required');
    return [t.kind === 'optional' ? t.elem : t];
  },
  run(ctx) {
    const v = ctx.inputs[0];
    if (v === undefined) throw new KernelError('input 0 is required');
    if (isTensor(v) || v.kind !== 'optional') return [v];
    if (v.value === undefined) throw new KernelError('OptionalGetElement of an empty optional');
    return [v.value];
  },
});

export const optionalOps: AnyOpDef[] = [Optional, OptionalHasElement, OptionalGetElement] as AnyOpDef[];

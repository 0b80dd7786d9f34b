// Opset rewrites of the elementwise family: opset 1-5's `consumed_inputs`, opset 1-6's `broadcast`/`axis` binary
// form, Selu-1's defaults, PRelu's per-channel slope, Cast's type names and Clip's bound attributes.

import { OnnxImportError } from '../../../ir/errors.js';
import type { DType } from '../../../ir/dtype.js';
import { onnxCode } from '../../../ir/dtype.js';
import type { Attr } from '../../../ir/graph.js';
import { scalar } from '../../../ir/tensor.js';
import type { ImportNode } from '../../../ops/schema.js';
import { alignAt, legacyBroadcast } from './broadcast.js';
import { dropAttrs, dropConsumedInputs, type OpsetRewrite } from './common.js';

/** The unary and variadic elementwise ops: `consumed_inputs` (opsets 1-5 gave it to some) is dropped on all. */
const DROP_CONSUMED_INPUTS = [
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BitwiseNot', 'Ceil', 'Celu', 'Cos', 'Cosh', 'Elu', 'Erf',
  'Exp', 'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'IsInf', 'IsNaN', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min',
  'Mish', 'Neg', 'Not', 'Reciprocal', 'Relu', 'Round', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus',
  'Softsign', 'Sqrt', 'Sum', 'Swish', 'Tan', 'Tanh', 'ThresholdedRelu',
] as const;

/** Binary ops that had opset 1-6's `broadcast`/`axis` form. */
const LEGACY_BROADCAST = ['Add', 'And', 'Div', 'Equal', 'Greater', 'Less', 'Mul', 'Or', 'Pow', 'Sub', 'Xor'] as const;

const selu: OpsetRewrite = (node, ctx) => {
  const n = dropAttrs(node, 'consumed_inputs');
  // Selu-1 documented its defaults with four decimals
  if (ctx.opset < 6) {
    n.attrs['alpha'] ??= { kind: 'float', value: 1.6732 };
    n.attrs['gamma'] ??= { kind: 'float', value: 1.0507 };
  }
  return [n];
};

const prelu: OpsetRewrite = (node, ctx) => {
  const base = dropAttrs(node, 'consumed_inputs');
  if (ctx.opset >= 7) return [base];
  // before opset 7 a 1-D slope was per channel (dim 1 of X), not numpy-aligned with X's last dim
  const { nodes, value } = alignAt(node.inputs[0]!, node.inputs[1]!, 1, node.name, ctx);
  return [...nodes, { ...base, inputs: [node.inputs[0]!, value] }];
};

/** Opset 1-5 Cast named the target type as a string ('FLOAT', 'INT64', ...). */
const CAST_TYPE_NAMES: Record<string, DType> = {
  FLOAT: 'float32', FLOAT16: 'float16', BFLOAT16: 'bfloat16', DOUBLE: 'float64', INT8: 'int8', INT16: 'int16',
  INT32: 'int32', INT64: 'int64', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool',
  STRING: 'string',
};

const cast: OpsetRewrite = (node) => {
  const to = node.attrs['to'];
  if (to?.kind !== 'string') return [node];
  const d = CAST_TYPE_NAMES[to.value.toUpperCase()];
  if (d === undefined) throw new OnnxImportError(`Cast: unknown type name '${to.value}'`, { node: node.name, op: 'Cast' });
  return [{ ...node, attrs: { ...node.attrs, to: { kind: 'int', value: onnxCode(d) } } }];
};

const FLT_MAX = 3.4028234663852886e38;

/** Before opset 11 Clip's bounds were float attributes (default ±FLT_MAX); now they are inputs of the data's type. */
const clip: OpsetRewrite = (node, ctx) => {
  if (!('min' in node.attrs) && !('max' in node.attrs) && !('consumed_inputs' in node.attrs) && ctx.opset >= 11) return [node];
  const base = dropAttrs(node, 'min', 'max', 'consumed_inputs');
  if (ctx.opset >= 11) return [base];
  // CastLike gives the bounds the input's type, which is unknown at import.
  const value = (name: string, dflt: number): number => {
    const a: Attr | undefined = node.attrs[name];
    return a !== undefined && (a.kind === 'float' || a.kind === 'int') ? a.value : dflt;
  };
  const x = node.inputs[0]!;
  const castLike = (name: string, v: number): ImportNode => ({
    name: ctx.freshName(`${node.name}_${name}`), op: 'CastLike',
    inputs: [ctx.constant(scalar('float32', v), `${node.name}_${name}`), x],
    outputs: [ctx.freshName(`${node.name}_${name}`)], attrs: {},
  });
  const lo = castLike('min', value('min', -FLT_MAX));
  const hi = castLike('max', value('max', FLT_MAX));
  return [lo, hi, { ...base, inputs: [x, lo.outputs[0]!, hi.outputs[0]!] }];
};

export const elementwiseRewrites: Readonly<Record<string, OpsetRewrite>> = {
  ...Object.fromEntries(DROP_CONSUMED_INPUTS.map((op) => [op, dropConsumedInputs])),
  ...Object.fromEntries(LEGACY_BROADCAST.map((op) => [op, legacyBroadcast])),
  Selu: selu,
  PRelu: prelu,
  Cast: cast,
  Clip: clip,
};

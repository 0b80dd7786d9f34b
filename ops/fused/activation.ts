// Activation epilogues of onnxc's fused ops: which activations a fused node may end with, their parameters, and the
// standard op each one is (`standardActivation`), which the reference (the ops' own `run`, so epilogue fusion is
// exact), the export form and backends' epilogues all read.

import { ShapeError, assertNever } from '../../ir/errors.js';
import type { Attr, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { scalar } from '../../ir/tensor.js';
import { plainAttrs, withDefaults } from '../attrs.js';
import { getOp } from '../index.js';
import type { ImportNode, LegacyContext } from '../schema.js';

/** '' is none. SiLU is x * Sigmoid(x) with the sigmoid rounded first, as the Sigmoid -> Mul pair computes it. */
export const ACTIVATIONS = ['', 'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Gelu', 'GeluTanh', 'SiLU'] as const;
export type Activation = typeof ACTIVATIONS[number];

/** Parameters each activation takes, in `activation_params` order. */
const PARAM_COUNT: Record<Activation, number> = {
  '': 0, Relu: 0, LeakyRelu: 1, Clip: 2, Sigmoid: 0, HardSigmoid: 2, HardSwish: 0, Tanh: 0, Gelu: 0, GeluTanh: 0, SiLU: 0,
};

/** The attribute schema fragment every fused op with an epilogue shares. */
export function parseActivation(name: string, params: readonly number[]): Activation {
  const act = ACTIVATIONS.find((a) => a === name);
  if (act === undefined) throw new ShapeError(`activation '${name}' is not one of ${ACTIVATIONS.filter((a) => a !== '').join(', ')} (or '')`);
  if (params.length !== PARAM_COUNT[act]) throw new ShapeError(`activation '${name}' takes ${PARAM_COUNT[act]} activation_params, got ${params.length}`);
  return act;
}

/** The standard op an activation is, with its attributes and constant operands (SiLU is two: Sigmoid, then Mul
 *  by x). Every consumer reads this one mapping: the reference below, the export form, a backend's epilogue. */
export interface StandardActivation {
  readonly op: string;
  readonly attrs: Readonly<Record<string, Attr>>;
  /** Operands after x (Clip's bounds), as numbers of x's element type. */
  readonly consts: readonly number[];
}

export function standardActivation(act: Exclude<Activation, '' | 'SiLU'>, p: readonly number[]): StandardActivation {
  const f = (v: number): Attr => ({ kind: 'float', value: v });
  switch (act) {
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': return { op: act, attrs: {}, consts: [] };
    case 'LeakyRelu': return { op: act, attrs: { alpha: f(p[0]!) }, consts: [] };
    case 'HardSigmoid': return { op: act, attrs: { alpha: f(p[0]!), beta: f(p[1]!) }, consts: [] };
    case 'Gelu': return { op: 'Gelu', attrs: { approximate: { kind: 'string', value: 'none' } }, consts: [] };
    case 'GeluTanh': return { op: 'Gelu', attrs: { approximate: { kind: 'string', value: 'tanh' } }, consts: [] };
    case 'Clip': return { op: 'Clip', attrs: {}, consts: [p[0]!, p[1]!] };
    default: return assertNever(act, 'activation');
  }
}

/** One standard op's own reference `run` on these inputs (attributes completed with the op's defaults). */
function runStandard(op: string, attrs: Readonly<Record<string, Attr>>, inputs: readonly Tensor[]): Tensor {
  const def = getOp(op)!;
  const node: Node = { name: `activation_${op}`, op, inputs: inputs.map((_, i) => `in${i}`), outputs: ['out'], attrs: withDefaults(def, attrs) };
  const out = def.run({
    node, attrs: plainAttrs(def, node), inputs, numOutputs: 1, outputTypes: [undefined],
    runSubgraph: () => { throw new Error('activations have no subgraphs'); },
  });
  return out[0] as Tensor;
}

/** Apply the activation to a tensor already rounded to its type, by the standard ops' own `run`: the fused node
 *  computes exactly what its unfused chain computes. */
export function applyActivation(x: Tensor, act: Activation, p: readonly number[]): Tensor {
  if (act === '') return x;
  if (act === 'SiLU') return runStandard('Mul', {}, [x, runStandard('Sigmoid', {}, [x])]);
  const s = standardActivation(act, p);
  return runStandard(s.op, s.attrs, [x, ...s.consts.map((v) => scalar(x.dtype, v))]);
}

/** Standard nodes computing the activation of `x` into `out`. */
export function activationNodes(act: Activation, p: readonly number[], x: string, out: string, hint: string, ctx: LegacyContext): ImportNode[] {
  const node = (op: string, inputs: string[], output: string, attrs: ImportNode['attrs'] = {}): ImportNode =>
    ({ name: ctx.freshName(`${hint}_${op}`), op, inputs, outputs: [output], attrs });
  switch (act) {
    case '': return [node('Identity', [x], out)];
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': case 'LeakyRelu': case 'HardSigmoid': case 'Gelu': case 'GeluTanh': {
      const s = standardActivation(act, p);
      return [node(s.op, [x], out, { ...s.attrs })];
    }
    case 'Clip': {
      // The bounds are float32 numbers; CastLike gives them x's element type, which the node does not record.
      const bound = (v: number, which: string): [ImportNode, string] => {
        const name = ctx.freshName(`${hint}_${which}`);
        return [node('CastLike', [ctx.constant(scalar('float32', v), `${hint}_${which}_f32`), x], name), name];
      };
      const [lo, loName] = bound(p[0]!, 'min');
      const [hi, hiName] = bound(p[1]!, 'max');
      return [lo, hi, node('Clip', [x, loName, hiName], out)];
    }
    case 'SiLU': {
      const s = ctx.freshName(`${hint}_sigmoid`);
      return [node('Sigmoid', [x], s), node('Mul', [x, s], out)];
    }
    default: return assertNever(act, 'activation');
  }
}

// Activation epilogues of onnxc's fused ops: which activations a fused node may end with, their parameters, the
// reference kernel (rounding to the element type exactly where the unfused standard ops round, so epilogue fusion
// is exact), and the standard ops they decompose into for export.

import { ShapeError, assertNever } from '../../ir/errors.js';
import type { Tensor } from '../../ir/tensor.js';
import { scalar } from '../../ir/tensor.js';
import type { ImportNode, LegacyContext } from '../schema.js';
import { mapBinary, mapUnary, type Elem } from '../elementwise-kernel.js';
import { erf } from '../elementwise-unary.js';

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

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Apply the activation to a tensor already rounded to its type; each standard op's single rounding is kept. */
export function applyActivation(x: Tensor, act: Activation, p: readonly number[]): Tensor {
  const un = (f: (v: number) => number): Tensor => mapUnary(x, x.dtype, f as (v: Elem) => Elem);
  switch (act) {
    case '': return x;
    case 'Relu': return un((v) => (v < 0 ? 0 : v));
    case 'LeakyRelu': return un((v) => (v < 0 ? p[0]! * v : v));
    case 'Clip': return un((v) => { let r = v; if (r < p[0]!) r = p[0]!; if (r > p[1]!) r = p[1]!; return r; });
    case 'Sigmoid': return un(sigmoid);
    case 'HardSigmoid': return un((v) => Math.max(0, Math.min(1, p[0]! * v + p[1]!)));
    case 'HardSwish': return un((v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)));
    case 'Tanh': return un(Math.tanh);
    case 'Gelu': return un((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    case 'GeluTanh': return un((v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))));
    case 'SiLU': return mapBinary(x, un(sigmoid), x.dtype, (a, b) => (a as number) * (b as number));
    default: return assertNever(act, 'activation');
  }
}

/** Standard nodes computing the activation of `x` into `out`. */
export function activationNodes(act: Activation, p: readonly number[], x: string, out: string, hint: string, ctx: LegacyContext): ImportNode[] {
  const node = (op: string, inputs: string[], output: string, attrs: ImportNode['attrs'] = {}): ImportNode =>
    ({ name: ctx.freshName(`${hint}_${op}`), op, inputs, outputs: [output], attrs });
  const f = (v: number) => ({ kind: 'float' as const, value: v });
  switch (act) {
    case '': return [node('Identity', [x], out)];
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': return [node(act, [x], out)];
    case 'LeakyRelu': return [node(act, [x], out, { alpha: f(p[0]!) })];
    case 'HardSigmoid': return [node(act, [x], out, { alpha: f(p[0]!), beta: f(p[1]!) })];
    case 'Gelu': return [node('Gelu', [x], out, { approximate: { kind: 'string', value: 'none' } })];
    case 'GeluTanh': return [node('Gelu', [x], out, { approximate: { kind: 'string', value: 'tanh' } })];
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

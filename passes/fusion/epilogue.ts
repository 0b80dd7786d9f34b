// fuse-conv-epilogue: Conv -> [Add residual] -> [activation] becomes one onnxc.FusedConv (and
// fuse-convtranspose-epilogue: ConvTranspose -> ... one onnxc.FusedConvTranspose). Exact: FusedConv's
// reference rounds where the unfused Conv, Add and activation each round (ops/fused/conv.ts).
// Activations: Relu, LeakyRelu, Clip (constant bounds, e.g. Relu6), Sigmoid, HardSigmoid, HardSwish, Tanh, Gelu
// (both forms; run fuse-gelu first to catch the decomposed ones) and x * Sigmoid(x) (SiLU/Swish as exported).

import type { Attr, Node } from '../../ir/graph.js';
import { sameType } from '../../ir/types.js';
import { withDefaults } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import type { Activation } from '../../ops/fused/activation.js';
import { EXACT, definePass } from '../pass.js';
import { GraphIndex, otherOperand } from './match.js';
import { applyRules, type Rule } from './rewrite.js';

interface ActMatch { readonly nodes: Node[]; readonly act: Activation; readonly params: number[]; readonly out: string }

const float = (a: Attr | undefined, dflt: number): number => (a?.kind === 'float' ? a.value : dflt);

/** The activation reading `v` (single-use, or the Sigmoid/Mul pair of SiLU), if it is one the epilogue can hold. */
export function matchActivation(ix: GraphIndex, v: string): ActMatch | undefined {
  const readers = ix.readers.get(v) ?? [];
  if (ix.outputs.has(v)) return undefined;
  if (readers.length === 2) {
    // x * Sigmoid(x): v feeds a Sigmoid and the Mul that reads the sigmoid
    const sig = readers.find((n) => n.op === 'Sigmoid');
    const mul = readers.find((n) => n.op === 'Mul');
    if (sig && mul && ix.singleUse(sig.outputs[0]!) && otherOperand(mul, v) === sig.outputs[0]) {
      return { nodes: [sig, mul], act: 'SiLU', params: [], out: mul.outputs[0]! };
    }
    return undefined;
  }
  const n = ix.soleReader(v);
  if (!n) return undefined;
  const one = (act: Activation, params: number[] = []): ActMatch => ({ nodes: [n], act, params, out: n.outputs[0]! });
  switch (n.op) {
    case 'Relu': case 'Sigmoid': case 'HardSwish': case 'Tanh': return one(n.op);
    case 'LeakyRelu': return one('LeakyRelu', [float(n.attrs['alpha'], 0.01)]);
    case 'HardSigmoid': return one('HardSigmoid', [float(n.attrs['alpha'], 0.2), float(n.attrs['beta'], 0.5)]);
    case 'Gelu': return one(n.attrs['approximate']?.value === 'tanh' ? 'GeluTanh' : 'Gelu');
    case 'Clip': {
      // Bounds must be constants (a run-time bound cannot live in an attribute); float32/16 so the attr holds them exactly.
      const bound = (i: number, dflt: number): number | undefined => {
        const name = n.inputs[i];
        if (!name) return dflt;
        const t = ix.constant(name);
        return t && ['float32', 'float16', 'bfloat16'].includes(t.dtype) && t.data.length === 1 ? ix.scalar(name) : undefined;
      };
      const lo = bound(1, -Infinity); const hi = bound(2, Infinity);
      return lo === undefined || hi === undefined ? undefined : one('Clip', [lo, hi]);
    }
    default: return undefined;
  }
}

/** Conv or ConvTranspose -> [Add residual of Y's shape] -> [activation] as `fusedOp`; undefined when nothing joins. */
function epilogueRule(baseOp: 'Conv' | 'ConvTranspose', fusedOp: string): Rule {
  return (conv, { index: ix }) => {
    if (conv.op !== baseOp) return undefined;
    const y = conv.outputs[0]!;
    const yType = ix.graph.types.get(y);
    if (!yType || yType.kind !== 'tensor' || !ix.singleUse(y) && !matchActivation(ix, y)) return undefined;
    const group: Node[] = [conv];
    let v = y;
    let z: string | undefined;
    const add = ix.soleReader(y);
    if (add?.op === 'Add') {
      const other = otherOperand(add, y)!;
      const t = ix.graph.types.get(add.outputs[0]!);
      // Z may not broadcast Y up (then the Add is not an epilogue of this conv)
      if (t && sameType(t, yType)) { z = other; group.push(add); v = add.outputs[0]!; }
    }
    const act = matchActivation(ix, v);
    if (act) group.push(...act.nodes);
    if (group.length === 1) return undefined;
    const out = act ? act.out : v;
    const def = getOp(fusedOp)!;
    const attrs = withDefaults(def, {
      ...conv.attrs,
      activation: { kind: 'string', value: act?.act ?? '' },
      activation_params: { kind: 'floats', value: act?.params ?? [] },
    });
    const inputs = [conv.inputs[0]!, conv.inputs[1]!, conv.inputs[2] ?? '', ...(z ? [z] : [])];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    return { remove: new Set(group), replacement: { name: conv.name, op: fusedOp, inputs, outputs: [out], attrs } };
  };
}

const convEpilogue = epilogueRule('Conv', 'onnxc.FusedConv');
const convTransposeEpilogue = epilogueRule('ConvTranspose', 'onnxc.FusedConvTranspose');

export const fuseConvEpilogue = definePass({
  name: 'fuse-conv-epilogue',
  summary: 'fold a residual Add and an activation after a Conv into one onnxc.FusedConv',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph) => applyRules(graph, [convEpilogue]),
});

/** A separate pass so -O3 can leave ConvTranspose to layout-nhwc (channels-last beats the fused epilogue there),
 *  and so a backend without onnxc.FusedConvTranspose (ctx.supportedOps) never gets one. */
export const fuseConvTransposeEpilogue = definePass({
  name: 'fuse-convtranspose-epilogue',
  summary: 'fold a residual Add and an activation after a ConvTranspose into one onnxc.FusedConvTranspose',
  requires: ['typed'],
  properties: { semantics: EXACT, idempotent: true },
  run: (graph, ctx) => (ctx.supportedOps && !ctx.supportedOps.has('onnxc.FusedConvTranspose') ? graph : applyRules(graph, [convTransposeEpilogue])),
});

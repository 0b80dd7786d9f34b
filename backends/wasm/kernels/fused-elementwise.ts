// onnxc.FusedElementwise: the node's program (ops/fused/elementwise.ts) evaluated per element as one f32x4 loop
// on the elementwise engine (broadcast loop nest, scalar tail through the same formula): each input is loaded
// once, each step lands in a register, only the last is stored. Each step is its op's f32x4 formula from the one
// table the standalone kernels use (elementwise-ops.ts FORMULAS).

import binaryen from '../binaryen.js';
import type { Refusal } from '../../../lowering/protocol.js';
import { parseProgram, type Step } from '../../../ops/fused/elementwise.js';
import type { Expr, Fn } from '../fn.js';
import { elementwise } from './elementwise.js';
import { vectorFormula, type FormulaContext } from './elementwise-ops.js';
import type { KernelContext, KernelGen, PlanContext } from './types.js';
import { unsupported } from './util.js';

type Get = () => Expr;

/** What a step's formula sees: the node inputs it reads (a constant exponent, say); steps are attribute-free. */
function stepContext(ctx: PlanContext, s: Step): FormulaContext {
  return { attrs: {}, inputs: s.args.map((a) => (a.kind === 'input' ? ctx.inputs[a.index] : undefined)) };
}

/** The first step whose op has no f32x4 formula: the driver decomposes such a node before lowering. */
function refuse(ctx: PlanContext): Refusal | undefined {
  for (const s of parseProgram(ctx.attrs['program'] as string[], ctx.inputs.length)) {
    if (!vectorFormula(s.op, stepContext(ctx, s))) {
      return { reason: 'form', detail: `the wasm backend has no f32x4 formula for onnxc.FusedElementwise step '${s.op}'` };
    }
  }
  return undefined;
}

function program(ctx: KernelContext): (fn: Fn, a: readonly Get[]) => Expr {
  const steps: Step[] = parseProgram(ctx.attrs['program'] as string[], ctx.inputs.length);
  const refusal = refuse(ctx);
  if (refusal) unsupported(ctx, refusal.detail);
  const formulas = steps.map((s) => vectorFormula(s.op, stepContext(ctx, s))!);
  return (fn, a) => {
    const ins = a.map(() => fn.v128());
    const res = steps.map(() => fn.v128());
    const body: Expr[] = ins.map((l, k) => fn.set(l, a[k]!()));
    steps.forEach((s, j) => {
      const arg = (o: Step['args'][number]): Get => { const l = o.kind === 'input' ? ins[o.index]! : res[o.index]!; return () => fn.get(l); };
      body.push(fn.set(res[j]!, formulas[j]!(fn, s.args.map(arg))));
    });
    body.push(fn.get(res[res.length - 1]!));
    return fn.m.block(null, body, binaryen.v128);
  };
}

export const FUSED_ELEMENTWISE: Readonly<Record<string, KernelGen>> = {
  'onnxc.FusedElementwise': {
    ...elementwise((ctx) => {
      const f = program(ctx);
      return { vec: (fn, a) => f(fn, a) };
    }),
    // the program computes in f32x4 only
    dtypes: ['float32'],
    refuse,
  },
};

// onnxc.FusedElementwise: a DAG of attribute-free elementwise ops as one node. The attribute `program` lists the
// steps in order, each "Op a [b]" where an operand is `$k` (node input k) or `%j` (the result of step j); the last
// step is the output. Reference: each step is the standard op's own kernel, so every step rounds where the unfused
// op did (exact); a backend evaluates the same program per element with broadcast indexing.

import { ShapeError } from '../../ir/errors.js';
import type { Node } from '../../ir/graph.js';
import type { ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { activationOps } from '../activation.js';
import { elementwiseOps } from '../elementwise.js';
import { attr, defineOp, type AnyOpDef, type ImportNode, type InferContext, type RunContext } from '../schema.js';

/** Ops a program may use, with their arity. Attribute-free and float-valued, so a step is fully named by its op. */
export const STEP_OPS: ReadonlyMap<string, 1 | 2> = new Map<string, 1 | 2>([
  ...(['Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Relu', 'Sigmoid', 'Tanh', 'Erf', 'Floor', 'Ceil', 'Sin', 'Cos',
    'Softsign', 'Softplus'] as const).map((op) => [op, 1] as [string, 1]),
  ...(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'] as const).map((op) => [op, 2] as [string, 2]),
]);

const DEFS = new Map<string, AnyOpDef>([...elementwiseOps, ...activationOps].filter((d) => STEP_OPS.has(d.op)).map((d) => [d.op, d]));

export interface Step { readonly op: string; readonly args: readonly Operand[] }
export type Operand = { readonly kind: 'input'; readonly index: number } | { readonly kind: 'step'; readonly index: number };

export function formatStep(s: Step): string {
  return [s.op, ...s.args.map((a) => (a.kind === 'input' ? `$${a.index}` : `%${a.index}`))].join(' ');
}

/** Parse and check a program against the number of node inputs: known ops, arities, operands defined before use. */
export function parseProgram(program: readonly string[], numInputs: number): Step[] {
  if (program.length === 0) throw new ShapeError('FusedElementwise program is empty');
  return program.map((text, j) => {
    const [op, ...rest] = text.trim().split(/\s+/);
    const arity = STEP_OPS.get(op ?? '');
    if (arity === undefined) throw new ShapeError(`FusedElementwise step ${j} '${text}': op '${op}' is not one of ${[...STEP_OPS.keys()].join(', ')}`);
    if (rest.length !== arity) throw new ShapeError(`FusedElementwise step ${j} '${text}': ${op} takes ${arity} operands, got ${rest.length}`);
    const args = rest.map((w): Operand => {
      const m = /^([$%])(\d+)$/.exec(w);
      const index = m ? Number(m[2]) : NaN;
      if (!m || (m[1] === '$' ? index >= numInputs : index >= j)) {
        throw new ShapeError(`FusedElementwise step ${j} '${text}': operand '${w}' is not an input $0..$${numInputs - 1} or an earlier step %0..%${j - 1}`);
      }
      return { kind: m[1] === '$' ? 'input' : 'step', index };
    });
    return { op: op!, args };
  });
}

/** Evaluate the steps in order with `apply`, operands resolved to node inputs or earlier results. */
function evaluate<T>(steps: readonly Step[], inputs: readonly T[], apply: (def: AnyOpDef, args: T[]) => T): T {
  const results: T[] = [];
  for (const s of steps) results.push(apply(DEFS.get(s.op)!, s.args.map((a) => (a.kind === 'input' ? inputs[a.index]! : results[a.index]!))));
  return results[results.length - 1]!;
}

const programOf = (node: Node): readonly string[] => {
  const p = node.attrs['program'];
  return p?.kind === 'strings' ? p.value : [];
};

export const fusedElementwiseOp = defineOp({
  op: 'onnxc.FusedElementwise',
  attrs: { program: attr.strings.required() },
  inputs: [1, Infinity],
  outputs: [1, 1],
  infer(ctx) {
    const steps = parseProgram(ctx.attrs.program, ctx.inputs.length);
    return [evaluate<ValueType | undefined>(steps, ctx.inputs, (def, args) => {
      const sub = { ...ctx, attrs: {}, inputs: args, constant: () => undefined, shapeValue: () => undefined, numOutputs: 1 };
      return def.infer(sub as unknown as InferContext<never>)[0];
    })!];
  },
  run(ctx) {
    const steps = parseProgram(ctx.attrs.program, ctx.inputs.length);
    return [evaluate<RuntimeValue | undefined>(steps, ctx.inputs, (def, args) => {
      const sub = { ...ctx, attrs: {}, inputs: args, numOutputs: 1, outputTypes: [undefined] };
      return def.run(sub as unknown as RunContext<never>)[0];
    })!];
  },
  decompose(node, ctx) {
    const steps = parseProgram(programOf(node), node.inputs.length);
    const names: string[] = [];
    return steps.map((s, j): ImportNode => {
      const out = j === steps.length - 1 ? node.outputs[0]! : ctx.freshName(`${node.name}_s${j}`);
      names.push(out);
      const inputs = s.args.map((a) => (a.kind === 'input' ? node.inputs[a.index]! : names[a.index]!));
      return { name: ctx.freshName(`${node.name}_${s.op}`), op: s.op, inputs, outputs: [out], attrs: {} };
    });
  },
});

export const fusedElementwiseOps: AnyOpDef[] = [fusedElementwiseOp as unknown as AnyOpDef];

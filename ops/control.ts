// Control flow ops: If and Loop (Scan is in control-scan.ts). Their bodies are subgraphs that read outer-scope
// values; inference infers the bodies with the types the op feeds them, run executes them once per step.

import { KernelError, LimitError, ShapeError } from '../ir/errors.js';
import { limits } from '../ir/limits.js';
import type { Graph } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { makeTensor, scalar } from '../ir/tensor.js';
import type { Dim, ValueType } from '../ir/types.js';
import { sameType } from '../ir/types.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';
import { attr, defineOp } from './schema.js';
import type { AnyOpDef, InferContext } from './schema.js';
import { expectDType, optInput, optInType, tensorOf } from './util.js';
import { concatAxis, MAX_ELEMENTS } from './sequence-data.js';
import { mergeTypes } from './sequence-types.js';
import { scanOps } from './control-scan.js';

/** Iterations a Loop may run before it is taken to be runaway (a model with neither a trip count nor a condition
 *  that turns false would otherwise hang the interpreter). */
export const loopLimits = {
  get maxIterations(): number { return limits.maxLoopIterations; },
  set maxIterations(n: number) { limits.maxLoopIterations = n; },
};

/** A single-element bool tensor's truth value. */
function truth(t: Tensor, what: string): boolean {
  if (t.data.length !== 1) throw new KernelError(`${what} must have exactly one element, got dims [${t.dims.join(',')}]`);
  return Boolean(t.data[0]);
}

export const If = defineOp({
  op: 'If',
  attrs: { then_branch: attr.graph.required(), else_branch: attr.graph.required() },
  inputs: [1, 1],
  outputs: [1, Infinity],
  infer(ctx) {
    const cond = optInType(ctx, 0);
    if (!cond) throw new ShapeError('cond is required');
    expectDType(cond, ['bool'], 'cond');
    const c = ctx.constant(0);
    const known = c !== undefined && c.data.length === 1 ? Boolean(c.data[0]) : undefined;
    // with the condition known, the branch not taken need not fit these shapes: exporters guard a Reshape with
    // `if x.shape[1] == 160:`, and onnxruntime never looks at the other branch
    const branch = (g: typeof ctx.attrs.then_branch, taken: boolean): ValueType[] | undefined => {
      try { return ctx.inferSubgraph(g, []); } catch (e) { if (known === undefined || taken || !(e instanceof ShapeError)) throw e; return undefined; }
    };
    const then = branch(ctx.attrs.then_branch, known !== false);
    const els = branch(ctx.attrs.else_branch, known !== true);
    if (then && els && (then.length !== els.length || then.length !== ctx.numOutputs)) {
      throw new ShapeError(`then_branch has ${then.length} outputs and else_branch ${els.length}; If has ${ctx.numOutputs}`);
    }
    if (known !== undefined) {
      const out = (known ? then : els)!;
      if (out.length !== ctx.numOutputs) throw new ShapeError(`the branch taken has ${out.length} outputs; If has ${ctx.numOutputs}`);
      return out;
    }
    if (!then || !els) throw new ShapeError('If branches could not be inferred');
    // branches may produce different shapes: dims they disagree on become symbols
    return then.map((t, i) => mergeTypes(t, els[i]!, () => ctx.freshDim('if'), `If output ${i}`));
  },
  run(ctx) {
    const c = optInput(ctx, 0);
    if (!c) throw new KernelError('cond is required');
    const branch = truth(c, 'cond') ? ctx.attrs.then_branch : ctx.attrs.else_branch;
    return ctx.runSubgraph(branch, []);
  },
});

// ---- Loop -------------------------------------------------------------------------------------------

/** Dims that stay the same keep their value; the rest are already symbols or become fresh ones. */
function covers(general: ValueType, t: ValueType): boolean {
  if (general.kind !== t.kind) return false;
  if (general.kind === 'tensor' && t.kind === 'tensor') {
    if (general.dtype !== t.dtype) return false;
    if (general.shape === undefined) return true;
    if (t.shape === undefined || t.shape.length !== general.shape.length) return false;
    return general.shape.every((d, i) => typeof d === 'string' || d === t.shape![i]);
  }
  if ((general.kind === 'sequence' || general.kind === 'optional') && (t.kind === 'sequence' || t.kind === 'optional')) {
    return covers(general.elem, t.elem);
  }
  return false;
}

/** The carried type the body should be inferred with once it has produced `out` from `given`. A body may turn
 *  an optional carried value into a plain one (test_loop16_seq_none); the body's input stays optional then. */
function widen(given: ValueType, out: ValueType, fresh: () => Dim): ValueType {
  if (given.kind === 'optional' && out.kind !== 'optional') return given;
  return mergeTypes(given, out, fresh, 'loop-carried value');
}

/** What a Loop output holds after the body ran: plain carried types win over the optional they replaced. */
function carriedResult(given: ValueType, out: ValueType): ValueType {
  return given.kind === 'optional' && out.kind !== 'optional' ? out : given;
}

/** Loop-carried values reach a fixed point in at most a few rounds: unchanged, then symbolic dims, then unknown rank. */
function inferLoop(ctx: InferContext<{ body: Graph }>): ValueType[] {
  const body = ctx.attrs.body;
  const n = Math.max(0, ctx.inputs.length - 2);
  const m = optInType(ctx, 0);
  if (m) expectDType(m, ['int64'], 'M');
  const cond = optInType(ctx, 1);
  if (cond) expectDType(cond, ['bool'], 'cond');
  if (body.inputs.length !== n + 2) throw new ShapeError(`body takes ${body.inputs.length} inputs; Loop gives it ${n + 2}`);
  if (body.outputs.length < n + 1) throw new ShapeError(`body has ${body.outputs.length} outputs; Loop needs at least ${n + 1}`);
  const k = body.outputs.length - 1 - n;
  if (ctx.numOutputs > n + k) throw new ShapeError(`Loop has ${ctx.numOutputs} outputs; its body gives ${n} carried and ${k} scan outputs`);
  let carried: ValueType[] = ctx.inputs.slice(2).map((t, i) => {
    if (t === undefined) throw new ShapeError(`loop-carried input ${i} is required`);
    return t;
  });
  const fresh = (): Dim => ctx.freshDim('loop');
  let outs: ValueType[] = [];
  for (let round = 0; ; round++) {
    outs = ctx.inferSubgraph(body, [tensorOf('int64', []), tensorOf('bool', []), ...carried]);
    const condOut = outs[0]!;
    if (condOut.kind !== 'tensor' || condOut.dtype !== 'bool') throw new ShapeError('body output 0 (cond) must be a bool tensor');
    const next = carried.map((t, i) => widen(t, outs[1 + i]!, fresh));
    if (next.every((t, i) => covers(carried[i]!, outs[1 + i]!) || (carried[i]!.kind === 'optional' && sameType(t, carried[i]!)))) break;
    if (round >= 2) {
      // give up on shapes: element types stay, ranks become unknown
      carried = next.map(function unknownRank(t: ValueType): ValueType {
        return t.kind === 'tensor' ? tensorOf(t.dtype) : { kind: t.kind, elem: unknownRank(t.elem) };
      });
      outs = ctx.inferSubgraph(body, [tensorOf('int64', []), tensorOf('bool', []), ...carried]);
      break;
    }
    carried = next;
  }
  const results: ValueType[] = carried.map((t, i) => carriedResult(t, outs[1 + i]!));
  const trips = ctx.freshDim('trips');
  for (let j = 0; j < k; j++) {
    const t = outs[1 + n + j]!;
    if (t.kind !== 'tensor') throw new ShapeError(`scan output ${j} of a Loop must be a tensor, got a ${t.kind}`);
    results.push(t.shape === undefined ? tensorOf(t.dtype) : tensorOf(t.dtype, [trips, ...t.shape]));
  }
  return results.slice(0, Math.max(ctx.numOutputs, 0));
}

/** Stack per-iteration scan outputs on a new axis 0; zero iterations give [0, ...static per-iteration dims]. */
function stackScanOutput(parts: readonly Tensor[], staticType: ValueType | undefined): Tensor {
  if (parts.length > 0) return concatAxis(parts, 0, true);
  if (staticType?.kind !== 'tensor') throw new KernelError('cannot type the scan output of a loop that ran zero times');
  const dims = staticType.shape === undefined ? [0] : [0, ...staticType.shape.map((d) => (typeof d === 'number' ? d : 0))];
  return makeTensor(staticType.dtype, dims);
}

export const Loop = defineOp({
  op: 'Loop',
  attrs: { body: attr.graph.required() },
  // M and cond are optional and trailing omitted inputs are dropped at import, so even 0 inputs is valid
  inputs: [0, Infinity],
  outputs: [1, Infinity],
  infer: inferLoop,
  run(ctx) {
    const body = ctx.attrs.body;
    const n = Math.max(0, ctx.inputs.length - 2);
    const k = body.outputs.length - 1 - n;
    const mT = optInput(ctx, 0);
    const condT = optInput(ctx, 1);
    let trips: bigint | undefined;
    if (mT) {
      if (mT.data.length !== 1) throw new KernelError(`M must have exactly one element, got dims [${mT.dims.join(',')}]`);
      trips = BigInt(mT.data[0] as bigint | number);
      // a trip count past the limit, with no condition input to stop sooner, is refused before the first iteration,
      // not after ten million of them; with a condition (PyTorch's while loops: M = INT64_MAX) the limit counts
      // the iterations actually run
      if (!condT && trips > BigInt(limits.maxLoopIterations)) {
        throw new LimitError(`trip count ${trips} is past the limit maxLoopIterations=${limits.maxLoopIterations}`, { limit: 'maxLoopIterations', value: Number(trips) });
      }
    }
    let cond = condT ? truth(condT, 'cond') : true;
    let carried: (RuntimeValue | undefined)[] = ctx.inputs.slice(2);
    const scans: Tensor[][] = Array.from({ length: k }, () => []);
    let scanned = 0;
    let i = 0;
    while ((trips === undefined || BigInt(i) < trips) && cond) {
      if (i >= loopLimits.maxIterations) {
        throw new LimitError(`Loop ran ${i} iterations without stopping (the limit maxLoopIterations=${limits.maxLoopIterations})`, { limit: 'maxLoopIterations', value: i });
      }
      const outs = ctx.runSubgraph(body, [scalar('int64', BigInt(i)), scalar('bool', cond), ...carried]);
      const c = outs[0];
      if (!isTensor(c)) throw new KernelError('body output 0 (cond) must be a tensor');
      // onnxruntime and the ONNX reference both follow the body's condition even when the Loop has no cond input
      cond = truth(c, 'body cond');
      carried = outs.slice(1, 1 + n);
      for (let j = 0; j < k; j++) {
        const s = outs[1 + n + j];
        if (!isTensor(s)) throw new KernelError(`scan output ${j} must be a tensor`);
        scanned += s.data.length;
        if (scanned > MAX_ELEMENTS) throw new KernelError(`Loop scan outputs grew past ${MAX_ELEMENTS} elements`);
        scans[j]!.push(s);
      }
      i++;
    }
    const results: RuntimeValue[] = carried.map((v, j) => {
      if (v === undefined) throw new KernelError(`loop-carried value ${j} has no value`);
      return v;
    });
    const bodyTypes = body.outputs.map((o) => body.types.get(o));
    for (let j = 0; j < k; j++) {
      if (n + j >= ctx.numOutputs) break;
      results.push(stackScanOutput(scans[j]!, scans[j]!.length ? undefined : bodyTypes[1 + n + j]));
    }
    return results;
  },
});

export const controlOps: AnyOpDef[] = [If, Loop, ...scanOps] as AnyOpDef[];

// The sequence and optional ops as the sequence lowering sees them (lowering/sequences.ts): building, indexing
// and editing a structure moves no data (SequenceAt is the element itself), and what reads or makes data
// becomes tensor nodes (SplitToSequence -> Slice, ConcatFromSequence -> Concat). Positions, split sizes and
// presence must be known at compile time; otherwise the node is refused as `data-dependent`, which lets a
// caller specialise on the small inputs they come from.

import { KernelError } from '../ir/errors.js';
import { attrInt, attrInts, type Node } from '../ir/graph.js';
import { dtypeFromOnnx } from '../ir/dtype.js';
import { fromValues, scalar, toNumbers, type Tensor } from '../ir/tensor.js';
import type { ValueType } from '../ir/types.js';
import { normAxis, tensorOf } from '../ops/util.js';
import { describe, emit, expectTensor, refuse, tensorStruct, type Struct, type Walk } from './sequences-core.js';

type Rule = (w: Walk, node: Node, ins: readonly (Struct | undefined)[]) => (Struct | undefined)[];

const site = (node: Node): { node: string; op: string } => ({ node: node.name, op: node.op });

function seqIn(node: Node, s: Struct | undefined, i: number): Extract<Struct, { kind: 'sequence' }> {
  if (!s || s.kind !== 'sequence') throw new KernelError(`input ${i} must be a sequence, got ${s ? describe(s) : 'nothing'}`, site(node));
  return s;
}

/** A compile-time integer input (position, split): refused as data-dependent when it is computed at run time. */
function constInput(w: Walk, node: Node, s: Struct | undefined, i: number, what: string): Tensor | undefined {
  if (!s) return undefined;
  const name = expectTensor(node, s, i);
  const t = w.b.constant(name);
  if (!t) refuse(node, 'data-dependent', `the ${what} ('${name}') must be known at compile time to lay the sequence out as tensors`);
  return t;
}

function position(w: Walk, node: Node, s: Struct | undefined, n: number, hi: number): number | undefined {
  const t = constInput(w, node, s, node.op === 'SequenceAt' ? 1 : 2, 'position');
  if (!t) return undefined;
  if (t.data.length !== 1 || t.dims.length > 1) throw new KernelError(`position must be a scalar, got dims [${t.dims.join(',')}]`, site(node));
  const p = Number(t.data[0]);
  if (p < -n || p > hi) throw new KernelError(`position ${p} is out of range [${-n}, ${hi}] for a sequence of length ${n}`, site(node));
  return p < 0 ? p + n : p;
}

const elemOf = (w: Walk, node: Node, fallback: ValueType): ValueType => {
  const t = w.types.get(node.outputs[0]!);
  return t?.kind === 'sequence' || t?.kind === 'optional' ? t.elem : fallback;
};

/** The split lengths of SplitToSequence, as the reference computes them. */
function splitLengths(node: Node, dim: number, split: Tensor | undefined): number[] {
  if (!split) return Array.from({ length: dim }, () => 1);
  const vals = toNumbers(split);
  if (split.dims.length === 0) {
    const size = vals[0]!;
    if (!(size > 0)) throw new KernelError(`split must be positive, got ${size}`, site(node));
    const out: number[] = [];
    for (let at = 0; at < dim; at += size) out.push(Math.min(size, dim - at));
    return out;
  }
  if (vals.some((v) => v < 0) || vals.reduce((a, b) => a + b, 0) !== dim) throw new KernelError(`split lengths [${vals.join(',')}] do not sum to the axis' ${dim}`, site(node));
  return vals;
}

/** ConcatFromSequence of a loop's stacked list [T, ...elem]: torch.stack (new_axis) moves the iteration axis to
 *  `axis`; torch.cat also merges it into the elements' axis `axis`. */
function concatStacked(w: Walk, node: Node, stacked: string): string {
  const dims = w.b.dims(stacked) ?? refuse(node, 'dynamic-shape', `the shape of the stacked list '${stacked}' must be known at compile time`);
  const stack = Number(node.attrs['new_axis']?.value ?? 0) === 1;
  const rank = dims.length - 1;
  const axis = normAxis(Number(node.attrs['axis']?.value), stack ? rank + 1 : rank);
  // move axis 0 (iterations) to position `axis` (stack) or just before the elements' axis `axis` (cat)
  const perm = [...Array.from({ length: rank }, (_, i) => i + 1)];
  perm.splice(axis, 0, 0);
  const moved = axis === 0 ? stacked : emit(w, 'Transpose', [stacked], `${node.name}_moved`, { perm: attrInts(perm) });
  if (stack) return emit(w, 'Identity', [moved], node.outputs[0]!);
  const md = perm.map((p) => dims[p]!);
  const shape = [...md.slice(0, axis), md[axis]! * md[axis + 1]!, ...md.slice(axis + 2)];
  return emit(w, 'Reshape', [moved, w.b.addConstant(w.names, `${node.name}_shape`, i64(shape))], node.outputs[0]!);
}

const i64 = (xs: readonly number[]): Tensor => fromValues('int64', [xs.length], xs.map(BigInt));

export const SEQUENCE_RULES: Readonly<Record<string, Rule>> = {
  SequenceEmpty: (w, node) => [{ kind: 'sequence', elem: elemOf(w, node, tensorOf(dtypeFromOnnx(Number(node.attrs['dtype']?.value ?? 1)))), items: [] }],
  SequenceConstruct: (w, node, ins) => {
    ins.forEach((s, i) => expectTensor(node, s, i));
    return [{ kind: 'sequence', elem: elemOf(w, node, tensorOf('float32')), items: ins as Struct[] }];
  },
  SequenceAt: (w, node, ins) => {
    const s = seqIn(node, ins[0], 0);
    return [s.items[position(w, node, ins[1], s.items.length, s.items.length - 1)!]!];
  },
  SequenceInsert: (w, node, ins) => {
    const s = seqIn(node, ins[0], 0);
    expectTensor(node, ins[1], 1);
    const n = s.items.length;
    const p = position(w, node, ins[2], n, n) ?? n;
    const items = [...s.items];
    items.splice(p, 0, ins[1]!);
    return [{ ...s, elem: elemOf(w, node, s.elem), items }];
  },
  SequenceErase: (w, node, ins) => {
    const s = seqIn(node, ins[0], 0);
    const n = s.items.length;
    if (n === 0) throw new KernelError('cannot erase from an empty sequence', site(node));
    const p = position(w, node, ins[1], n, n - 1) ?? n - 1;
    return [{ ...s, items: s.items.filter((_, i) => i !== p) }];
  },
  SequenceLength: (w, node, ins) => [tensorStruct(w.b.addConstant(w.names, node.outputs[0]!, scalar('int64', BigInt(seqIn(node, ins[0], 0).items.length))))],
  SplitToSequence: (w, node, ins) => {
    const x = expectTensor(node, ins[0], 0);
    const dims = w.b.dims(x);
    if (!dims) refuse(node, 'dynamic-shape', `the shape of '${x}' must be known at compile time to split it into a sequence`);
    const axis = normAxis(Number(node.attrs['axis']?.value ?? 0), dims.length);
    const split = constInput(w, node, ins[1], 1, 'split');
    const keep = split !== undefined || Number(node.attrs['keepdims']?.value ?? 1) !== 0;
    const axes = w.b.addConstant(w.names, `${node.name}_axes`, i64([axis]));
    let at = 0;
    const items = splitLengths(node, dims[axis]!, split).map((len, i) => {
      const starts = w.b.addConstant(w.names, `${node.name}_start${i}`, i64([at]));
      const ends = w.b.addConstant(w.names, `${node.name}_end${i}`, i64([at + len]));
      at += len;
      const part = emit(w, 'Slice', [x, starts, ends, axes], `${node.outputs[0]}[${i}]`);
      return tensorStruct(keep ? part : emit(w, 'Squeeze', [part, axes], `${node.outputs[0]}[${i}]`));
    });
    return [{ kind: 'sequence', elem: elemOf(w, node, tensorOf('float32')), items }];
  },
  ConcatFromSequence: (w, node, ins) => {
    if (ins[0]?.kind === 'stacked') return [tensorStruct(concatStacked(w, node, ins[0].name))];
    const s = seqIn(node, ins[0], 0);
    if (s.items.length === 0) throw new KernelError('ConcatFromSequence needs a non-empty sequence', site(node));
    const names = s.items.map((x, i) => expectTensor(node, x, i));
    const stack = Number(node.attrs['new_axis']?.value ?? 0) === 1;
    const axisAttr = Number(node.attrs['axis']?.value);
    const rank = (w.b.dims(names[0]!)?.length ?? refuse(node, 'dynamic-shape', `the rank of '${names[0]}' must be known at compile time`)) + (stack ? 1 : 0);
    const axis = normAxis(axisAttr, rank);
    const parts = stack ? names.map((n, i) => emit(w, 'Unsqueeze', [n, w.b.addConstant(w.names, `${node.name}_axes`, i64([axis]))], `${node.name}_item${i}`)) : names;
    return [tensorStruct(emit(w, 'Concat', parts, node.outputs[0]!, { axis: attrInt(axis) }))];
  },
  Optional: (w, node, ins) => [{ kind: 'optional', elem: elemOf(w, node, tensorOf('float32')), value: ins[0] }],
  OptionalHasElement: (w, node, ins) => {
    const s = ins[0];
    const has = s !== undefined && (s.kind !== 'optional' || s.value !== undefined);
    return [tensorStruct(w.b.addConstant(w.names, node.outputs[0]!, scalar('bool', has)))];
  },
  OptionalGetElement: (_w, node, ins) => {
    const s = ins[0];
    if (!s) throw new KernelError('input 0 is required', site(node));
    if (s.kind !== 'optional') return [s];
    if (!s.value) throw new KernelError('OptionalGetElement of an empty optional', site(node));
    return [s.value];
  },
};

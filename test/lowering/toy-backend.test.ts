// A second backend through the same interface as wasm: a few kernels written as plain JavaScript closures over one
// Float32Array memory, declared as a `Backend` value and compiled by the same driver (lowering/compile-for.ts).
// It checks that nothing between the pass pipeline and code is wasm-specific: shapes, static evaluation, the
// buffer plan (at the toy's own alignment), the weights layout, support checks and their reason codes.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import type { Backend } from '../../lowering/backend.js';
import { compileFor, coverage, tryCompileFor } from '../../lowering/compile-for.js';
import type { LoweringPlan } from '../../lowering/plan.js';
import type { KernelPlanning, PlanContext, ValueRef } from '../../lowering/protocol.js';
import { UnsupportedNodesError } from '../../lowering/support.js';
import { GraphBuilder } from '../../models/builder.js';

/** A value as a toy kernel sees it at emit time: its element offset in the memory. */
interface Placed extends ValueRef { readonly at: number }
interface ToyContext { readonly inputs: readonly (Placed | undefined)[]; readonly outputs: readonly (Placed | undefined)[]; readonly attrs: Readonly<Record<string, unknown>> }
interface ToyKernel extends KernelPlanning<PlanContext> { emit(ctx: ToyContext): (mem: Float32Array) => void }

interface ToyProgram { run(inputs: Readonly<Record<string, Float32Array>>): Record<string, Float32Array> }

/** Broadcast index of `from` (dims) for flat output index i of `to`. */
function bcast(i: number, to: readonly number[], from: readonly number[]): number {
  let j = 0, stride = 1, rest = i;
  const off = to.length - from.length;
  const idx: number[] = [];
  for (let a = to.length - 1; a >= 0; a--) { idx[a] = rest % to[a]!; rest = Math.floor(rest / to[a]!); }
  for (let a = from.length - 1; a >= 0; a--) { j += (from[a] === 1 ? 0 : idx[a + off]!) * stride; stride *= from[a]!; }
  return j;
}

const binary = (f: (a: number, b: number) => number): ToyKernel => ({
  emit: ({ inputs: [a, b], outputs: [y] }) => (mem) => {
    for (let i = 0; i < y!.size; i++) mem[y!.at + i] = f(mem[a!.at + bcast(i, y!.dims, a!.dims)]!, mem[b!.at + bcast(i, y!.dims, b!.dims)]!);
  },
});

const KERNELS = {
  Add: binary((a, b) => a + b),
  Mul: binary((a, b) => a * b),
  Relu: { emit: ({ inputs: [x], outputs: [y] }) => (mem) => { for (let i = 0; i < y!.size; i++) mem[y!.at + i] = Math.max(0, mem[x!.at + i]!); } },
  // a view: the plan shares the input's buffer, no code
  Reshape: { alias: true, constInputs: [1], emit: () => () => {} },
  MatMul: {
    // 2-D only: other ranks are refused up front, with a reason, before anything is lowered
    refuse: (ctx) => (ctx.inputs.some((t) => t!.dims.length !== 2) ? { reason: 'form', detail: 'the toy MatMul is 2-D only' } : undefined),
    emit: ({ inputs: [a, b], outputs: [y] }) => (mem) => {
      const [M, K] = a!.dims as [number, number], N = b!.dims[1]!;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += mem[a!.at + i * K + k]! * mem[b!.at + k * N + j]!;
        mem[y!.at + i * N + j] = s;
      }
    },
  },
} satisfies Record<string, ToyKernel>;

function emitToy(plan: LoweringPlan<ValueRef, ToyKernel>): ToyProgram {
  const arenaFloats = plan.arena.arenaBytes / 4;
  const at = (name: string): number => {
    const p = plan.placeOf(name);
    return p.region === 'arena' ? p.offset / 4 : p.region === 'weights' ? arenaFloats + p.offset / 4 : -1;
  };
  const placed = (n: string): Placed | undefined => (n ? { ...plan.valueRef(n), at: at(n) } : undefined);
  const steps = plan.nodes.filter((p) => !p.view).map((p) => p.kernel.emit({ attrs: p.attrs, inputs: p.node.inputs.map(placed), outputs: p.node.outputs.map(placed) }));
  const weights = new Float32Array(plan.weights.contents().slice().buffer);
  const g = plan.prepared.graph;
  return {
    run(inputs) {
      const mem = new Float32Array(arenaFloats + weights.length);
      mem.set(weights, arenaFloats);
      for (const n of g.inputs) mem.set(inputs[n]!, at(n));
      for (const s of steps) s(mem);
      return Object.fromEntries(g.outputs.map((o) => [o, mem.slice(at(o), at(o) + plan.valueRef(o).size)]));
    },
  };
}

const TOY: Backend<ValueRef, ToyKernel, object, ToyProgram> = {
  name: 'toy',
  kernels: KERNELS,
  capabilities: { dtypes: ['float32', 'int64'], float16: false, int64: true, buffers: { align: 4, maxBufferBytes: 1 << 20 }, weightAlign: 4 },
  weightLayouts: [],
  planRef: (v) => v,
  emit: (plan) => emitToy(plan),
};

const f32 = (dims: number[], seed: number): Tensor => fromValues('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed * 7 + i * 1.3)));

/** y = Reshape(Relu(x W + b) * x2, [-1]) with a Shape->Concat shape computation the core folds at compile time. */
function smallModel() {
  const b = new GraphBuilder('toy_mlp');
  const x = b.input('x', 'float32', ['batch', 3]);
  const w = b.weight('W', f32([3, 4], 1));
  const bias = b.weight('bias', f32([4], 2));
  const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, w]), bias])]);
  const scaled = b.op('Mul', [h, b.weight('two', fromValues('float32', [], [2]))]);
  const flat = b.op('Reshape', [scaled, b.weight('shape', fromValues('int64', [1], [-1n]))]);
  b.output(flat);
  return b.model({ source: 'toy_mlp.onnx' });
}

describe('a toy second backend through the lowering core', () => {
  it('compiles and runs a small model, matching the reference, at -O0 and -O2', () => {
    const model = smallModel();
    const x = f32([5, 3], 3);
    const want = (runGraph(model.graph, [x])[0] as Tensor).data as Float32Array;
    for (const level of [0, 2] as const) {
      const { artifact } = compileFor(TOY, model.graph, { source: 'toy_mlp.onnx', inputShapes: { x: [5, 3] } }, { level });
      const got = artifact.run({ x: x.data as Float32Array })[model.graph.outputs[0]!]!;
      expect(got.length).toBe(20);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    }
  });

  it('reports every node it cannot lower at once, each with a reason code (negative case)', () => {
    const b = new GraphBuilder('toy_bad');
    const x = b.input('x', 'float32', [2, 2, 3]);
    const i = b.input('i', 'int32', [2]);
    b.output(b.op('Sigmoid', [x]), b.op('Add', [i, i]), b.op('MatMul', [x, b.weight('W3', f32([3, 2], 4))]));
    const g = b.build();
    const r = tryCompileFor(TOY, g, { source: 'toy_bad.onnx' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.unsupported.map((u) => [u.op, u.reason])).toEqual([['Sigmoid', 'missing-kernel'], ['Add', 'dtype'], ['MatMul', 'form']]);
    expect(coverage(TOY, g, { source: 'toy_bad.onnx' }).length).toBe(3);
    expect(() => compileFor(TOY, g, { source: 'toy_bad.onnx' })).toThrow(UnsupportedNodesError);
  });

  it('refuses a buffer past its declared max size with the node named', () => {
    const b = new GraphBuilder('toy_big');
    const x = b.input('x', 'float32', [600, 600]);
    b.output(b.op('Relu', [x]));
    expect(() => compileFor(TOY, b.build(), { source: 'toy_big.onnx' })).toThrow(/maxBufferBytes/);
  });
});

// upcast-float16 with a target: the nodes the backend refuses in 16 bits are widened, and so is every node that
// reads a value they compute, so the island exchanges float32 and rounds only at its edges. Numerically the result
// stays within the pass's declared tolerance of the reference's op-by-op float16 rounding and nearer to float32
// arithmetic; through the wasm backend, a float16 conv block fuses as a float32 one does (no Cast inside it).

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { WASM_BACKEND } from '../../backends/wasm/compile.js';
import { compileWasmGraph, toTensorValue } from '../../compiler/compile.js';
import type { Graph, Node } from '../../ir/graph.js';
import { f16Round } from '../../ir/float16.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { optimizeFor } from '../../lowering/compile-for.js';
import { GraphBuilder } from '../../models/builder.js';
import { defaultContext, type TargetQuery } from '../../passes/pass.js';
import { upcastFloat16Pass } from '../../passes/upcast-float16.js';
import { createSessionSync } from '../../runtime/wasm/session.js';

/** A target with 16-bit kernels for everything but `refused`. */
const target = (...refused: string[]): TargetQuery => ({
  name: 'toy',
  refusal: (n: Node) => (refused.includes(n.op) ? { reason: 'dtype', dtype: 'float16', detail: `no float16 ${n.op}` } : undefined),
});

/** Pseudo-random values rounded to float16 (so the float16 and float32 graphs start from the same numbers). */
function half(dims: number[], seed: number, scale = 1): Tensor {
  let s = seed >>> 0;
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return f16Round(((s / 2 ** 32) * 2 - 1) * scale);
  });
  return makeTensor('float16', dims, data) as Tensor;
}
const asF32 = (t: Tensor): Tensor => makeTensor('float32', t.dims, Float32Array.from(t.data as Float32Array)) as Tensor;
const ops = (g: Graph): string[] => g.nodes.map((n) => `${n.op}:${n.outputs.map((o) => (g.types.get(o) as { dtype: string }).dtype).join(',')}`);

describe('upcast-float16 against a target with some 16-bit kernels', () => {
  it('nodes reading an island value join it; a 16-bit node outside every island stays 16-bit', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float16', [8]), y = b.input('y', 'float16', [8]);
    const a = b.op('Relu', [x]);
    const s = b.op('Add', [a, y]);
    b.output(b.op('Mul', [s, s]));
    b.output(b.op('Sub', [y, y]));
    const g = b.build();
    const out = upcastFloat16Pass.run(g, { ...defaultContext(), target: target('Relu') });
    // Relu is refused; Add and Mul read its island; Sub reads only the graph input and keeps its float16 kernel
    expect(ops(out)).toEqual(['Cast:float32', 'Relu:float32', 'Cast:float32', 'Add:float32', 'Mul:float32', 'Cast:float16', 'Sub:float16']);
    expect(upcastFloat16Pass.run(out, { ...defaultContext(), target: target('Relu') })).toBe(out);
  });

  it('a float16 chain stays within the declared tolerance of op-by-op rounding, and nearer float32 arithmetic', () => {
    const build = (dtype: 'float16' | 'float32', w1: Tensor, w2: Tensor, bias: Tensor): Graph => {
      const b = new GraphBuilder();
      const cv = (t: Tensor): Tensor => (dtype === 'float32' ? asF32(t) : t);
      const x = b.input('x', dtype, [4, 32]);
      const h = b.op('Tanh', [b.op('Add', [b.op('MatMul', [x, b.weight('w1', cv(w1))]), b.weight('bias', cv(bias))])]);
      b.output(b.op('Sigmoid', [b.op('Mul', [b.op('MatMul', [h, b.weight('w2', cv(w2))]), h])]));
      return b.build();
    };
    const w1 = half([32, 32], 3, 0.5), w2 = half([32, 32], 5, 0.5), bias = half([32], 7), x = half([4, 32], 9, 2);
    const g16 = build('float16', w1, w2, bias);
    const widened = upcastFloat16Pass.run(g16, defaultContext());
    expect(widened.nodes.filter((n) => n.op === 'Cast')).toHaveLength(2);
    const [ref] = runGraph(g16, [x]) as Tensor[], [got] = runGraph(widened, [x]) as Tensor[];
    const [f32] = runGraph(build('float32', w1, w2, bias), [asF32(x)]) as Tensor[];
    const sem = upcastFloat16Pass.properties.semantics;
    if (sem.kind !== 'tolerance') throw new Error('upcast-float16 declares a tolerance');
    let errRef = 0, errGot = 0;
    for (let i = 0; i < ref!.data.length; i++) {
      const e = Number(ref!.data[i]), a = Number(got.data[i]), w = Number(f32!.data[i]);
      expect(Math.abs(a - e)).toBeLessThanOrEqual(sem.atol + sem.rtol * Math.abs(e));
      errRef += Math.abs(e - w); errGot += Math.abs(a - w);
    }
    expect(errGot).toBeLessThan(errRef);
  });
});

describe('float16 conv blocks through the wasm pipeline', () => {
  /** x (float32) -> Cast -> Conv -> Clip(0, 6) -> Conv -> Add(residual) -> Cast: a MobileNetV2-style block. */
  function block(): { g: Graph; x: Tensor } {
    const b = new GraphBuilder();
    const x = b.op('Cast', [b.input('x', 'float32', [1, 8, 6, 6])], { to: 10 });
    const conv = (i: string, w: string, k: number): string => b.op('Conv', [i, b.weight(w, half([8, 8, k, k], w.length * 17, 0.4)), b.weight(`${w}_b`, half([8], 31, 0.1))], { pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] });
    const lo = b.weight('lo', makeTensor('float16', [], Float32Array.of(0)) as Tensor), hi = b.weight('hi', makeTensor('float16', [], Float32Array.of(6)) as Tensor);
    const c = b.op('Clip', [conv(x, 'w1', 3), lo, hi]);
    b.output(b.op('Cast', [b.op('Add', [conv(c, 'w22', 1), x])], { to: 1 }));
    return { g: b.build(), x: asF32(half([1, 8, 6, 6], 11, 3)) };
  }

  it('Clip and the residual Add fuse into the convolutions: Casts only where the block meets float32', () => {
    const { g } = block();
    const { graph } = optimizeFor(WASM_BACKEND, g, { inputShapes: { x: [1, 8, 6, 6] } });
    const count = (op: string): number => graph.nodes.filter((n) => n.op === op).length;
    expect(count('Clip') + count('Add')).toBe(0);
    expect(count('onnxc.FusedConv')).toBe(2);
    // the model's two Casts, plus one to float32 after the first and one to float16 before the last
    expect(count('Cast')).toBe(4);
  });

  it('the compiled block agrees with the reference within float16 rounding (1e-3 of the range)', () => {
    const { g, x } = block();
    const [want] = runGraph(g, [x]) as Tensor[];
    for (const level of [0, 3] as const) {
      const { artifact } = compileWasmGraph(g, { inputShapes: { x: x.dims } }, { level });
      const outs = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest, weights: artifact.weights }).runSync({ x: toTensorValue(x) });
      const got = outs[g.outputs[0]!]!;
      let err = 0, mag = 0;
      for (let i = 0; i < want!.data.length; i++) { err = Math.max(err, Math.abs(Number(got.data[i]) - Number(want!.data[i]))); mag = Math.max(mag, Math.abs(Number(want!.data[i]))); }
      expect(err, `-O${level}`).toBeLessThanOrEqual(1e-3 * mag);
    }
  });
});

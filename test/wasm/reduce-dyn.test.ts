// The vectorised reductions and softmaxes (kernels/reduce.ts columns, rows and extremes; kernels/norm.ts columns
// and short rows) in a dynamic-dims build, where their splits are run-time arithmetic on the dims: one artifact over
// a range of sizes gives the static compile's bits at each size (Object.is; the paths keep the scalar loop's order,
// and short-row Softmax is a static-only choice with the same bits) and the reference within 1e-5.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { compileDynamic } from '../../backends/wasm/dims-compile.js';
import { toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync, type WasmSession } from '../../runtime/wasm/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';
import { randTensor } from './helpers.js';

const axes = (b: GraphBuilder, name: string, a: number[]): string => b.weight(name, fromValues('int64', [a.length], a.map(BigInt)));

/** x [2, seq, 6]: reductions over the last axis (rows, extremes), over seq (columns), Softmax/ArgMax over seq. */
function middle(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [2, 'seq', 6]);
  b.output(
    b.op('ReduceMax', [x, axes(b, 'a0', [2])], { keepdims: 0 }),
    b.op('ReduceSum', [x, axes(b, 'a1', [2])], { keepdims: 1 }),
    b.op('ReduceMean', [x, axes(b, 'a2', [1])], { keepdims: 0 }),
    b.op('ReduceMin', [x, axes(b, 'a3', [1])], { keepdims: 1 }),
    b.op('Softmax', [x], { axis: 1 }),
    b.op('LogSoftmax', [x], { axis: 1 }),
    b.op('ArgMax', [x], { axis: 1, keepdims: 0 }),
  );
  return b.build();
}

/** x [5, seq]: the reduced and softmax axis itself dynamic (rows of seq floats, seq from 1). */
function trailing(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [5, 'seq']);
  b.output(
    b.op('ReduceMax', [x, axes(b, 'a0', [1])], { keepdims: 0 }),
    b.op('ReduceSumSquare', [x, axes(b, 'a1', [1])], { keepdims: 0 }),
    b.op('Softmax', [x], { axis: -1 }),
    b.op('ReduceMean', [x, axes(b, 'a2', [0])], { keepdims: 0 }),
  );
  return b.build();
}

const run = (s: WasmSession, g: Graph, inputs: readonly Tensor[]): Tensor[] => {
  const outs = s.runSync(Object.fromEntries(g.inputs.map((n, i) => [n, toTensorValue(inputs[i]!)])));
  return g.outputs.map((n) => ({ dtype: outs[n]!.type, dims: [...outs[n]!.dims], data: outs[n]!.data }) as Tensor);
};

describe('vectorised reductions in a dynamic-dims build', () => {
  for (const [name, make, shape] of [['middle axes', middle, (s: number) => [2, s, 6]], ['trailing axes', trailing, (s: number) => [5, s]]] as const) {
    it(`${name}: the static compile's bits and the reference at every size tried`, () => {
      const g = make();
      const { artifact } = compileDynamic(g, { source: name, embedLimit: Infinity }, [{ name: 'seq', min: 1, max: 37 }], { level: 2 });
      const session = createSessionSync({ wasm: artifact.wasm, manifest: artifact.manifest });
      for (const seq of [1, 2, 3, 4, 5, 8, 9, 17, 37]) {
        const inputs = [randTensor(shape(seq), seq)];
        const ours = run(session, g, inputs);
        const fixed = compileWasm(g, { inputShapes: { x: shape(seq) }, embedLimit: Infinity });
        const stat = run(createSessionSync({ wasm: fixed.wasm, manifest: fixed.manifest }), g, inputs);
        ours.forEach((t, k) => {
          expect(t.dims, `output ${k} at seq ${seq}`).toEqual(stat[k]!.dims);
          const a = Array.from(t.data as ArrayLike<number | bigint>), b = Array.from(stat[k]!.data as ArrayLike<number | bigint>);
          const diff = a.findIndex((v, i) => !Object.is(v, b[i]));
          expect(diff, `output ${k} at seq ${seq}: ${a[diff]} vs ${b[diff]}`).toBe(-1);
        });
        const ref = runGraph(g, inputs) as Tensor[];
        expect(worstRelativeError(ours.filter((t) => t.dtype === 'float32'), ref.filter((t) => t.dtype === 'float32')), `seq ${seq}`).toBeLessThan(1e-5);
      }
    }, 120_000);
  }
});

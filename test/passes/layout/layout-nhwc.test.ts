// layout-nhwc computes exactly what its input computes (the reference backend, bit for bit), on the golden cases,
// on generated graphs rich in Conv, and on the small real conv models; exported, onnxruntime runs the result.

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../../backends/reference/interpreter.js';
import { exportModel } from '../../../compiler/onnx/export.js';
import { loadModel } from '../../../compiler/onnx/import.js';
import { readValueFile } from '../../../compiler/onnx/tensor-proto.js';
import { runOrt } from '../../../compiler/ort.js';
import { tensorError } from '../../../compiler/compare.js';
import type { Graph } from '../../../ir/graph.js';
import { fromValues, sizeOf, type Tensor } from '../../../ir/tensor.js';
import { parseGraph, printGraph } from '../../../ir/text/index.js';
import { isStaticShape } from '../../../ir/types.js';
import { inferGraph } from '../../../ops/infer-graph.js';
import { layoutNhwc, layoutPackWeights } from '../../../passes/layout/index.js';
import { verifyAfter } from '../../../passes/manager.js';
import { defaultContext } from '../../../passes/pass.js';
import { arbitraryGraph } from '../../helpers/arbitrary-graph.js';
import { missingReason, sharedPath } from '../../helpers/shared.js';

const ctx = defaultContext();

/** Seeded inputs: multiples of 1/8 in [-1, 1] (exact in float32). */
function inputsFor(g: Graph, seed = 1): Tensor[] {
  let s = seed;
  const next = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return (s % 17) / 8 - 1; };
  return g.inputs.filter((n) => !g.initializers.has(n)).map((n) => {
    const t = g.types.get(n);
    if (t?.kind !== 'tensor' || !isStaticShape(t.shape)) throw new Error(`input ${n} needs a static shape`);
    return fromValues(t.dtype, t.shape, Array.from({ length: sizeOf(t.shape) }, next));
  });
}

function expectSameBits(a: readonly unknown[], b: readonly unknown[]): void {
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    const [p, q] = [x as Tensor, b[i] as Tensor];
    expect(q.dims).toEqual(p.dims);
    expect(Array.from(q.data as ArrayLike<number>)).toEqual(Array.from(p.data as ArrayLike<number>));
  });
}

const goldenInputs = (['layout-nhwc', 'layout-pack-weights'] as const).flatMap((pass) =>
  readFileSync(join(import.meta.dirname, '..', 'golden', `${pass}.ir`), 'utf8').split(/^=== /m).slice(1).map((chunk) => {
    const [head, ...rest] = chunk.split('\n');
    const body = rest.join('\n').split(/^--- /m)[0]!;
    const om = /^# options: (.*)\n/.exec(body);
    const options = new Map((om?.[1] ?? '').split(',').filter((kv) => kv !== '').map((kv) => kv.split('=') as [string, string]));
    return { pass, intent: head!.trim(), text: om ? body.slice(om[0].length) : body, ctx: defaultContext({ options }) };
  }));

describe('layout passes: golden cases compute the same values', () => {
  for (const c of goldenInputs) {
    it(`${c.pass}: ${c.intent}`, async () => {
      const pass = c.pass === 'layout-nhwc' ? layoutNhwc : layoutPackWeights;
      const g = inferGraph(parseGraph(c.text));
      const out = pass.run(g, c.ctx);
      const inputs = inputsFor(g).slice(0, g.inputs.filter((n) => !g.initializers.has(n)).length);
      expectSameBits(runGraph(g, inputs), runGraph(out, inputs));
      // idempotent: a second run returns the very same graph
      expect(pass.run(out, c.ctx)).toBe(out);
      // exported (onnxc ops decomposed), onnxruntime agrees
      const feeds = Object.fromEntries(g.inputs.map((n, k) => [n, inputs[k]!]));
      const ort = await runOrt(exportModel({ graph: out, info: {} }), feeds);
      const want = runGraph(g, inputs) as Tensor[];
      ort.values.forEach((v, k) => expect(tensorError(v, want[k]!).maxAbs).toBeLessThanOrEqual(1e-5 * (tensorError(v, want[k]!).maxExpected + 1)));
    });
  }
});

describe('layout-nhwc: properties over generated graphs', () => {
  it('verifies, computes bit-identical outputs, is idempotent and round-trips through text', () => {
    fc.assert(fc.property(arbitraryGraph({ maxNodes: 8, ops: ['Conv', 'Conv', 'Relu', 'Add', 'Mul', 'Concat', 'Transpose', 'Reshape', 'ReduceMean', 'Softmax', 'Sigmoid', 'MatMul'] }), ({ graph, inputs }) => {
      const out = layoutNhwc.run(graph, ctx);
      if (out !== graph) verifyAfter(layoutNhwc, graph, out);
      const feeds = graph.inputs.map((n) => inputs.get(n));
      expectSameBits(runGraph(graph, feeds), runGraph(out, feeds));
      expect(layoutNhwc.run(out, ctx)).toBe(out);
      const all = { inlineAll: true };
      expect(printGraph(parseGraph(printGraph(out, all)), all)).toBe(printGraph(out, all));
    }), { numRuns: 30 });
  });
});

describe('layout-nhwc: a Softmax before a channels-last conv (YOLOv8 DFL)', () => {
  // [1,A,B,C] -> optional model Transpose -> Softmax(axis) (or LogSoftmax) -> Conv 1x1 (and sometimes a second reader):
  // exact on the reference, idempotent, and the row op ends up on the last axis exactly when the conv's transpose
  // put its axis last and nothing else reads it
  it('moves the Softmax after the transpose only where that makes its axis the last, bit for bit', () => {
    const perms = [[0, 1, 2, 3], [0, 2, 1, 3], [0, 3, 2, 1], [0, 1, 3, 2]];
    fc.assert(fc.property(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      fc.constantFrom(...perms), fc.integer({ min: -3, max: 3 }), fc.constantFrom('Softmax', 'LogSoftmax'), fc.boolean(), fc.integer({ min: 1, max: 1000 }),
      (dims, perm, axis, op, shared, seed) => {
        const shape = [1, ...dims];
        const t = perm.every((a, i) => a === i) ? '' : `  t = Transpose(x) @t {perm=[${perm.join(', ')}]}\n`;
        const c = shape[perm[1]!]!;
        const text = `graph g (x: float32[${shape.join(',')}]) -> (y${shared ? ', s' : ''}) {\n` +
          `  const w: float32[2,${c},1,1] = [${Array.from({ length: 2 * c }, (_, i) => (i % 5) - 2).join(', ')}]\n` + t +
          `  s = ${op}(${t ? 't' : 'x'}) @sm {axis=${axis}}\n  y = Conv(s, w) @conv {auto_pad="NOTSET", group=1, kernel_shape=[1, 1]}\n}`;
        const g = inferGraph(parseGraph(text));
        const out = layoutNhwc.run(g, ctx);
        verifyAfter(layoutNhwc, g, out);
        const inputs = inputsFor(g, seed);
        expectSameBits(runGraph(g, inputs), runGraph(out, inputs));
        expect(layoutNhwc.run(out, ctx)).toBe(out);
        const a = (axis + 4) % 4, row = out.nodes.find((n) => n.op === op)!;
        const last = row.attrs['axis']?.kind === 'int' && (row.attrs['axis'].value + 4) % 4 === 3;
        // the conv's NHWC transpose puts logical axis 1 of s last
        expect(last).toBe(a === 3 || (a === 1 && !shared));
      }), { numRuns: 60 });
  });
});

/** Transposes left after the pass; none may sit between two channels-last ops (an inverse pair that survived). */
function interiorTransposes(g: Graph): number {
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const channelsLast = (op: string | undefined): boolean => op === 'onnxc.FusedConv' || (op ?? '').startsWith('onnxc.Nhwc');
  return g.nodes.filter((n) => n.op === 'Transpose' && channelsLast(producer.get(n.inputs[0]!)?.op) &&
    g.nodes.some((m) => m.inputs.includes(n.outputs[0]!) && channelsLast(m.op))).length;
}

describe('layout-nhwc: small real conv models', () => {
  for (const [name, file] of [['mnist', 'mnist-8.onnx'], ['dcgan_generator_bn', 'model.onnx']] as const) {
    const dir = sharedPath('models', name);
    it.skipIf(!dir)(`${name}: exact on the reference backend, matches expected outputs, transposes only at borders${dir ? '' : ` (${missingReason('models', name)})`}`, () => {
      const m = loadModel(join(dir!, file));
      const out = layoutNhwc.run(m.graph, ctx);
      verifyAfter(layoutNhwc, m.graph, out);
      expect(out.nodes.some((n) => n.op === 'onnxc.FusedConv' || n.op === 'onnxc.NhwcConvTranspose')).toBe(true);
      expect(interiorTransposes(out)).toBe(0);
      const ds = join(dir!, 'test_data_set_0');
      const inputs = m.graph.inputs.filter((n) => !m.graph.initializers.has(n)).map((_, k) => readValueFile(join(ds, `input_${k}.pb`)));
      const before = runGraph(m.graph, inputs);
      const after = runGraph(out, inputs) as Tensor[];
      expectSameBits(before, after);
      after.forEach((t, k) => {
        const e = tensorError(t, readValueFile(join(ds, `output_${k}.pb`)) as Tensor);
        expect(e.maxAbs).toBeLessThanOrEqual(1e-4 * e.maxExpected);
      });
    });
  }
});

// No wrong answer from an index out of range: every index-taking op, fed in-range (negative included) and
// out-of-range indices (past either end, int64 values past 2^31 and 2^32 that 32-bit truncation would turn into
// valid ones), gives the reference's answer or a typed error naming the node, on the reference, wasm and wasm-O3
// backends and in a compiled artifact run through its own loader.js and through the typed runtime.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODE, ERROR_RECORD as ABI_RECORD } from '../../backends/wasm/abi.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { loadBackend } from '../../compiler/backends.js';
import { compileToDir, toTensorValue } from '../../compiler/compile.js';
import { KernelError } from '../../ir/errors.js';
import type { DType } from '../../ir/dtype.js';
import type { Model } from '../../ir/graph.js';
import { fromValues, type Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { OnnxcRuntimeError } from '../../runtime/wasm/errors.js';
import { ERROR_RECORD as RUNTIME_RECORD } from '../../runtime/wasm/kernel-error.js';
import { createSession, type TensorValue } from '../../runtime/wasm/session.js';
import { randTensor } from './helpers.js';

/** An index-taking op under test: a model whose input `i` holds the indices (the others are fixed data). */
interface BoundsCase {
  readonly name: string;
  readonly node: string;
  readonly model: Model;
  readonly data: readonly Tensor[];
  readonly idxDtype: 'int64' | 'int32';
  readonly idxDims: readonly number[];
  /** Valid indices, some negative where the op wraps them. */
  readonly good: readonly bigint[];
  /** Where a bad value goes in the index tensor, the size it indexes there, and whether negatives wrap. */
  readonly at: number;
  readonly size: number;
  readonly wraps: boolean;
}

function make(name: string, build: (b: GraphBuilder, i: string) => string, data: Tensor[], idxDtype: 'int64' | 'int32', idxDims: number[],
  good: bigint[], at: number, size: number, wraps = true): BoundsCase {
  const b = new GraphBuilder(name);
  const i = b.input('i', idxDtype, idxDims);
  b.output(build(b, i));
  return { name, node: `my_${name}`, model: b.model({ source: `${name}.onnx` }), data, idxDtype, idxDims, good, at, size, wraps };
}

const f32 = (dims: number[], seed: number): Tensor => randTensor(dims, seed);

const CASES: BoundsCase[] = [
  make('Gather', (b, i) => b.node('Gather', [b.input('x', 'float32', [4, 3]), i], { axis: 0 }, 1, 'my_Gather')[0]!,
    [f32([4, 3], 1)], 'int64', [3], [1n, -1n, -4n], 1, 4),
  // axis 1: several outer rows, so the indices are checked once up front (the hoisted path)
  make('Gather_axis1', (b, i) => b.node('Gather', [b.input('x', 'float32', [2, 5]), i], { axis: 1 }, 1, 'my_Gather_axis1')[0]!,
    [f32([2, 5], 2)], 'int64', [2, 2], [0n, -5n, 4n, -1n], 3, 5),
  make('Gather_i32', (b, i) => b.node('Gather', [b.input('x', 'float32', [6]), i], { axis: 0 }, 1, 'my_Gather_i32')[0]!,
    [f32([6], 3)], 'int32', [2], [5n, -6n], 0, 6),
  make('GatherElements', (b, i) => b.node('GatherElements', [b.input('x', 'float32', [3, 4]), i], { axis: 1 }, 1, 'my_GatherElements')[0]!,
    [f32([3, 4], 4)], 'int64', [3, 2], [0n, -1n, 3n, -4n, 2n, 1n], 4, 4),
  make('GatherND', (b, i) => b.node('GatherND', [b.input('x', 'float32', [3, 4]), i], {}, 1, 'my_GatherND')[0]!,
    [f32([3, 4], 5)], 'int64', [2, 2], [2n, -1n, -3n, 3n], 3, 4),
  make('ScatterElements', (b, i) => b.node('ScatterElements', [b.input('x', 'float32', [3, 4]), i, b.input('u', 'float32', [2, 2])], { axis: 0 }, 1, 'my_ScatterElements')[0]!,
    [f32([3, 4], 6), f32([2, 2], 7)], 'int64', [2, 2], [2n, -1n, 0n, -3n], 2, 3),
  make('ScatterElements_add', (b, i) => b.node('ScatterElements', [b.input('x', 'float32', [5]), i, b.input('u', 'float32', [2])], { axis: 0, reduction: 'add' }, 1, 'my_ScatterElements_add')[0]!,
    [f32([5], 8), f32([2], 9)], 'int32', [2], [4n, -5n], 1, 5),
  make('ScatterND', (b, i) => b.node('ScatterND', [b.input('x', 'float32', [4, 3]), i, b.input('u', 'float32', [2, 3])], {}, 1, 'my_ScatterND')[0]!,
    [f32([4, 3], 10), f32([2, 3], 11)], 'int64', [2, 1], [3n, -4n], 0, 4),
  // loss targets are class positions: no wrapping, [0, C)
  make('NegativeLogLikelihoodLoss', (b, i) => b.node('NegativeLogLikelihoodLoss', [b.input('x', 'float32', [3, 5]), i], { reduction: 'none' }, 1, 'my_NegativeLogLikelihoodLoss')[0]!,
    [f32([3, 5], 12)], 'int64', [3], [4n, 0n, 2n], 2, 5, false),
];

/** The out-of-range values tried at position `at`: past each end, and (int64) values a 32-bit truncation would
 *  read as in range (2^32 + 1 acts as 1) or that overflow an i32 (2^31, the extremes of int64). */
function badValues(c: BoundsCase): bigint[] {
  const n = BigInt(c.size);
  const vals = [n, c.wraps ? -n - 1n : -1n, n + 7n];
  if (c.idxDtype === 'int32') return [...vals, 2n ** 31n - 1n, -(2n ** 31n)];
  return [...vals, 2n ** 31n, 2n ** 32n + 1n, 2n ** 32n - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
}

const indexTensor = (c: BoundsCase, vals: readonly bigint[]): Tensor =>
  fromValues(c.idxDtype, c.idxDims, c.idxDtype === 'int64' ? vals : vals.map(Number));
const withBad = (c: BoundsCase, v: bigint): bigint[] => c.good.map((g, k) => (k === c.at ? v : g));
const inputsOf = (c: BoundsCase, vals: readonly bigint[]): Tensor[] => [indexTensor(c, vals), ...c.data];
const feedsOf = (c: BoundsCase, vals: readonly bigint[]): Record<string, TensorValue> =>
  Object.fromEntries(c.model.graph.inputs.map((n, k) => [n, toTensorValue(inputsOf(c, vals)[k]!)]));

function thrown(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  throw new Error('expected an error, got a result');
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('index bounds: every backend gives the reference answer or a typed error naming the node', () => {
  it('the runtime keeps the same error record layout as the compiler', () => {
    expect(RUNTIME_RECORD).toEqual(ABI_RECORD);
    expect(ERROR_CODE).toEqual({ index: 1, position: 2, loop: 3, trips: 4 });
  });

  for (const c of CASES) {
    describe(c.name, () => {
      const reference = (async () => (await loadBackend('reference')).prepare(c.model))();
      const expectedOf = async (): Promise<Tensor> => (await reference).run(inputsOf(c, c.good))[0] as Tensor;

      for (const backend of ['wasm', 'wasm-O3'] as const) {
        it(`${backend}: in-range indices (negatives included) match the reference; out-of-range ones are a KernelError`, async () => {
          const expected = await expectedOf(), ref0 = await reference;
          const p = (await loadBackend(backend)).prepare(c.model);
          const ok = p.run(inputsOf(c, c.good))[0] as Tensor;
          expect(Array.from(ok.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
          for (const v of badValues(c)) {
            const ref = thrown(() => ref0.run(inputsOf(c, withBad(c, v))));
            expect(ref, `reference, index ${v}`).toBeInstanceOf(KernelError);
            expect((ref as KernelError).site.node).toBe(c.node);
            const e = thrown(() => p.run(inputsOf(c, withBad(c, v))));
            expect(e, `${backend}, index ${v}`).toBeInstanceOf(KernelError);
            expect((e as KernelError).site).toMatchObject({ node: c.node, op: c.model.graph.nodes[0]!.op, model: `${c.name}.onnx` });
            expect((e as KernelError).message).toContain(`index ${v} is out of range`);
            expect((e as KernelError).describe()).not.toContain('\n');
          }
        });
      }

      it('compiled artifact: loader.js and the typed runtime throw OnnxcRuntimeError, then run on correctly', async () => {
        const expected = await expectedOf();
        const dir = mkdtempSync(join(tmpdir(), 'onnxc-bounds-'));
        dirs.push(dir);
        const r = compileToDir(c.model, 'wasm', dir, {});
        const loader = await import(pathToFileURL(join(dir, 'loader.js')).href) as {
          createSession(): Promise<{ run(f: object): Promise<Record<string, TensorValue>> }>;
        };
        const shipped = await loader.createSession();
        const typed = await createSession({ wasm: r.artifact.wasm, manifest: r.artifact.manifest, weights: r.artifact.weights });
        for (const s of [shipped, typed]) {
          for (const v of badValues(c)) {
            const e = await s.run(feedsOf(c, withBad(c, v))).then(() => undefined, (x: unknown) => x);
            expect(e, `index ${v}`).toMatchObject({ name: 'OnnxcRuntimeError', code: 'index-out-of-range', node: c.node });
            expect((e as Error).message).toContain(`index ${v} is out of range`);
            expect((e as Error).message).toContain(`'${c.node}'`);
            if (s === typed) expect(e).toBeInstanceOf(OnnxcRuntimeError);
            // a trap leaves the session usable: the next good run gives the right answer
            const ok = (await s.run(feedsOf(c, c.good)))[c.model.graph.outputs[0]!]!;
            expect(Array.from(ok.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
          }
        }
      });
    });
  }
});

describe('index bounds: constant indices are checked at compile time', () => {
  function constGather(idx: Tensor, dtype: DType = 'float32') {
    const b = new GraphBuilder('const_gather');
    b.output(b.node('Gather', [b.input('x', dtype, [4]), b.weight('idx', idx)], { axis: 0 }, 1, 'const_gather')[0]!);
    return b.model({ source: 'const_gather.onnx' });
  }

  it('a constant Gather index of 100 on 4 elements is a KernelError naming the node on every backend', async () => {
    const model = constGather(fromValues('int64', [1], [100n]));
    const x = f32([4], 1);
    for (const backend of ['reference', 'wasm', 'wasm-O3']) {
      const be = await loadBackend(backend);
      const e = thrown(() => be.prepare(model).run([x]));
      expect(e, backend).toBeInstanceOf(KernelError);
      expect((e as KernelError).site.node).toBe('const_gather');
      expect((e as KernelError).message).toMatch(/100.*out of range/);
    }
    const dir = mkdtempSync(join(tmpdir(), 'onnxc-bounds-'));
    dirs.push(dir);
    expect(() => compileToDir(model, 'wasm', dir, {})).toThrow(KernelError);
    expect(() => compileWasm(model.graph, {})).toThrow(/Gather index 100 \(constant 'idx'\) is out of range \[-4, 3\]/);
  });

  it('int64 constants past 2^32 are not truncated into range', () => {
    const e = thrown(() => compileWasm(constGather(fromValues('int64', [2], [2n ** 32n + 1n, 0n])).graph, {}));
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).message).toContain('4294967297');
  });

  it('a valid constant index (negative included) carries no run-time check and gives the right answer', async () => {
    const model = constGather(fromValues('int64', [2], [-1n, 2n]));
    const x = f32([4], 3);
    const y = (await loadBackend('wasm')).prepare(model).run([x])[0] as Tensor;
    expect(Array.from(y.data as Float32Array)).toEqual([(x.data as Float32Array)[3], (x.data as Float32Array)[2]]);
  });

  // (shape inference refuses it first; the wasm kernel checks k again before it emits a selection past the line)
  it('TopK with a constant k past the axis is refused before anything runs', async () => {
    const b = new GraphBuilder('topk');
    const x = b.input('x', 'float32', [2, 3]);
    b.output(...b.node('TopK', [x, b.weight('k', fromValues('int64', [1], [5n]))], { axis: 1 }, 2, 'my_topk'));
    const be = await loadBackend('wasm');
    const e = thrown(() => be.prepare(b.model({ source: 'topk.onnx' })).run([f32([2, 3], 1)]));
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(TypeError);
    expect((e as KernelError).describe?.() ?? String(e)).toMatch(/my_topk.*k 5/);
  });
});

describe('other traps name their node too', () => {
  const b = new GraphBuilder('div');
  b.output(b.node('Div', [b.input('a', 'int32', [3]), b.input('b', 'int32', [3])], {}, 1, 'my_div')[0]!);
  const model = b.model({ source: 'div.onnx' });
  const inputs = [fromValues('int32', [3], [1, 2, 3]), fromValues('int32', [3], [1, 0, 1])];

  it('an integer division by zero is a KernelError naming the node on the wasm backends, not an internal error', async () => {
    for (const backend of ['reference', 'wasm', 'wasm-O3']) {
      const be = await loadBackend(backend);
      const e = thrown(() => be.prepare(model).run(inputs));
      expect(e, backend).toBeInstanceOf(KernelError);
      expect((e as KernelError).site).toMatchObject({ node: 'my_div', op: 'Div' });
      expect((e as KernelError).message).toMatch(/division by zero|divide by zero/);
    }
  });

  it('the runtime reports it as OnnxcRuntimeError code kernel', async () => {
    const a = compileWasm(model.graph, { source: 'div.onnx' });
    const s = await createSession({ wasm: a.wasm, manifest: a.manifest });
    const e = await s.run(Object.fromEntries(model.graph.inputs.map((n, k) => [n, toTensorValue(inputs[k]!)]))).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(OnnxcRuntimeError);
    expect(e).toMatchObject({ code: 'kernel', node: 'my_div' });
    expect((e as Error).message).toBe("onnxc: div.onnx: node 'my_div' (Div): the kernel trapped: divide by zero");
  });
});

it('a node name with a newline and ANSI escapes stays one printable line in the runtime error', async () => {
  const b = new GraphBuilder('evil');
  b.output(b.node('Gather', [b.input('x', 'float32', [2]), b.input('i', 'int64', [1])], { axis: 0 }, 1, 'bad\n\u001b[31mnode')[0]!);
  const a = compileWasm(b.build(), { source: 'evil\u001b[0m.onnx' });
  const s = await createSession({ wasm: a.wasm, manifest: a.manifest });
  const e = await s.run({ x: toTensorValue(f32([2], 1)), i: toTensorValue(fromValues('int64', [1], [2n])) }).then(() => undefined, (x: unknown) => x);
  expect(e).toMatchObject({ code: 'index-out-of-range', node: 'bad\n\u001b[31mnode' });
  expect((e as Error).message).toBe("onnxc: evil\\x1b[0m.onnx: node 'bad\\x0a\\x1b[31mnode' (Gather): index 2 is out of range [-2, 1] (axis size 2)");
});

describe('index bounds, property: random shapes and indices (in and out of range) agree with the reference', () => {
  // one compile per drawn shape, many index vectors per compile (the typed runtime, mapped as the CLI maps it)
  it('Gather: wasm answers exactly as the reference, or both refuse, naming the same node', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.nat({ max: 2 }), fc.integer({ min: 1, max: 5 }),
      fc.array(fc.array(fc.bigInt({ min: -12n, max: 12n }), { minLength: 5, maxLength: 5 }), { minLength: 4, maxLength: 4 }),
      async (dims, axis0, count, draws) => {
        const axis = axis0 % dims.length;
        const b = new GraphBuilder('prop');
        b.output(b.node('Gather', [b.input('x', 'float32', dims), b.input('i', 'int64', [count])], { axis }, 1, 'g')[0]!);
        const g = b.build();
        const x = f32(dims, 3);
        const a = compileWasm(g, { source: 'prop.onnx' });
        const s = await createSession({ wasm: a.wasm, manifest: a.manifest });
        const ref = (await loadBackend('reference')).prepare({ graph: g, info: { source: 'prop.onnx' } } as Model);
        for (const d of draws) {
          const i = fromValues('int64', [count], d.slice(0, count));
          let want: Tensor | undefined, wantErr: unknown;
          try { want = ref.run([x, i])[0] as Tensor; } catch (e) { wantErr = e; }
          const got = await s.run({ x: toTensorValue(x), i: toTensorValue(i) }).then((o) => o[g.outputs[0]!]!, (e: unknown) => e as Error);
          if (wantErr) {
            expect(wantErr).toBeInstanceOf(KernelError);
            expect(got).toMatchObject({ code: 'index-out-of-range', node: 'g' });
          } else {
            expect(Array.from((got as TensorValue).data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
          }
        }
      }), { numRuns: 15, seed: 14 });
  }, 120_000);
});

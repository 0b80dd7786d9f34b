// Every run checks its feeds against the model's declared inputs (dtype, rank, fixed dims) before anything runs,
// on the reference and the wasm backends alike, and compile refuses shapes that contradict the model or that the
// wasm target cannot address: typed errors naming the model, the input or value, and the rule.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackend } from '../../compiler/backends.js';
import { compileToDir } from '../../compiler/compile.js';
import { OnnxcError, ShapeError } from '../../ir/errors.js';
import type { Attr, Graph, Model, Node } from '../../ir/graph.js';
import { attrGraph } from '../../ir/graph.js';
import { fromValues, makeTensor, scalar, type Tensor } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import type { RuntimeValue } from '../../ir/value.js';
import { GraphBuilder } from '../../models/builder.js';
import { inferGraph } from '../../ops/infer-graph.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'onnxc-inputs-')); dirs.push(d); return d; };

/** Token ids into an embedding table: ids int64[1,8]. */
function embedding(): Model {
  const b = new GraphBuilder('embed');
  const ids = b.input('input_ids', 'int64', [1, 8]);
  const table = b.weight('wte', fromValues('float32', [16, 2], Array.from({ length: 32 }, (_, i) => i)));
  b.output(b.node('Gather', [table, ids], { axis: 0 }, 1, 'embed')[0]!);
  return b.model({ source: 'embed.onnx' });
}

/** An image model with fixed dims: float32[1,3,224,224]. */
function image(): Model {
  const b = new GraphBuilder('image');
  b.output(b.node('Relu', [b.input('pixels', 'float32', [1, 3, 224, 224])], {}, 1, 'relu')[0]!);
  return b.model({ source: 'image.onnx' });
}

const ids = (dtype: 'int64' | 'int32' | 'float32', dims = [1, 8]): Tensor =>
  fromValues(dtype, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (dtype === 'int64' ? BigInt(i) : i)));

async function errorOf(backend: string, model: Model, inputs: RuntimeValue[]): Promise<unknown> {
  const p = (await loadBackend(backend)).prepare(model);
  try { await p.run(inputs); } catch (e) { return e; }
  throw new Error(`${backend}: expected an error, got a result`);
}

describe('feeds are checked against the declared inputs on every backend', () => {
  const cases: [string, () => Model, () => RuntimeValue[], RegExp][] = [
    ['token ids as float32', embedding, () => [ids('float32')], /input 'input_ids' is declared int64\[1,8\] but was given float32\[1,8\]: its element type must be int64/],
    ['token ids as int32', embedding, () => [ids('int32')], /input 'input_ids'.*given int32\[1,8\]: its element type must be int64/],
    ['rank-1 ids for a rank-2 input', embedding, () => [ids('int64', [8])], /input 'input_ids'.*given int64\[8\]: its rank must be 2/],
    ['a 224x223 image for a 224x224 input', image, () => [makeTensor('float32', [1, 3, 224, 223])], /input 'pixels' is declared float32\[1,3,224,224\].*dim 3 must be 224/],
  ];
  for (const backend of ['reference', 'wasm', 'wasm-O3']) {
    for (const [what, model, inputs, message] of cases) {
      it(`${backend}: ${what} is a ShapeError naming the model, the input and the rule`, async () => {
        const e = await errorOf(backend, model(), inputs());
        expect(e).toBeInstanceOf(ShapeError);
        expect((e as ShapeError).site.model).toBe(model().info.source);
        expect((e as ShapeError).message).toMatch(message);
      });
    }
  }

  it('a matching feed still runs (symbolic dims take any size)', async () => {
    const b = new GraphBuilder('sym');
    b.output(b.node('Relu', [b.input('x', 'float32', ['batch', 3])], {}, 1, 'relu')[0]!);
    const model = b.model({ source: 'sym.onnx' });
    for (const backend of ['reference', 'wasm']) {
      const y = (await (await loadBackend(backend)).prepare(model).run([makeTensor('float32', [5, 3])]))[0] as Tensor;
      expect(y.dims).toEqual([5, 3]);
    }
  });
});

describe('control-flow conditions fed with the wrong type (reference)', () => {
  let counter = 0;
  const node = (op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): Node => ({ name: `${op}_${counter++}`, op, inputs, outputs, attrs });
  const graph = (name: string, inputs: [string, ValueType][], outputs: string[], nodes: Node[]): Graph =>
    ({ name, inputs: inputs.map(([n]) => n), outputs, nodes, initializers: new Map(), types: new Map(inputs) });
  const T = (dtype: 'float32' | 'int64' | 'bool', shape: number[]): ValueType => ({ kind: 'tensor', dtype, shape });

  it('an int64 If condition is refused', async () => {
    const then = graph('then', [], ['t'], [node('Identity', ['x'], ['t'])]);
    const els = graph('else', [], ['e'], [node('Neg', ['x'], ['e'])]);
    const g = inferGraph(graph('main', [['c', T('bool', [])], ['x', T('float32', [2])]], ['y'],
      [node('If', ['c'], ['y'], { then_branch: attrGraph(then), else_branch: attrGraph(els) })]));
    const model: Model = { graph: g, info: { source: 'if.onnx' } } as Model;
    const e = await errorOf('reference', model, [scalar('int64', 1n), fromValues('float32', [2], [1, 2])]);
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as Error).message).toMatch(/input 'c' is declared bool\[\].*its element type must be bool/);
  });

  it('a float Loop condition is refused', async () => {
    const body = graph('body', [['i', T('int64', [])], ['cin', T('bool', [])], ['y_in', T('float32', [1])]], ['cout', 'y_out'],
      [node('Identity', ['cin'], ['cout']), node('Neg', ['y_in'], ['y_out'])]);
    const g = inferGraph(graph('main', [['m', T('int64', [])], ['c', T('bool', [])], ['y0', T('float32', [1])]], ['y'],
      [node('Loop', ['m', 'c', 'y0'], ['y'], { body: attrGraph(body) })]));
    const model: Model = { graph: g, info: { source: 'loop.onnx' } } as Model;
    const e = await errorOf('reference', model, [scalar('int64', 2n), scalar('float32', 1), fromValues('float32', [1], [3])]);
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as Error).message).toMatch(/input 'c' is declared bool\[\].*its element type must be bool/);
  });
});

describe('compile refuses shapes that contradict the model or the target', () => {
  it('input shapes contradicting a fixed dim (compile --inputs, run --backend wasm)', () => {
    const dir = tmp();
    expect(() => compileToDir(image(), 'wasm', dir, { inputShapes: { pixels: [1, 3, 224, 223] } })).toThrow(/input 'pixels' is declared float32\[1,3,224,224\] but was given \[1,3,224,223\]: dim 3 must be 224/);
    expect(() => compileToDir(embedding(), 'wasm', dir, { inputShapes: { input_ids: [8] } })).toThrow(/its rank must be 2/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('dims [2^31, 2^31, 2^31] are a typed error naming the limit, and no artifact is written', () => {
    const b = new GraphBuilder('huge');
    b.output(b.node('Relu', [b.input('x', 'float32', ['a', 'b', 'c'])], {}, 1, 'relu')[0]!);
    const model = b.model({ source: 'huge.onnx' });
    const dir = join(tmp(), 'out');
    let err: unknown;
    try { compileToDir(model, 'wasm', dir, { dims: { a: 2 ** 31, b: 2 ** 31, c: 2 ** 31 } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OnnxcError);
    const msg = (err as OnnxcError).describe();
    expect(msg).not.toContain('\n');
    expect(msg).not.toMatch(/wasm-validator|pages/);
    expect(msg).toMatch(/huge\.onnx/);
    expect(msg).toMatch(/limit|at most|largest/);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
  });

  it('a memory plan past 2 GiB in total is refused before Binaryen sees it', () => {
    // three 800 MiB tensors alive at once (x, relu, neg): each fits a buffer, together they do not fit
    const b = new GraphBuilder('big');
    const x = b.input('x', 'float32', [200, 1024, 1024]);
    b.output(b.node('Relu', [x], {}, 1, 'relu')[0]!, b.node('Neg', [x], {}, 1, 'neg')[0]!);
    let err: unknown;
    try { compileToDir(b.model({ source: 'big.onnx' }), 'wasm', join(tmp(), 'out'), {}); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(OnnxcError);
    expect((err as OnnxcError).describe()).toMatch(/big\.onnx: the module needs 2516582464 bytes of linear memory.*at most 2147483648 bytes/);
  });
});

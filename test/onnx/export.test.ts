// The exporter: imported models written back out load in onnxruntime-node and compute what the originals do.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportModel } from '../../compiler/onnx/export.js';
import { importModel, loadModel } from '../../compiler/onnx/import.js';
import { readTensorFile } from '../../compiler/onnx/tensor-proto.js';
import type { Tensor } from '../../ir/tensor.js';
import { attrG, graph, model, node, vi } from './build.js';

function ortTensor(t: Tensor): ort.Tensor {
  const type = t.dtype === 'float32' ? 'float32' : t.dtype === 'int64' ? 'int64' : t.dtype === 'int32' ? 'int32' : undefined;
  if (!type) throw new Error(`test feeds ${t.dtype}`);
  return new ort.Tensor(type, t.data as Float32Array, [...t.dims]);
}

async function runBoth(original: Uint8Array, exported: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number> {
  const a = await (await ort.InferenceSession.create(original)).run(feeds);
  const b = await (await ort.InferenceSession.create(exported)).run(feeds);
  let worst = 0;
  for (const k of Object.keys(a)) {
    const x = a[k]!.data as Float32Array; const y = b[k]!.data as Float32Array;
    expect(b[k]!.dims).toEqual(a[k]!.dims);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return worst;
}

describe('export', () => {
  it('writes symbolic dims, subgraphs and attributes that onnxruntime loads', async () => {
    const then = graph([node('Relu', ['x'], ['t'])], [], [vi('t', 1, ['n'])]);
    const els = graph([node('LeakyRelu', ['x'], ['e'])], [], [vi('e', 1, ['n'])]);
    const bytes = model(graph(
      [node('If', ['c'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
      [vi('c', 9, []), vi('x', 1, ['n'])], [vi('y', 1, ['n'])],
    ));
    const out = exportModel(importModel(bytes));
    const x = new ort.Tensor('float32', new Float32Array([-1, 2]), [2]);
    for (const c of [0, 1]) {
      const worst = await runBoth(bytes, out, { c: new ort.Tensor('bool', new Uint8Array([c]), []), x });
      expect(worst).toBe(0);
    }
  });

  const root = '/work/shared/models';
  const models = existsSync(root) ? readdirSync(root).flatMap((d) => {
    try {
      const f = readdirSync(join(root, d)).find((x) => x.endsWith('.onnx'));
      return f && existsSync(join(root, d, 'test_data_set_0')) ? [{ name: d, path: join(root, d, f), data: join(root, d, 'test_data_set_0') }] : [];
    } catch { return []; }
  }) : [];
  for (const m of models) {
    it(`round-trips ${m.name} through import and export with the same onnxruntime outputs`, async () => {
      const imported = loadModel(m.path);
      const exported = exportModel(imported);
      const feeds: Record<string, ort.Tensor> = {};
      imported.graph.inputs.forEach((name, k) => { feeds[name] = ortTensor(readTensorFile(join(m.data, `input_${k}.pb`))); });
      const worst = await runBoth(readFileSync(m.path), exported, feeds);
      expect(worst).toBeLessThanOrEqual(1e-4);
    }, 120_000);
  }
});

// `onnxc coverage --target webgpu`: the graph as the webgpu compile sees it, its kernels' refusals (compile-time
// only: no adapter needed). TopK (no webgpu kernel yet) is refused on webgpu with its reason and lowered on wasm; the CLI accepts the target and exits 1 on the refusal.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli.js';
import { coverageReport } from '../../compiler/cli-coverage.js';
import { exportModel } from '../../compiler/onnx/export.js';
import { fromValues } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';

const dir = mkdtempSync(join(tmpdir(), 'onnxc-coverage-webgpu-'));
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

function topkModel(): string {
  const b = new GraphBuilder('topk');
  const x = b.input('x', 'float32', [2, 5]);
  const r = b.op('Relu', [x]);
  const [values] = b.node('TopK', [r, b.weight('k', fromValues('int64', [1], [2n]))], { axis: 1 }, 2, 'pick');
  b.output(r, values!);
  const path = join(dir, 'topk.onnx');
  writeFileSync(path, exportModel(b.model({ source: 'topk' })));
  return path;
}

describe('onnxc coverage --target webgpu', () => {
  it('reports the webgpu kernels\' refusals (TopK) where wasm lowers everything', () => {
    const path = topkModel();
    const w = coverageReport(path, { target: 'webgpu' });
    expect(w.target).toBe('webgpu');
    expect(w.unsupported.map((u) => [u.node, u.op, u.reason])).toEqual([['pick', 'TopK', 'missing-kernel']]);
    expect(w.supported).toBe(w.nodes - 1);
    expect(coverageReport(path, { target: 'wasm' }).unsupported).toEqual([]);
  });

  it('the CLI takes --target webgpu and exits 1 when a node cannot be lowered', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    expect(await main(['coverage', topkModel(), '--target', 'webgpu'])).toBe(1);
    expect(out.join('\n')).toMatch(/topk\.onnx on webgpu: 1 of 2 run-time nodes can be lowered, 1 cannot/);
    expect(out.join('\n')).toMatch(/pick \(TopK\): missing-kernel/);
  });
});

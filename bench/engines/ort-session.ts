// One onnxruntime InferenceSession as a benchmark engine; onnxruntime-node and onnxruntime-web differ only in
// how the package is loaded and configured, which their engine files do.

import { readFileSync } from 'node:fs';
import type { Tensor } from '../../ir/tensor.js';
import type { ModelInputs } from '../models.js';
import { fromOrt, toOrt, type OrtTensorCtor } from './ort-tensor.js';
import type { PreparedEngine } from './types.js';

/** The part of either package's InferenceSession the benchmark uses. */
interface Session {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; dims: readonly number[]; data: unknown }>>;
  release(): Promise<void>;
}
export interface OrtPackage {
  readonly Tensor: unknown;
  readonly InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<unknown> };
}

export async function ortSession(pkg: OrtPackage, modelPath: string, options: Record<string, unknown>): Promise<PreparedEngine> {
  const bytes = readFileSync(modelPath);
  const t0 = performance.now();
  const session = (await pkg.InferenceSession.create(bytes, options)) as Session;
  const loadMs = performance.now() - t0;
  const Ctor = pkg.Tensor as OrtTensorCtor;
  return {
    info: { loadMs },
    async run(feeds: ModelInputs['feeds']): Promise<Tensor[]> {
      const ortFeeds: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(Ctor, t);
      const out = await session.run(ortFeeds);
      return session.outputNames.map((n) => fromOrt(out[n]!));
    },
    dispose: () => session.release(),
  };
}

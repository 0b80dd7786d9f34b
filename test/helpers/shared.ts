// Where the shared test data lives: $ONNXC_SHARED, default ../shared beside the repository.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = resolve(process.env.ONNXC_SHARED ?? join(repo, '..', 'shared'));

/** The path under the shared folder, or undefined (with the reason logged once) when it is absent. */
export function sharedPath(...parts: string[]): string | undefined {
  const p = join(SHARED, ...parts);
  return existsSync(p) ? p : undefined;
}

export function missingReason(...parts: string[]): string {
  return `shared test data not found at ${join(SHARED, ...parts)} (set ONNXC_SHARED to the shared folder)`;
}

export interface SharedModel {
  name: string;
  dir: string;
  model: string;
  dataSets: string[];
}

/** The real models of shared/models: each folder with one .onnx file and test_data_set_* folders. */
export function sharedModels(): SharedModel[] {
  const root = sharedPath('models');
  if (!root) return [];
  return readdirSync(root).sort().flatMap((name) => {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) return [];
    const files = readdirSync(dir);
    const model = files.find((f) => f.endsWith('.onnx'));
    if (!model) return [];
    const dataSets = files.filter((f) => f.startsWith('test_data_set') && statSync(join(dir, f)).isDirectory()).map((f) => join(dir, f));
    return [{ name, dir, model: join(dir, model), dataSets }];
  });
}

// minilm_l6_dyn: onnxruntime's x86 MatMulInteger (uint8 x int8 weights) saturates pairwise products at int16
// (255*127 + 255*127 gives 65534 in onnxruntime 1.30 here, 129540 exactly, see test/models/ort-quirks.test.ts),
// and the quantised layers amplify it: the exact result differs from the expected outputs by 1.42e-2 of the
// pooler output's max |value| (measured), so this model is held to 2e-2 rather than 1e-2.
const TOLERANCE: Record<string, number> = { mobilenet_v2_qdq: 1e-2, minilm_l6_dyn: 2e-2, mobilenet_v2_fp16: 1e-3 };

/** Max abs error allowed for a shared model's outputs, relative to each output's max |value|. */
export function modelTolerance(name: string): number {
  return TOLERANCE[name] ?? 1e-4;
}

// A WebGPU artifact on disk: manifest.json (dispatch list, buffer plan, WGSL sources), weights.bin, and each shader
// as shader_K.wgsl for reading (the manifest's copy is the one loaded). What `onnxc compile --target webgpu`
// writes once the CLI takes the target (compiler/compile.ts, owned by the lowering core's driver).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxcError } from '../../ir/errors.js';
import type { WebGpuArtifact, WebGpuManifest } from '../../runtime/webgpu/types.js';

export const WEIGHTS_FILE = 'weights.bin';

export function writeWebGpuArtifact(dir: string, art: WebGpuArtifact): { files: string[]; bytes: number } {
  mkdirSync(dir, { recursive: true });
  const manifest: WebGpuManifest = { ...art.manifest, weights: { ...art.manifest.weights, file: WEIGHTS_FILE } };
  const files: [string, string | Uint8Array][] = [
    ['manifest.json', JSON.stringify(manifest, null, 1)],
    [WEIGHTS_FILE, art.weights],
    ...art.manifest.shaders.map((s, k): [string, string] => [`shader_${k}.wgsl`, s]),
  ];
  let bytes = 0;
  for (const [name, data] of files) { writeFileSync(join(dir, name), data); bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength; }
  return { files: files.map(([n]) => n), bytes };
}

export function readWebGpuArtifact(dir: string): WebGpuArtifact {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WebGpuManifest;
  if (manifest.format !== 'onnxc-webgpu/1') throw new OnnxcError(`${dir} is not a WebGPU artifact (format ${String(manifest.format)})`);
  const weights = new Uint8Array(readFileSync(join(dir, manifest.weights.file ?? WEIGHTS_FILE)));
  return { manifest, weights };
}

// A WebGPU artifact on disk: manifest.json (dispatch list, buffer plan, WGSL sources), weights.bin, loader.js +
// loader.d.ts (the runtime, bundled: runtime/webgpu/loader-entry.ts) and each shader as shader_K.wgsl for reading
// (the manifest's copy is the one loaded). What `onnxc compile --target webgpu` writes.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxcError } from '../../ir/errors.js';
import type { Model } from '../../ir/graph.js';
import type { PipelineChoice } from '../../lowering/compile-for.js';
import type { ShapeOptions } from '../../lowering/prepare.js';
import { webgpuLoaderFiles } from '../../runtime/webgpu/loader-source.js';
import type { WebGpuArtifact, WebGpuManifest } from '../../runtime/webgpu/types.js';
import { compileWebGpuModel } from './compile.js';

export const WEIGHTS_FILE = 'weights.bin';

/** Write `art` into `dir`; returns each file's size in bytes. */
export function writeWebGpuArtifact(dir: string, art: WebGpuArtifact): { files: Record<string, number>; bytes: number } {
  mkdirSync(dir, { recursive: true });
  const manifest: WebGpuManifest = { ...art.manifest, weights: { ...art.manifest.weights, file: WEIGHTS_FILE } };
  const entries: [string, string | Uint8Array][] = [
    ['manifest.json', `${JSON.stringify(manifest, null, 1)}\n`],
    [WEIGHTS_FILE, art.weights],
    ...Object.entries(webgpuLoaderFiles()),
    ...art.manifest.shaders.map((s, k): [string, string] => [`shader_${k}.wgsl`, s]),
  ];
  const files: Record<string, number> = {};
  let bytes = 0;
  for (const [name, data] of entries) {
    writeFileSync(join(dir, name), data);
    files[name] = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    bytes += files[name]!;
  }
  return { files, bytes };
}

export function readWebGpuArtifact(dir: string): WebGpuArtifact {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WebGpuManifest;
  if (manifest.format !== 'onnxc-webgpu/1') throw new OnnxcError(`${dir} is not a WebGPU artifact (format ${String(manifest.format)})`);
  const weights = new Uint8Array(readFileSync(join(dir, manifest.weights.file ?? WEIGHTS_FILE)));
  return { manifest, weights };
}

/** Compile `model` for webgpu (default -O3) and write the artifact folder. */
export function compileWebGpuToDir(model: Model, dir: string, opts: Omit<ShapeOptions, 'source'> = {}, pipeline: PipelineChoice = { level: 3 }): { artifact: WebGpuArtifact; files: Record<string, number> } {
  const { artifact } = compileWebGpuModel(model.graph, { ...opts, source: model.info.source }, pipeline);
  return { artifact, files: writeWebGpuArtifact(dir, artifact).files };
}

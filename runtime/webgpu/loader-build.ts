// Building a WebGPU artifact's loader.js and loader.d.ts from the runtime's own TypeScript: esbuild bundles
// loader-entry.ts with what it imports; the declarations are types.ts (declarations only) plus the session's
// surface. Used by `npm run build` (scripts/build-loader.mjs) and, from source, by loader-source.ts.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const WEBGPU_LOADER_BANNER = '// onnxc webgpu loader (built from onnxc/runtime/webgpu): createSession() loads manifest.json and weights.bin from this folder onto a GPUDevice.';

function declarations(typesSource: string): string {
  return `/// <reference types="@webgpu/types" />
${WEBGPU_LOADER_BANNER}
${typesSource.replace(/^\/\/.*\n/gm, '')}
export type RuntimeErrorCode = 'feed' | 'index-out-of-range' | 'busy' | 'artifact' | 'kernel';
export declare class OnnxcRuntimeError extends Error {
  constructor(message: string, code: RuntimeErrorCode, node?: string, io?: string);
  readonly code: RuntimeErrorCode;
  readonly node?: string;
  readonly io?: string;
}
export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;
export interface TensorValue { readonly type: string; readonly dims: readonly number[]; readonly data: TypedArray }
/** An output left on the GPU (runOnGpu): feed it to another session's run, read() it, destroy() it. */
export interface GpuTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  read(): Promise<TensorValue>;
  destroy(): void;
}
export interface WebGpuSessionOptions {
  /** The device to run on; by default one from navigator.gpu. */
  readonly device?: GPUDevice;
  /** How to fetch http(s) URLs (default: the global fetch). */
  readonly fetch?: (url: string) => Promise<Response>;
}
export interface WebGpuSession {
  readonly manifest: WebGpuManifest;
  readonly device: GPUDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Feeds by input name: {type, dims, data} or a GpuTensor; outputs read back to the CPU. */
  run(feeds: Readonly<Record<string, unknown>>): Promise<Record<string, TensorValue>>;
  /** As run, every output left on the GPU in its own buffer (the caller destroys them). */
  runOnGpu(feeds: Readonly<Record<string, unknown>>): Promise<Record<string, GpuTensor>>;
  release(): void;
}
/** Load the artifact in this loader's folder (or \`source\`: a folder URL or {manifest, weights}) and return a session. */
export declare function createSession(source?: string | URL | WebGpuArtifact, options?: WebGpuSessionOptions): Promise<WebGpuSession>;
`;
}

export interface WebGpuLoaderFiles { readonly 'loader.js': string; readonly 'loader.d.ts': string }

/** Bundle loader-entry.ts with esbuild (a build-time tool: a devDependency, loaded only here). */
export function bundleWebGpuLoader(sourceDir: string): WebGpuLoaderFiles {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const r = esbuild.buildSync({
    entryPoints: [`${sourceDir}/loader-entry.ts`], bundle: true, write: false, format: 'esm', platform: 'neutral',
    target: 'es2022', external: ['node:*'], legalComments: 'none', banner: { js: WEBGPU_LOADER_BANNER }, logLevel: 'silent',
  });
  return { 'loader.js': r.outputFiles[0]!.text, 'loader.d.ts': declarations(readFileSync(`${sourceDir}/types.ts`, 'utf8')) };
}

// Building the artifact's loader.js and loader.d.ts from the runtime's own TypeScript: esbuild bundles
// loader-entry.ts with what it imports; the declarations are types.ts (declarations only) plus the two values.
// Used by `npm run build` (scripts/build-loader.mjs) and, run from source, by loader-source.ts.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const LOADER_BANNER = '// onnxc wasm loader (built from onnxc/runtime): createSession() loads model.wasm, manifest.json (and weights.bin) from this folder.';

/** The declarations of loader.js: the runtime's types (types.ts is declarations only) and the two values. */
function declarations(typesSource: string): string {
  return `${LOADER_BANNER}\n${typesSource.replace(/^\/\/.*\n/gm, '')}
export declare class OnnxcRuntimeError extends Error {
  constructor(message: string, code: RuntimeErrorCode, node?: string, io?: string);
  readonly code: RuntimeErrorCode;
  readonly node?: string;
  readonly io?: string;
}
/** Load the artifact in this loader's folder (or \`source\`) and return a session. */
export declare function createSession(source?: ArtifactSource, options?: SessionOptions): Promise<Session>;
`;
}

export interface LoaderFiles { readonly 'loader.js': string; readonly 'loader.d.ts': string }

/** Bundle loader-entry.ts with esbuild (a build-time tool: a devDependency, loaded only here). */
export function bundleLoader(sourceDir: string): LoaderFiles {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const r = esbuild.buildSync({
    entryPoints: [`${sourceDir}/loader-entry.ts`], bundle: true, write: false, format: 'esm', platform: 'neutral',
    target: 'es2022', external: ['node:*'], legalComments: 'none', banner: { js: LOADER_BANNER }, logLevel: 'silent',
  });
  return { 'loader.js': r.outputFiles[0]!.text, 'loader.d.ts': declarations(readFileSync(`${sourceDir}/types.ts`, 'utf8')) };
}


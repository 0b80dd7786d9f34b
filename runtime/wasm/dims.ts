// Run-time dims of a dynamic-dims artifact (manifest `dims`, compiled with `--dim NAME=LO..HI`): each run reads the
// dims' values from the feeds' shapes, checks them against the declared ranges, sets the module's dim globals and
// gives every input and output its shape for this run. Ships to devices: no compiler code.

import { OnnxcRuntimeError } from './errors.js';
import type { IoSpec, WasmManifest } from './types.js';

interface WasmGlobal { value: number }

/** The dims of one run: their values (manifest.dims order) and the manifest with this run's shapes and byte counts. */
export interface RunDims { readonly values: readonly number[]; readonly manifest: WasmManifest }

/** Evaluate a manifest dim: a number, or terms joined by '+' of factors joined by '*' (integers or dim names). */
export function evalDim(d: number | string, env: Readonly<Record<string, number>>): number {
  if (typeof d === 'number') return d;
  let sum = 0;
  for (const term of d.split('+')) {
    let p = 1;
    for (const f of term.split('*')) {
      const v = /^-?\d+$/.test(f) ? Number(f) : env[f];
      if (v === undefined) throw new OnnxcRuntimeError(`onnxc: bad manifest: dim expression '${d}' names '${f}', which is not a run-time dim`, 'artifact');
      p *= v;
    }
    sum += p;
  }
  return sum;
}

/** The module's dim globals, by manifest.dims order (undefined for a static artifact). */
export function dimGlobals(manifest: WasmManifest, exports: Readonly<Record<string, unknown>>): WasmGlobal[] | undefined {
  if (!manifest.dims?.length) return undefined;
  return manifest.dims.map((d) => {
    const g = exports[d.global] as WasmGlobal | undefined;
    if (!g || typeof g !== 'object' || !('value' in g)) throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: the module does not export the dim global '${d.global}' its manifest names`, 'artifact');
    return g;
  });
}

/** This run's dims from the feeds (before the feeds themselves are checked: a feed the dims cannot be read from is
 *  left to that check), each within its range, the same wherever it appears. */
export function runDims(manifest: WasmManifest, feeds: unknown): RunDims | undefined {
  const ranges = manifest.dims;
  if (!ranges?.length) return undefined;
  const fail = (msg: string, io: string): never => { throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: ${msg}`, 'feed', undefined, io); };
  const env: Record<string, number> = {};
  const from: Record<string, string> = {};
  const given = (typeof feeds === 'object' && feeds !== null ? feeds : {}) as Record<string, { dims?: unknown } | undefined>;
  for (const spec of manifest.inputs) {
    const dims = given[spec.name]?.dims;
    if (!spec.shape || !Array.isArray(dims) || dims.length !== spec.shape.length) continue;
    spec.shape.forEach((d, i) => {
      const r = typeof d === 'string' ? ranges.find((x) => x.name === d) : undefined;
      const v = dims[i] as unknown;
      if (!r || typeof v !== 'number' || !Number.isSafeInteger(v)) return;
      if (v < r.min || v > r.max) fail(`input '${spec.name}' dim ${i} ('${r.name}') is ${v}, outside the range ${r.min}..${r.max} the module was compiled for`, spec.name);
      if (env[r.name] !== undefined && env[r.name] !== v) fail(`input '${spec.name}' dim ${i} ('${r.name}') is ${v}, but input '${from[r.name]}' gives ${r.name} = ${env[r.name]}`, spec.name);
      env[r.name] = v;
      from[r.name] ??= spec.name;
    });
  }
  // a dim no feed gave (its feed is missing or malformed: the feed check says so) takes the top of its range
  for (const r of ranges) env[r.name] ??= r.max;
  const resolve = (s: IoSpec): IoSpec => {
    if (!s.shape) return s;
    const count = s.dims.reduce((a, b) => a * b, 1);
    const elem = count > 0 ? s.bytes / count : 0;
    const dims = s.shape.map((d) => evalDim(d, env));
    return { ...s, dims, bytes: dims.reduce((a, b) => a * b, 1) * elem };
  };
  return { values: ranges.map((r) => env[r.name]!), manifest: { ...manifest, inputs: manifest.inputs.map(resolve), outputs: manifest.outputs.map(resolve) } };
}

/** Set the module's dim globals for a run. */
export function setDims(globals: readonly WasmGlobal[] | undefined, run: RunDims | undefined): void {
  if (!globals || !run) return;
  globals.forEach((g, i) => { g.value = run.values[i]!; });
}

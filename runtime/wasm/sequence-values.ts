// Sequence and optional feeds and outputs (manifest `values`): a sequence input is fed as an array of tensors, an
// optional as its value or null; the module sees the tensors the layout names (`x[0]`, `x[1]`), and its outputs are
// gathered back into arrays and nulls. The structure (length, presence) was fixed at compile time: another one is a
// `feed` error naming the input, before any byte is written.

import { OnnxcRuntimeError } from './errors.js';
import type { FeedTensor, FeedValue, RunValue, TensorValue, ValueLayout, WasmManifest } from './types.js';

const kind = (x: unknown): string => (x === null ? 'null' : Array.isArray(x) ? `an array of ${x.length}` : ArrayBuffer.isView(x) ? 'a typed array' : typeof x === 'object' ? 'a tensor' : typeof x);

function describe(l: ValueLayout): string {
  if (l.kind === 'tensor') return 'a tensor';
  if (l.kind === 'sequence') return `a sequence of ${l.items.length} (an array)`;
  return l.value ? `an optional holding ${describe(l.value)}` : 'an empty optional (null)';
}

/** The module's tensor feeds for the model's feeds: sequences spread into their elements, optionals unwrapped.
 *  Feeds for inputs without a layout entry pass through (checkFeeds then refuses unknown names). */
export function spreadFeeds(manifest: WasmManifest, feeds: unknown): Record<string, FeedTensor> {
  const values = manifest.values;
  if (!values || typeof feeds !== 'object' || feeds === null || Array.isArray(feeds)) return feeds as Record<string, FeedTensor>;
  const given = feeds as Record<string, unknown>;
  const names = values.inputs.map((i) => i.name);
  const out: Record<string, FeedTensor> = {};
  for (const k of Object.keys(given)) {
    if (!names.includes(k)) throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: '${k}' is not an input of this model (inputs: ${names.join(', ')})`, 'feed', undefined, k);
  }
  for (const { name, layout } of values.inputs) {
    const fail = (path: string, msg: string): never => { throw new OnnxcRuntimeError(`onnxc: ${manifest.model}: input '${name}'${path} ${msg}`, 'feed', undefined, name); };
    const spread = (l: ValueLayout, f: unknown, path: string): void => {
      if (l.kind === 'tensor') { if (f !== undefined) out[l.io] = f as FeedTensor; return; }
      if (l.kind === 'sequence') {
        if (!Array.isArray(f)) return fail(path, `is ${describe(l)}; got ${f === undefined ? 'no feed' : kind(f)}`);
        if (f.length !== l.items.length) return fail(path, `has ${f.length} elements; the module was compiled for ${l.items.length} (compile again for another length)`);
        l.items.forEach((x, i) => spread(x, f[i], `${path}[${i}]`));
        return;
      }
      if (l.value === null) {
        if (f !== null && f !== undefined) fail(path, `was compiled as an empty optional; got ${kind(f)} (feed null, or compile again with a value)`);
        return;
      }
      if (f === null || f === undefined) return fail(path, `was compiled as ${describe(l)}; got ${f === null ? 'null' : 'no feed'} (compile again for an empty one)`);
      spread(l.value, f, path);
    };
    // a tensor input missing from the feeds stays missing: checkFeeds names it
    if (layoutIsTensor(layout) && given[name] === undefined) continue;
    spread(layout, given[name], '');
  }
  return out;
}

const layoutIsTensor = (l: ValueLayout): boolean => l.kind === 'tensor';

/** The model's outputs gathered from the module's tensor outputs: arrays for sequences, null for empty optionals. */
export function gatherOutputs(manifest: WasmManifest, flat: Readonly<Record<string, TensorValue>>): Record<string, RunValue> {
  const values = manifest.values;
  if (!values) return { ...flat };
  const gather = (l: ValueLayout): RunValue => {
    if (l.kind === 'tensor') return flat[l.io]!;
    if (l.kind === 'sequence') return l.items.map(gather);
    return l.value ? gather(l.value) : null;
  };
  return Object.fromEntries(values.outputs.map((o) => [o.name, gather(o.layout)]));
}

export type { FeedValue, RunValue };

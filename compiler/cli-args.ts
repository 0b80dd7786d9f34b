// Option-value parsers shared by the CLI command files, so that every command reads --dim, --seed, folders and
// numbers the same way and a mistake is one usage error (exit 2) naming the option, never a run on a bad value.

import { statSync } from 'node:fs';
import { UsageError } from '../ir/errors.js';

/** Commander accumulator for a repeatable option. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** --dim NAME=VALUE (repeatable) -> sizes for symbolic dims. */
export function parseDims(values: readonly string[] | undefined): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const v of values ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(v);
    if (!m || !Number.isSafeInteger(Number(m[2]))) throw new UsageError(`--dim expects NAME=VALUE, got '${v}'`);
    dims[m[1]!] = Number(m[2]);
  }
  return dims;
}

/** --pass-option KEY=VALUE (repeatable) -> the options map passes read. */
export function parsePassOptions(values: readonly string[] | undefined): Map<string, string> {
  const options = new Map<string, string>();
  for (const kv of values ?? []) {
    const m = /^([^=]+)=(.*)$/.exec(kv);
    if (!m) throw new UsageError(`--pass-option expects KEY=VALUE, got '${kv}'`);
    options.set(m[1]!, m[2]!);
  }
  return options;
}

/** A decimal option value; `Number('abc')` is NaN and `Number('')` is 0, so both are refused here. */
export function parseNumber(option: string, text: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  const x = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(text) ? Number(text) : NaN;
  const ok = Number.isFinite(x) && (!opts.integer || Number.isSafeInteger(x)) && (opts.min === undefined || x >= opts.min) && (opts.max === undefined || x <= opts.max);
  if (!ok) {
    const range = opts.min !== undefined && opts.max !== undefined ? ` in [${opts.min}, ${opts.max}]` : opts.min !== undefined ? ` >= ${opts.min}` : '';
    throw new UsageError(`${option} expects ${opts.integer ? 'an integer' : 'a number'}${range}, got '${text}'`);
  }
  return x;
}

/** --seed: a non-negative integer (the PRNG's state). */
export const parseSeed = (text: string | undefined): number => parseNumber('--seed', text ?? '1', { integer: true, min: 0, max: 2 ** 32 - 1 });

/** --filter: a regular expression, its syntax error as a usage error. */
export function parseRegex(option: string, text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`${option} is not a valid regular expression: ${(e as Error).message}`);
  }
}

const kindOf = (path: string): 'dir' | 'file' | 'other' | 'missing' => {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
};

/** An existing folder to read from (--inputs, a suite folder). */
export function existingDir(option: string, path: string): string {
  const k = kindOf(path);
  if (k === 'missing') throw new UsageError(`${option} '${path}' does not exist`);
  if (k !== 'dir') throw new UsageError(`${option} '${path}' is not a folder`);
  return path;
}

/** A folder to write into (-o DIR, --output-dir): created when missing, refused when a file is in the way. */
export function outputDir(option: string, path: string): string {
  const k = kindOf(path);
  if (k !== 'missing' && k !== 'dir') throw new UsageError(`${option} '${path}' exists and is not a folder`);
  return path;
}

/** A file to write (-o FILE, --json FILE): refused when a folder is in the way. */
export function outputFile(option: string, path: string): string {
  const k = kindOf(path);
  if (k === 'dir' || k === 'other') throw new UsageError(`${option} '${path}' is ${k === 'dir' ? 'a folder' : 'not a regular file'}`);
  return path;
}

/** An existing regular file to read (--manifest). */
export function existingFile(option: string, path: string): string {
  const k = kindOf(path);
  if (k === 'missing') throw new UsageError(`${option} '${path}' does not exist`);
  if (k !== 'file') throw new UsageError(`${option} '${path}' is not a regular file`);
  return path;
}

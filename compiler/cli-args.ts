// Option-value parsers shared by the CLI command files (cli.ts, cli-compile.ts, cli-passes.ts), so that every
// command reads --dim and --pass-option the same way and reports the same usage error.

import { UsageError } from '../ir/errors.js';

/** Commander accumulator for a repeatable option. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** --dim NAME=VALUE (repeatable) -> sizes for symbolic dims. */
export function parseDims(values: readonly string[] | undefined): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const v of values ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(v);
    if (!m) throw new UsageError(`--dim expects NAME=VALUE, got '${v}'`);
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

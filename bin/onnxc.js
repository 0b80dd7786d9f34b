#!/usr/bin/env node
// The onnxc command (built by `npm run build` into dist/). It runs the bundled CLI (dist/cli/, made by
// scripts/bundle-cli.mjs: a few files instead of ~370 modules to resolve and link) while that bundle is newer than
// every file it was made from; otherwise (a `tsc` run since, or ONNXC_NO_BUNDLE=1) the modules in dist/compiler/.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function bundled() {
  if (process.env.ONNXC_NO_BUNDLE === '1') return undefined;
  try {
    // plain paths, not URLs: this runs before every command (~370 stats)
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    const { entry, inputs } = JSON.parse(readFileSync(`${dist}cli/inputs.json`, 'utf8'));
    const made = statSync(`${dist}cli/${entry}`).mtimeMs;
    for (const f of inputs) if (statSync(dist + f).mtimeMs > made) return undefined;
    return `../dist/cli/${entry}`;
  } catch {
    return undefined;
  }
}

const { main } = await import(bundled() ?? '../dist/compiler/cli.js');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The onnxc command (built by `npm run build` into dist/).
import { main } from '../dist/compiler/cli.js';

process.exitCode = await main(process.argv.slice(2));

// Run the CLI from source without building: `npx tsx scripts/onnxc.ts <command> ...`.
import { main } from '../compiler/cli.js';

process.exitCode = await main(process.argv.slice(2));

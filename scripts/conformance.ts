// Conformance from source (for development): `npx tsx scripts/conformance.ts DIR [--filter RE] [--failures]`.
import { main } from '../compiler/cli.js';

const args = process.argv.slice(2);
const withFailures = args.includes('--quiet') ? args.filter((a) => a !== '--quiet') : [...args, '--failures'];
process.exitCode = await main(['conformance', ...withFailures]);

import { loadModel } from '../../compiler/onnx/import.js';
import { OnnxcError } from '../../ir/errors.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
const paths: string[] = [];
for (const root of process.argv.slice(2)) {
  const walk = (d: string, depth: number) => { for (const e of readdirSync(d)) { const p = join(d, e); if (e.endsWith('.onnx')) paths.push(p); else if (depth < 3 && statSync(p).isDirectory() && !e.startsWith('test_data')) walk(p, depth + 1); } };
  walk(root, 0);
}
const counts = new Map<string, number>(); let ok = 0;
for (const p of paths) {
  const t0 = performance.now();
  try { loadModel(p); ok++; }
  catch (e) {
    const k = e instanceof OnnxcError ? `${e.name}: ${e.message.replace(/'[^']*'/g, "'_'").replace(/\d+/g, 'N').slice(0, 90)}` : `CRASH ${String(e).slice(0, 200)}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (process.env.V || k.startsWith('CRASH') || k.includes('cannot import')) console.log(p, e instanceof OnnxcError ? e.describe() : e);
  }
  const ms = performance.now() - t0; if (ms > 2000) console.log('SLOW', p, ms);
}
console.log(`${ok}/${paths.length} imported`);
for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(v, k);

// Every model the importer reads (the real models of shared/models and the ONNX backend node cases) prints,
// parses back (with its weights) and prints identically, equals the imported IR, and passes both verifiers.
// Cases the importer refuses are counted, not failed: import has its own tests.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../compiler/onnx/import.js';
import type { Model } from '../../ir/graph.js';
import { collectWeights, parseModel, printModel } from '../../ir/text/index.js';
import { verifyModel } from '../../ir/verify.js';
import { verifyModelOps } from '../../ops/verify-ops.js';
import { missingReason, sharedModels, sharedPath } from '../helpers/shared.js';

interface Tally { roundTripped: number; importFailed: number; failures: string[] }

function check(paths: readonly string[]): Tally {
  const tally: Tally = { roundTripped: 0, importFailed: 0, failures: [] };
  for (const path of paths) {
    let model: Model;
    try { model = loadModel(path); } catch { tally.importFailed++; continue; }
    try {
      const text = printModel(model);
      const back = parseModel(text, { weights: collectWeights(model) });
      const again = printModel(back);
      if (again !== text) { tally.failures.push(`${path}: second print differs`); continue; }
      expect(back).toEqual(model);
      verifyModel(model);
      verifyModelOps(model);
      tally.roundTripped++;
    } catch (e) {
      tally.failures.push(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return tally;
}

const nodeRoot = sharedPath('onnx-backend', 'node');

describe('text round trip of imported models', () => {
  it.skipIf(!nodeRoot)(`every ONNX backend node case that imports (${nodeRoot ? 'found' : missingReason('onnx-backend', 'node')})`, () => {
    const cases = readdirSync(nodeRoot!).sort().map((c) => join(nodeRoot!, c, 'model.onnx')).filter(existsSync);
    const t = check(cases);
    console.log(`backend node cases: ${t.roundTripped} round-tripped, ${t.importFailed} not imported, ${t.failures.length} failed`);
    expect(t.failures).toEqual([]);
    expect(t.roundTripped).toBeGreaterThan(cases.length / 2);
  }, 300_000);

  const models = sharedModels();
  it.skipIf(models.length === 0)(`every real model of shared/models (${models.length ? 'found' : missingReason('models')})`, () => {
    const t = check(models.map((m) => m.model));
    console.log(`shared models: ${t.roundTripped} round-tripped, ${t.importFailed} not imported, ${t.failures.length} failed`);
    expect(t.failures).toEqual([]);
  }, 300_000);
});

// How the lowering core plans subgraphs (lowering/subgraph.ts, plan.ts): a value only a branch reads stays alive
// (and is not pruned) while its If runs; each body's values sit inside its node's scratch, which the arena plan
// sizes for the larger branch; outer constants a body reads are laid out once.

import { describe, expect, it } from 'vitest';
import { WASM_BACKEND } from '../../backends/wasm/compile.js';
import { importModel } from '../../compiler/onnx/import.js';
import { fromValues } from '../../ir/tensor.js';
import { freeVars } from '../../lowering/free-vars.js';
import { planLowering } from '../../lowering/plan.js';
import { prepareForLowering } from '../../lowering/prepare.js';
import { attrG, graph, model, node, vi } from '../onnx/build.js';

const F = 1, BOOL = 9;

/** y = If(a) then Relu(u) * w else Neg(u) + Exp(u); u = x + 1 is read only inside the branches. */
function branchReadsOuter() {
  const then = graph([node('Relu', ['u'], ['r']), node('Mul', ['r', 'w'], ['t'])], [], [{ name: 't', type: {} }]);
  const els = graph([node('Neg', ['u'], ['n']), node('Exp', ['u'], ['e']), node('Add', ['n', 'e'], ['o'])], [], [{ name: 'o', type: {} }]);
  return importModel(model(graph([node('Add', ['x', 'one'], ['u']), node('If', ['a'], ['y'], [attrG('then_branch', then), attrG('else_branch', els)])],
    [vi('a', BOOL, []), vi('x', F, [64])], [vi('y', F)],
    [['one', fromValues('float32', [], [1])], ['w', fromValues('float32', [64], Array.from({ length: 64 }, (_, i) => i))]])), { source: 'branch-outer.onnx' });
}

describe('subgraph planning', () => {
  const m = branchReadsOuter();
  const plan = planLowering(WASM_BACKEND, prepareForLowering(m.graph, { source: 'branch-outer.onnx' }));
  const ifNode = plan.nodes.find((p) => p.node.op === 'If')!;

  it('names what a branch reads from outside it', () => {
    const then = ifNode.node.attrs['then_branch']!;
    expect(then.kind === 'graph' && [...freeVars(then.value)].sort()).toEqual(['u', 'w']);
  });

  it('keeps a value only the branches read (not pruned), alive while the If runs', () => {
    expect(plan.nodes.map((p) => p.node.op)).toEqual(['Add', 'If']);
    const u = plan.placeOf('u');
    expect(u.region).toBe('arena');
  });

  it('places each branch inside the If node\'s region, apart from its inputs and outputs, sized for the larger branch', () => {
    const bodies = ifNode.bodies!;
    expect(bodies).toHaveLength(2);
    const bytes = (name: string): number => plan.valueRef(name).size * 4;
    const region = (name: string): [number, number] => { const p = plan.placeOf(name); if (p.region !== 'arena') throw new Error(name); return [p.offset, p.offset + bytes(name)]; };
    const overlap = (a: [number, number], b: [number, number]): boolean => a[0] < b[1] && b[0] < a[1];
    for (const b of bodies) {
      for (const p of b.nodes) for (const o of p.node.outputs) {
        const at = b.placeOf(o);
        expect(at.region).toBe('arena');
        const r: [number, number] = [(at as { offset: number }).offset, (at as { offset: number }).offset + b.valueRef(o).size * 4];
        // never on the If's operands or result, which are alive at the same step
        for (const outer of ['u', 'y']) expect(overlap(r, region(outer)), `${o} vs ${outer}`).toBe(false);
      }
      // the outer values a branch reads resolve to the enclosing plan's places
      expect(b.placeOf('u')).toEqual(plan.placeOf('u'));
    }
    // the else branch holds three 64-float values at once at most; the then branch two
    expect(Math.max(...bodies.map((b) => b.arena.arenaBytes))).toBeGreaterThanOrEqual(2 * 256);
    expect(plan.arena.arenaBytes).toBeGreaterThanOrEqual(Math.max(...bodies.map((b) => b.arena.arenaBytes)) + 2 * 256);
  });

  it('lays out an outer constant a branch reads once, in the shared weights region', () => {
    const w = plan.placeOf('w');
    expect(w.region).toBe('weights');
    expect(ifNode.bodies![0]!.placeOf('w')).toEqual(w);
    expect(plan.weights.bytes).toBeLessThan(2 * 256);
  });
});

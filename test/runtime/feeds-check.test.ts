// runtime/wasm/feeds.ts's checks without the per-run closures and strings (issue 13: session.run's overhead):
// the same decisions at the edges the fast paths touch: arrays from another realm (instanceof fails there),
// subclasses, holes in dims, inherited keys, carried inputs.

import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { checkFeeds } from '../../runtime/wasm/feeds.js';
import type { WasmManifest } from '../../runtime/wasm/types.js';

const manifest = {
  format: 'onnxc-wasm/1', model: 'm', pages: 1, weights: { offset: 0, bytes: 0 }, arena: { offset: 64, bytes: 0, lowerBoundBytes: 0, totalBytes: 0 },
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3], offset: 64, bytes: 24 }, { name: 'h', dtype: 'float32', dims: [3], offset: 96, bytes: 12 }],
  outputs: [],
} as unknown as WasmManifest;
const h = { type: 'float32', dims: [3], data: new Float32Array(3) };

describe('checkFeeds', () => {
  it('takes a Float32Array from another realm and refuses that realm\'s Int32Array', () => {
    const other = runInNewContext('new Float32Array(6)') as Float32Array;
    expect(other instanceof Float32Array).toBe(false);
    const ok = checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: other }, h });
    expect(ok.map((c) => c.bytes?.byteLength)).toEqual([24, 12]);
    const wrong = runInNewContext('new Int32Array(6)') as Int32Array;
    expect(() => checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: wrong }, h })).toThrow(/data must be a Float32Array for float32, got Int32Array/);
  });

  it('takes a subclass of the right array and a view into a larger buffer (the view\'s bytes only)', () => {
    class Mine extends Float32Array {}
    expect(checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: new Mine(6) }, h })).toHaveLength(2);
    const big = new Float32Array(10).fill(7);
    const [c] = checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: big.subarray(2, 8) }, h });
    expect(c!.bytes!.byteOffset).toBe(8);
    expect(c!.bytes!.byteLength).toBe(24);
  });

  it('refuses dims with a hole, a negative or a fraction, and a rank that only matches in part', () => {
    // eslint-disable-next-line no-sparse-arrays
    for (const dims of [[2, , 3], [2, -3], [2, 1.5], [2, 3, 1], [2]]) {
      expect(() => checkFeeds(manifest, { x: { type: 'float32', dims, data: new Float32Array(6) }, h }), JSON.stringify(dims)).toThrow(/input 'x' must be float32\[2,3\]/);
    }
  });

  it('names an unknown key but not an inherited one; a carried input may be left out', () => {
    expect(() => checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) }, h, y: h })).toThrow(/'y' is not an input of this model \(inputs: x, h\)/);
    const proto = { y: h };
    const feeds = Object.assign(Object.create(proto) as Record<string, unknown>, { x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) }, h });
    expect(checkFeeds(manifest, feeds)).toHaveLength(2);
    expect(checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) } }, new Set(['h'])).map((c) => c.spec.name)).toEqual(['x']);
    expect(() => checkFeeds(manifest, { x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) } })).toThrow(/input 'h' has no feed \(it takes float32\[3\]\)/);
  });
});

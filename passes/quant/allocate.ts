// Measured widths for quantize-weights' 4-bit mode: how much each MatMul/Gemm layer costs the model's outputs decides
// its form (quant-layer-bits). A layer-local error (gptq.ts outputError) cannot tell this: on bert-tiny the attention
// query/key projections, the value projections and the FFN's first layers all lose about -24 dB locally, yet the
// first two move the outputs ~100x less than the FFN's (attention scores reach the output through a near-uniform
// softmax). The caller quantises one layer at a time and measures the outputs on calibration data (relative error
// power against float); this file decides from those measurements, so it runs no model itself.
//   - a layer whose error at 2 bits (blocks of `block`) is at most TWO_BIT_SHARE of the all-4-bit model's takes 2 bits;
//   - a layer whose 4-bit error is at least FINE_SHARE of the all-4-bit model's takes blocks of half the size.
// bert-tiny (scripts/quant-int4-figures.ts): its 4 query/key projections take 2 bits, its 2 FFN input layers blocks of 32.

import type { Graph } from '../../ir/graph.js';
import { quantisableWeights } from './quant-graph.js';

/** Share of the whole model's 4-bit error power a layer may add at 2 bits. */
export const TWO_BIT_SHARE = 0.02;
/** Share of it from which a layer takes finer blocks. */
export const FINE_SHARE = 0.125;

export interface LayerProbe {
  readonly node: string;
  /** Output error power with only this layer quantised at 2 bits (blocks of `block`). */
  readonly twoBit: number;
  /** ... at 4 bits (blocks of `block`). */
  readonly fourBit: number;
}

/** The MatMul/Gemm nodes whose weight quantize-weights rounds as a linear layer (not tables, not Conv). */
export function linearLayers(g: Graph, skip: (node: string, op: string) => boolean = () => false): string[] {
  const uses = quantisableWeights(g, (u) => (u.node.op === 'MatMul' || u.node.op === 'Gemm') && !skip(u.node.name, u.node.op));
  // a weight read by several nodes keeps one form: only single-reader weights are probed
  return [...uses.values()].filter((us) => us.length === 1).map((us) => us[0]!.node.name);
}

/** The quant-layer-bits value for the probes, given the all-4-bit model's error power `total`. */
export function allocateWidths(probes: readonly LayerProbe[], total: number, block: number): string {
  const items: string[] = [];
  for (const p of probes) {
    if (p.twoBit <= TWO_BIT_SHARE * total) items.push(`${p.node}=2/${block}`);
    else if (p.fourBit >= FINE_SHARE * total && block >= 32) items.push(`${p.node}=4/${block / 2}`);
  }
  return items.join(',');
}

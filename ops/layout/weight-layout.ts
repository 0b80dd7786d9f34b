// How a backend states the weight layout its kernels want: plain data a pass consumes to pre-pack constant
// weights once at compile time. The op records the layout it got (FusedConv's `weight_layout`), and its
// reference semantics read weights in that layout, so packing never changes what a graph computes.

export interface WeightLayoutRule {
  /** The op whose weights are packed, e.g. 'onnxc.FusedConv'. */
  readonly op: string;
  /** The weight's input index. */
  readonly input: number;
  /** Axis letters in the wanted order: 'OHWI', 'HWIO', ... (O, I, then D/H/W for the spatial axes). */
  readonly layout: string;
  /** The attribute recording the layout on the node. */
  readonly attr: string;
}

/** The rule for convolution weights in `layout` (what `--pass-option weight-layout=OHWI` asks for). */
export function convWeightLayout(layout: string): WeightLayoutRule {
  return { op: 'onnxc.FusedConv', input: 1, layout, attr: 'weight_layout' };
}

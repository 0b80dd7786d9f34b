// The layout passes: channels-last conversion with transpose sinking (layout-nhwc), weight pre-packing
// (layout-pack-weights).

export { layoutNhwc, toChannelsLastGraph } from './nhwc.js';
export { layoutPackWeights, packWeights, packWeightsPass } from './pack-weights.js';

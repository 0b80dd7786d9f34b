// The layout passes: channels-last conversion with transpose sinking (layout-nhwc), weight pre-packing (pack-weights).

export { layoutNhwc, toChannelsLastGraph } from './nhwc.js';

// The structured pruning pass (prune-channels) and what `onnxc prune` reads of it; prune-weights (weights.ts,
// unstructured and N:M) is registered on its own in passes/index.ts.

import type { Pass } from '../pass.js';
import { pruneChannelsPass } from './channels.js';

export const PRUNE_PASSES: readonly Pass[] = [pruneChannelsPass];
export { pruneChannels, analyseChannels, type ChannelPruneResult, type SpacePlan } from './channels.js';

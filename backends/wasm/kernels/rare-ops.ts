// The table of the rarer ops' kernels (scalar loops, one file each), merged into kernels/index.ts.

import { ATTENTION } from './attention.js';
import { LOSS } from './loss.js';
import { RESIZE } from './resize.js';
import { CONV_TRANSPOSE } from './conv-transpose.js';
import { DEPTH_SPACE } from './depth-space.js';
import { QUANT } from './quant.js';
import { MISC } from './misc.js';
import { SCATTER } from './scatter.js';
import { GATHER_ND } from './gather-nd.js';
import { TRIG } from './trig.js';
import { RECURRENT } from './rnn.js';
import { TOPK } from './topk.js';
import type { KernelGen } from './types.js';

export const RARE_OPS: Readonly<Record<string, KernelGen>> = {
  Attention: ATTENTION,
  ...LOSS,
  ...RESIZE,
  ...CONV_TRANSPOSE,
  ...DEPTH_SPACE,
  ...QUANT,
  ...MISC,
  ...SCATTER,
  GatherND: GATHER_ND,
  ...TRIG,
  ...RECURRENT,
  TopK: TOPK,
};

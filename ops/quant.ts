// quant ops (to be filled).
import type { AnyOpDef } from './schema.js';

export const quantOps: AnyOpDef[] = [];

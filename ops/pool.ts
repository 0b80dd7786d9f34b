// pool ops (to be filled).
import type { AnyOpDef } from './schema.js';

export const poolOps: AnyOpDef[] = [];

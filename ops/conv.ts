// conv ops (to be filled).
import type { AnyOpDef } from './schema.js';

export const convOps: AnyOpDef[] = [];

// Indexing ops: gathers, scatters, sorting/selection and scans (one file per group, registered here).
import type { AnyOpDef } from './schema.js';
import { indexingGatherOps } from './indexing-gather.js';
import { indexingScatterOps } from './indexing-scatter.js';
import { indexingSortOps } from './indexing-sort.js';
import { indexingScanOps } from './indexing-scan.js';

export const indexingOps: AnyOpDef[] = [...indexingGatherOps, ...indexingScatterOps, ...indexingSortOps, ...indexingScanOps] as AnyOpDef[];

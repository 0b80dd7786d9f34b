// Shape ops: reshaping, joining, slicing, padding and tensor-making ops (one file per group, registered here).
import type { AnyOpDef } from './schema.js';
import { shapeReshapeOps } from './shape-reshape.js';
import { shapeConcatOps } from './shape-concat.js';
import { shapeSliceOps } from './shape-slice.js';
import { shapeMakeOps } from './shape-make.js';

export const shapeOps: AnyOpDef[] = [...shapeReshapeOps, ...shapeConcatOps, ...shapeSliceOps, ...shapeMakeOps] as AnyOpDef[];

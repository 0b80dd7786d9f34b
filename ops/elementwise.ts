// The elementwise family: arithmetic, comparison, logic and bitwise binaries, unary math, variadic folds,
// Where/Clip, casts and string ops. Each part lives in its own elementwise-*.ts file; this is the list.

import type { AnyOpDef } from './schema.js';
import { binaryOps } from './elementwise-binary.js';
import { unaryOps } from './elementwise-unary.js';
import { naryOps } from './elementwise-nary.js';
import { castOps } from './elementwise-cast.js';
import { stringOps } from './strings.js';

export const elementwiseOps: AnyOpDef[] = [...binaryOps, ...unaryOps, ...naryOps, ...castOps, ...stringOps];

// The traits of an op by name (ops/schema.ts OpTraits), with their defaults: what CSE, folding, static evaluation,
// layout and fusion read instead of op lists of their own.

import { getOp } from './index.js';
import type { OpTraits } from './schema.js';

const NONE: OpTraits = {};

export function opTraits(op: string): OpTraits {
  return getOp(op)?.traits ?? NONE;
}

/** Outputs are a function of inputs and attributes: the op may be merged (CSE) and computed at compile time. */
export const isDeterministic = (op: string): boolean => opTraits(op).deterministic !== false;

/** Output 0 is a view of input 0 (same bytes, new dims). */
export const isView = (op: string): boolean => opTraits(op).view === true;

export const isElementwise = (op: string): boolean => opTraits(op).elementwise === true;

export const isCommutative = (op: string): boolean => opTraits(op).commutative === true;

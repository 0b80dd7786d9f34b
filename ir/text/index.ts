// The IR's canonical text form: printer and parser (round-trip exact), for golden tests and diffs.

export type { PrintOptions } from './print.js';
export { collectWeights, printGraph, printModel, printTensor, printType, weightKey } from './print.js';
export type { ParseOptions } from './parse.js';
export { parseGraph, parseModel } from './parse.js';
export { TextParseError } from './lexer.js';

// String ops: StringNormalizer, StringConcat, StringSplit (Python str.split semantics) and RegexFullMatch
// (RE2 patterns run as JS RegExp where the two agree; constructs that differ are rejected by name).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { Tensor } from '../ir/tensor.js';
import { fromValues, makeTensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import { attr, defineOp, type AnyOpDef } from './schema.js';
import { input, staticSize } from './util.js';
import { broadcastTypes, mapBinary, mapUnary, tensorType, typedInput } from './elementwise-kernel.js';

const STRING = ['string'] as const;

// ---- StringNormalizer ---------------------------------------------------------------------------------------

const CASE_ACTIONS = ['NONE', 'LOWER', 'UPPER'];

const stringNormalizer = defineOp({
  op: 'StringNormalizer',
  attrs: {
    case_change_action: attr.string('NONE'), is_case_sensitive: attr.int(0), locale: attr.string(), stopwords: attr.strings(),
  },
  inputs: [1, 1], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, STRING, 'X');
    if (!CASE_ACTIONS.includes(ctx.attrs.case_change_action)) {
      throw new ShapeError(`case_change_action must be one of ${CASE_ACTIONS.join(', ')}, got '${ctx.attrs.case_change_action}'`);
    }
    if (x.shape === undefined) return [tensorType('string', undefined)];
    if (x.shape.length !== 1 && !(x.shape.length === 2 && x.shape[0] === 1)) {
      throw new ShapeError(`StringNormalizer input must be [C] or [1, C], got [${x.shape.join(',')}]`);
    }
    const stop = ctx.attrs.stopwords ?? [];
    const c: Dim = stop.length === 0 ? x.shape[x.shape.length - 1]! : ctx.freshDim('strnorm');
    return [tensorType('string', x.shape.length === 1 ? [c] : [1, c])];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const a = ctx.attrs;
    if (x.dims.length !== 1 && !(x.dims.length === 2 && x.dims[0] === 1)) {
      throw new KernelError(`StringNormalizer input must be [C] or [1, C], got [${x.dims.join(',')}]`);
    }
    const sensitive = a.is_case_sensitive !== 0;
    const key = (s: string): string => (sensitive ? s : s.toLowerCase());
    const stop = new Set((a.stopwords ?? []).map(key));
    let kept = (x.data as string[]).filter((s) => !stop.has(key(s)));
    if (a.case_change_action === 'LOWER') kept = kept.map((s) => s.toLowerCase());
    else if (a.case_change_action === 'UPPER') kept = kept.map((s) => s.toUpperCase());
    // an all-filtered input yields one empty string rather than an empty tensor (as onnxruntime)
    if (kept.length === 0) kept = [''];
    return [fromValues('string', x.dims.length === 1 ? [kept.length] : [1, kept.length], kept)];
  },
});

// ---- StringConcat ---------------------------------------------------------------------------------------------

const stringConcat = defineOp({
  op: 'StringConcat', attrs: {}, inputs: [2, 2], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, STRING, 'X');
    const y = typedInput(ctx, 1, STRING, 'Y');
    return [tensorType('string', broadcastTypes([x, y]))];
  },
  run(ctx) {
    return [mapBinary(input(ctx, 0), input(ctx, 1), 'string', (a, b) => (a as string) + (b as string))];
  },
});

// ---- StringSplit ----------------------------------------------------------------------------------------------

const WS = /\s/;

/** Python's str.split(sep, maxsplit): sep undefined or '' splits on whitespace runs and drops empty ends. */
export function pySplit(s: string, sep: string | undefined, maxsplit: number | undefined): string[] {
  const limit = maxsplit === undefined || maxsplit < 0 ? Infinity : maxsplit;
  if (sep !== undefined && sep !== '') {
    const parts = s.split(sep);
    return parts.length > limit + 1 ? [...parts.slice(0, limit), parts.slice(limit).join(sep)] : parts;
  }
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && WS.test(s[i]!)) i++;
    if (i >= s.length) break;
    if (out.length === limit) { out.push(s.slice(i)); break; }
    let j = i;
    while (j < s.length && !WS.test(s[j]!)) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

const stringSplit = defineOp({
  op: 'StringSplit', attrs: { delimiter: attr.string(), maxsplit: attr.int() }, inputs: [1, 1], outputs: [2, 2],
  infer(ctx) {
    const x = typedInput(ctx, 0, STRING, 'X');
    let k: Dim = ctx.freshDim('splits');
    const c = ctx.constant(0);
    if (c !== undefined) k = splitAll(c, ctx.attrs.delimiter, ctx.attrs.maxsplit).width;
    else if (staticSize(x.shape) === 0) k = 0;
    return [
      tensorType('string', x.shape === undefined ? undefined : [...x.shape, k]),
      tensorType('int64', x.shape),
    ];
  },
  run(ctx) {
    const x = input(ctx, 0);
    const { parts, width } = splitAll(x, ctx.attrs.delimiter, ctx.attrs.maxsplit);
    const y = makeTensor('string', [...x.dims, width]);
    parts.forEach((p, i) => p.forEach((s, j) => { y.data[i * width + j] = s; }));
    const z = makeTensor('int64', x.dims, BigInt64Array.from(parts, (p) => BigInt(p.length)));
    return [y, z];
  },
});

function splitAll(x: Tensor, sep: string | undefined, maxsplit: number | undefined): { parts: string[][]; width: number } {
  const parts = (x.data as string[]).map((s) => pySplit(s, sep, maxsplit));
  return { parts, width: parts.reduce((m, p) => Math.max(m, p.length), 0) };
}

// ---- RegexFullMatch -------------------------------------------------------------------------------------------

/** RE2 constructs JS reads differently or not at all; each is rejected with its name rather than misread. */
const RE2_ONLY: readonly [RegExp, string][] = [
  [/\\[1-9]/, 'backreferences (RE2 has none)'],
  [/\(\?<?[=!]/, 'lookaround assertions (RE2 has none)'],
  [/\(\?[imsU-]+[:)]/, 'inline flags such as (?i)'],
  [/\\[AzCQE]/, 'the escapes \\A \\z \\C \\Q \\E'],
  [/\[\[:/, 'POSIX classes such as [[:alpha:]]'],
  [/\\[pP][A-Za-z]/, 'one-letter Unicode classes such as \\pL'],
  [/[*+?}][+]/, 'possessive quantifiers'],
  // nested quantifiers: JS backtracks (possibly exponentially) where RE2 runs in linear time
  [/\([^()]*[*+}][^()]*\)[*+{]/, 'a quantified group that contains a quantifier'],
];

export function compileRe2(pattern: string): RegExp {
  for (const [re, what] of RE2_ONLY) {
    if (re.test(pattern)) throw new ShapeError(`RegexFullMatch pattern uses ${what}, which onnxc does not support: ${pattern}`);
  }
  const js = pattern.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(`^(?:${js})$`, 'u');
  } catch {
    try {
      return new RegExp(`^(?:${js})$`);
    } catch (e) {
      throw new ShapeError(`RegexFullMatch pattern is not a valid regular expression: ${pattern} (${(e as Error).message})`);
    }
  }
}

const regexFullMatch = defineOp({
  op: 'RegexFullMatch', attrs: { pattern: attr.string.required() }, inputs: [1, 1], outputs: [1, 1],
  infer(ctx) {
    const x = typedInput(ctx, 0, STRING, 'X');
    compileRe2(ctx.attrs.pattern);
    return [tensorType('bool', x.shape)];
  },
  run(ctx) {
    const re = compileRe2(ctx.attrs.pattern);
    return [mapUnary(input(ctx, 0), 'bool', (s) => re.test(s as string))];
  },
});

export const stringOps: AnyOpDef[] = [stringNormalizer, stringConcat, stringSplit, regexFullMatch] as unknown as AnyOpDef[];

// The WGSL printer: one emitter per node kind (a Record, so a new kind breaks this file at compile time). Binary
// operations are always parenthesised: WGSL refuses some mixes without parentheses (`a & b == c`), and the
// source is read by machines first.

import type { ExprNode, Stmt } from './ast.js';

type Emitters<N extends { kind: string }, R> = { [K in N['kind']]: (n: Extract<N, { kind: K }>) => R };

const EXPR: Emitters<ExprNode, string> = {
  lit: (n) => n.text,
  ref: (n) => n.name,
  bin: (n) => `(${printExpr(n.a)} ${n.op} ${printExpr(n.b)})`,
  un: (n) => `(${n.op}${printExpr(n.a)})`,
  call: (n) => `${n.fn}(${n.args.map(printExpr).join(', ')})`,
  index: (n) => `${printExpr(n.base)}[${printExpr(n.index)}]`,
  member: (n) => `${printExpr(n.base)}.${n.field}`,
};

export function printExpr(n: ExprNode): string {
  return (EXPR[n.kind] as (x: ExprNode) => string)(n);
}

const STMT: Emitters<Stmt, (pad: string) => string[]> = {
  let: (s) => (pad) => [`${pad}${s.mutable ? 'var' : 'let'} ${s.name}: ${s.type} = ${printExpr(s.value)};`],
  assign: (s) => (pad) => [`${pad}${printExpr(s.target)} ${s.op} ${printExpr(s.value)};`],
  if: (s) => (pad) => [
    `${pad}if (${printExpr(s.cond)}) {`, ...printBlock(s.then, pad + '  '),
    ...(s.else?.length ? [`${pad}} else {`, ...printBlock(s.else, pad + '  ')] : []), `${pad}}`,
  ],
  for: (s) => (pad) => [
    `${pad}for (var ${s.index}: u32 = ${printExpr(s.from)}; ${s.index} < ${printExpr(s.to)}; ${s.index} = ${s.index} + ${s.step}u) {`,
    ...printBlock(s.body, pad + '  '), `${pad}}`,
  ],
  array: (s) => (pad) => [`${pad}var ${s.name}: array<${s.elem}, ${s.length}>;`],
  call: (s) => (pad) => [`${pad}${printExpr(s.call)};`],
  return: (s) => (pad) => [`${pad}return${s.value ? ` ${printExpr(s.value)}` : ''};`],
};

export function printBlock(stmts: readonly Stmt[], pad: string): string[] {
  return stmts.flatMap((s) => (STMT[s.kind] as (x: Stmt) => (p: string) => string[])(s)(pad));
}

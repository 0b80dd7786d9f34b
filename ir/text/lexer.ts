// Tokens of the IR text form: words (names, numbers, dtypes, keywords: meaning comes from where they stand),
// quoted strings (JSON escapes), punctuation and `->`. `#` starts a comment to the end of the line.

import { ParseError } from '../errors.js';
import { WORD_CHAR } from './format.js';

export type TokenKind = 'word' | 'string' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The word, the punctuation, or a string's decoded value. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

/** A ParseError that knows where in the text it happened. */
export class TextParseError extends ParseError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(`line ${line}, column ${column}: ${message}`);
    this.line = line;
    this.column = column;
  }
}

const PUNCT = new Set(['(', ')', '[', ']', '{', '}', '<', '>', ',', '=', ':', '@', '*']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = (at: number): number => at - lineStart + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') { i++; line++; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    const start = i;
    if (c === '-' && text[i + 1] === '>') {
      tokens.push({ kind: 'punct', text: '->', line, column: col(start) });
      i += 2;
      continue;
    }
    if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, line, column: col(start) });
      i++;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') throw new TextParseError('unterminated string', line, col(start));
        i += text[i] === '\\' ? 2 : 1;
      }
      if (i >= text.length) throw new TextParseError('unterminated string', line, col(start));
      i++;
      let value: string;
      try {
        value = JSON.parse(text.slice(start, i)) as string;
      } catch {
        throw new TextParseError(`bad escape in string ${text.slice(start, i)}`, line, col(start));
      }
      tokens.push({ kind: 'string', text: value, line, column: col(start) });
      continue;
    }
    if (WORD_CHAR.test(c)) {
      while (i < text.length && WORD_CHAR.test(text[i]!)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line, column: col(start) });
      continue;
    }
    throw new TextParseError(`unexpected character ${JSON.stringify(c)}`, line, col(start));
  }
  tokens.push({ kind: 'eof', text: '', line, column: col(i) });
  return tokens;
}

// Escaping model-controlled text (node, value, graph names, doc strings, file names) for reports: one safe line
// for terminals (ir/errors.ts safeText), and Markdown that cannot be broken out of in a pull-request comment.

import { safeText } from '../ir/errors.js';

export { safeText };

/** An inline code span holding `s` verbatim: the fence is one backtick longer than any run inside (CommonMark),
 *  so a name cannot close it; in a table cell `|` is escaped so the cell cannot be split; HTML in a code span
 *  is not HTML. */
export function mdCode(s: string, inTable = false): string {
  const safe = safeText(s, 200);
  const text = inTable ? safe.replace(/\|/g, '\\|') : safe;
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  // a space on each side when the text starts or ends with a backtick (CommonMark strips one space each side)
  const pad = text.startsWith('`') || text.endsWith('`') || text === '' ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Plain Markdown text: Markdown punctuation backslash-escaped, `<`/`>`/`&` as entities (no raw HTML). */
export function mdText(s: string): string {
  return safeText(s, 500)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, (c) => `\\${c}`);
}

/** A fenced code block around `body` (many lines of IR text): the fence is longer than any backtick run in it, and
 *  each line is made safe (no control characters, which JSON quoting of names leaves alone above 0x7f). */
export function mdBlock(body: string, info = ''): string {
  const lines = body.split('\n').map((l) => safeText(l));
  // a loop, not Math.max(...runs): a huge diff must not overflow the stack
  let longest = 0;
  for (const l of lines) for (const r of l.match(/`+/g) ?? []) longest = Math.max(longest, r.length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${info}`, ...lines, fence].join('\n');
}

// The WebAssembly text (as Binaryen prints it) as a tree of lists and atoms, and back: how a dynamic-dims compile
// compares the modules it emitted at several sizes, node by node (backends/wasm/dims-generalize.ts).

/** An atom (keyword, name, number, `offset=16`, a quoted string kept with its quotes) or a parenthesised list. */
export type Sx = string | Sx[];

/** Parse Binaryen's text output. Comments (`;; ...`, `(; ... ;)`) are dropped. */
export function parseSx(text: string): Sx[] {
  const stack: Sx[][] = [[]];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '(') {
      if (text[i + 1] === ';') { const e = text.indexOf(';)', i + 2); i = e < 0 ? n : e + 2; continue; }
      const l: Sx[] = [];
      stack[stack.length - 1]!.push(l);
      stack.push(l);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) throw new Error('wat: unbalanced )');
      stack.pop();
      i++;
    } else if (c === ';' && text[i + 1] === ';') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
    } else if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      stack[stack.length - 1]!.push(text.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < n && !' \n\t\r()'.includes(text[j]!)) j++;
      stack[stack.length - 1]!.push(text.slice(i, j));
      i = j;
    }
  }
  if (stack.length !== 1) throw new Error('wat: unbalanced (');
  return stack[0]!;
}

/** Print a tree as text Binaryen parses (one line per list head keeps it readable in a diff). */
export function printSx(x: Sx): string {
  const out: string[] = [];
  const go = (e: Sx, depth: number): void => {
    if (typeof e === 'string') { out.push(e); return; }
    out.push('(');
    e.forEach((c, k) => {
      if (k > 0) out.push(typeof c === 'string' ? ' ' : `\n${' '.repeat(depth + 1)}`);
      go(c, depth + 1);
    });
    out.push(')');
  };
  go(x, 0);
  return out.join('');
}

/** The head keyword of a list (`i32.const`, `func`, ...), or undefined for an atom or an empty list. */
export const headOf = (x: Sx): string | undefined => (Array.isArray(x) && typeof x[0] === 'string' ? x[0] : undefined);

// A line diff (Myers' O(ND) algorithm) and unified-diff formatting, for showing what a pass changed in the
// canonical IR text. Written here rather than taken as a dependency: ~100 lines, and only lines matter.

export type DiffOp = { readonly kind: 'same' | 'add' | 'del'; readonly line: string };

/** The shortest edit script turning `a` into `b`, as a sequence of kept, deleted and added lines. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  // Trim the common prefix and suffix first: pass diffs are usually small edits in long texts.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const mid = myers(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf));
  return [
    ...a.slice(0, pre).map((line) => ({ kind: 'same' as const, line })),
    ...mid,
    ...a.slice(a.length - suf).map((line) => ({ kind: 'same' as const, line })),
  ];
}

function myers(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length, m = b.length, max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[offset + k] = x;
      if (x >= n && y >= m) { found = true; break; }
    }
  }
  // Walk back through the saved frontiers.
  const out: DiffOp[] = [];
  let x = n, y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) { out.push({ kind: 'same', line: a[x - 1]! }); x--; y--; }
    if (d > 0) {
      if (x === prevX) out.push({ kind: 'add', line: b[y - 1]! });
      else out.push({ kind: 'del', line: a[x - 1]! });
    }
    x = prevX; y = prevY;
  }
  return out.reverse();
}

/** A unified diff (`@@ -a,n +b,m @@` hunks with `context` lines around each change); '' when equal. */
export function unifiedDiff(a: string, b: string, opts: { context?: number; from?: string; to?: string } = {}): string {
  const ctx = opts.context ?? 3;
  const ops = diffLines(splitLines(a), splitLines(b));
  if (ops.every((o) => o.kind === 'same')) return '';
  const lines: string[] = [`--- ${opts.from ?? 'before'}`, `+++ ${opts.to ?? 'after'}`];
  // positions (1-based line numbers) of each op in a and b
  const posA: number[] = [], posB: number[] = [];
  let ia = 1, ib = 1;
  for (const o of ops) { posA.push(ia); posB.push(ib); if (o.kind !== 'add') ia++; if (o.kind !== 'del') ib++; }
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === 'same') { i++; continue; }
    let start = Math.max(0, i - ctx);
    let end = i;
    // extend the hunk while the next change is within 2*ctx lines
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== 'same') end++;
      let next = end;
      while (next < ops.length && ops[next]!.kind === 'same') next++;
      if (next < ops.length && next - end <= 2 * ctx) { end = next; continue; }
      break;
    }
    const stop = Math.min(ops.length, end + ctx);
    const body = ops.slice(start, stop);
    const na = body.filter((o) => o.kind !== 'add').length;
    const nb = body.filter((o) => o.kind !== 'del').length;
    lines.push(`@@ -${na ? posA[start] : posA[start]! - 1},${na} +${nb ? posB[start] : posB[start]! - 1},${nb} @@`);
    for (const o of body) lines.push(`${o.kind === 'same' ? ' ' : o.kind === 'add' ? '+' : '-'}${o.line}`);
    i = stop;
    start = stop;
  }
  return `${lines.join('\n')}\n`;
}

function splitLines(s: string): string[] {
  const lines = s.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Progress lines for long commands (compile, conformance, bench): on stderr, and only when stderr is a terminal,
// so pipes, CI logs and tests see exactly the report and nothing else.

export interface Progress {
  /** Replace the progress line (e.g. `12/340 cases`). */
  update(text: string): void;
  /** Clear the line. */
  done(): void;
}

const SILENT: Progress = { update: () => {}, done: () => {} };

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 100) return; // a terminal does not need more than ten updates a second
      last = now;
      stream.write(`\r\x1b[2K${label}: ${text}`);
    },
    done() { stream.write('\r\x1b[2K'); },
  };
}

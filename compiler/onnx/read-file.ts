// Reading the files a model or a user names (the model, its external data, input .pb files, manifests): regular
// files only, opened without blocking (opening a FIFO for reading would wait for a writer forever), and read no
// further than the size fstat reported and the maxFileBytes limit (/dev/zero and friends never end).

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { OnnxImportError } from '../../ir/errors.js';
import { checkFileBytes } from '../../ir/limits.js';

/** O_NONBLOCK where the platform has it: a no-op for regular files, it makes open() of a FIFO return at once. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

type ErrorClass = new (message: string) => Error;

/** Open `path` for reading if it is a regular file; the caller closes `fd`. `what` names the file in messages. */
export function openRegular(path: string, what: string, Err: ErrorClass = OnnxImportError): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw new Err(`cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Err(`cannot read ${what}: it is ${kindOf(st)}, not a regular file`);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The bytes of a regular file (or of `length` bytes at `offset` in it), bounded by its size and maxFileBytes. */
export function readRegularFile(path: string, what: string, range?: { offset: number; length: number }, Err: ErrorClass = OnnxImportError): Uint8Array {
  const { fd, size } = openRegular(path, what, Err);
  try {
    const offset = range?.offset ?? 0;
    const length = range?.length ?? size;
    if (offset + length > size) throw new Err(`${what} has ${size} bytes, needs ${length} at offset ${offset}`);
    checkFileBytes(length, what);
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const r = readSync(fd, buf, got, length - got, offset + got);
      if (r <= 0) throw new Err(`${what} ended early (shrank while being read)`);
      got += r;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function kindOf(st: ReturnType<typeof fstatSync>): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

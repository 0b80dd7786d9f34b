// A trap in a compiled module as an OnnxcRuntimeError naming the node: kernels that meet an index out of range
// write an error record in the reserved bytes [0, 64) and trap; run() writes each kernel's index there before
// calling it, so any other trap (integer divide by zero, ...) is named too. Ships with the runtime.

import { OnnxcRuntimeError } from './errors.js';

/** Byte offsets of the record's fields: a copy of backends/wasm/abi.ts's ERROR_RECORD (the runtime imports no
 *  compiler code; test/wasm/bounds.test.ts checks the two agree). */
export const ERROR_RECORD = { code: 0, kernel: 4, value: 8, size: 16, bytes: 24 } as const;
/** Record codes: 1 = an index (negatives count from the end once) outside [-size, size); 2 = a position that must
 *  lie in [0, size) (a loss target, a sequence length); 3 = a Loop ran `value` iterations, the limit `size`; 4 = a
 *  Loop whose scan outputs were planned for `size` iterations stopped after `value`. */
const INDEX = 1, POSITION = 2, LOOP = 3, TRIPS = 4;

/** Model-controlled names as one printable line (newlines, ANSI escapes and bidi controls shown as \xNN/\uNNNN). */
const safe = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g, (c) => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
});

/** An OnnxcRuntimeError from a trap, with its parts kept apart (for callers that print the site their own way). */
export class KernelTrap extends OnnxcRuntimeError {
  constructor(model: string, node: string | undefined, readonly op: string | undefined, readonly detail: string, code: 'index-out-of-range' | 'kernel', kernel: number) {
    super(`onnxc: ${safe(model)}: ${node !== undefined ? `node '${safe(node)}' (${safe(op ?? '?')})` : `kernel ${kernel}`}: ${safe(detail)}`, code, node);
  }
}

/** What the runtime needs of the manifest: the model's name and [node, op] by kernel index. */
interface KernelTable { readonly model: string; readonly kernels?: readonly (readonly [string, string])[] }

/** Clear the record before a run, so a trap reads only what this run wrote. */
export function clearErrorRecord(buffer: ArrayBuffer): void {
  new Uint8Array(buffer, 0, ERROR_RECORD.bytes).fill(0);
}

/** The error for a trap (or any exception) out of run(), from the record the module left in `buffer`. */
export function kernelError(buffer: ArrayBuffer, manifest: KernelTable, thrown: unknown): KernelTrap {
  const rec = new DataView(buffer, 0, ERROR_RECORD.bytes);
  const code = rec.getInt32(ERROR_RECORD.code, true), k = rec.getInt32(ERROR_RECORD.kernel, true);
  const [node, op] = manifest.kernels?.[k] ?? [];
  if (code === INDEX || code === POSITION) {
    const value = rec.getBigInt64(ERROR_RECORD.value, true), size = rec.getBigInt64(ERROR_RECORD.size, true);
    const detail = code === INDEX ? `index ${value} is out of range [${-size}, ${size - 1n}] (axis size ${size})` : `index ${value} is out of range [0, ${size - 1n}]`;
    return new KernelTrap(manifest.model, node, op, detail, 'index-out-of-range', k);
  }
  if (code === LOOP || code === TRIPS) {
    const value = rec.getBigInt64(ERROR_RECORD.value, true), size = rec.getBigInt64(ERROR_RECORD.size, true);
    const detail = code === LOOP ? `the loop ran ${value} iterations without stopping (limit ${size})`
      : `data-dependent: the loop stopped after ${value} iterations; the artifact was compiled for ${size} (its scan outputs' shape depends on it)`;
    return new KernelTrap(manifest.model, node, op, detail, 'kernel', k);
  }
  const why = thrown instanceof Error ? thrown.message : String(thrown);
  return new KernelTrap(manifest.model, node, op, `the kernel trapped: ${why}`, 'kernel', k);
}

// The one error type the shipped runtime throws. The runtime imports nothing of the compiler, so this is its own
// small class; compiler code that runs artifacts maps it onto the OnnxcError family (KernelError for kernel codes).

import type { RuntimeErrorCode } from './types.js';

export type { RuntimeErrorCode };

export class OnnxcRuntimeError extends Error {
  constructor(
    message: string,
    readonly code: RuntimeErrorCode,
    /** The node (as named in the model) a kernel error happened in. */
    readonly node?: string,
    /** The input or output the error is about. */
    readonly io?: string,
  ) {
    super(message);
    this.name = 'OnnxcRuntimeError';
  }
}

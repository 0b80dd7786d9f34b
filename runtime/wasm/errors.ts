// The one error type the shipped runtime throws. The runtime imports nothing of the compiler, so this is its own
// small class; compiler code that runs artifacts maps it onto the OnnxcError family (KernelError for kernel codes).

/** Why a run was refused or stopped. `feed`: a feed broke the manifest (name, dtype, dims, length, array kind).
 *  `index-out-of-range`: a kernel met an index outside its tensor. `busy`: a run is already in progress.
 *  `artifact`: the artifact itself is unusable (weights missing, bad manifest). */
export type RuntimeErrorCode = 'feed' | 'index-out-of-range' | 'busy' | 'artifact' | 'kernel';

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

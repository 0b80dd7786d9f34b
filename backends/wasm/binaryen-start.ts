// Starts loading Binaryen without waiting for it, for callers about to import the wasm compiler (the CLI's compile,
// bench and demo commands, the backend registry): V8 decodes Binaryen's wasm on a background thread while the main
// thread loads the compiler's modules. Imports nothing itself, so a caller that never compiles pays nothing.

/** Kicks off backends/wasm/binaryen-load.ts's shared instance; a failure surfaces where the instance is awaited. */
export function startBinaryen(): void {
  import('./binaryen-load.js').then((m) => m.startBinaryen(), () => { /* the compiler's own import reports it */ });
}

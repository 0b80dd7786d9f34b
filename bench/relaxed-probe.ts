// Whether this JS engine runs relaxed-SIMD wasm, and the Node flag that turns it on where it is still
// experimental (Node 20: --experimental-wasm-relaxed-simd; newer Node has it on by default).

/** A minimal module whose one function is f32x4.relaxed_madd on three v128 constants. */
const c = (): number[] => [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const body = [0x00, ...c(), ...c(), ...c(), 0xfd, 0x85, 0x02, 0x0b];
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, body.length + 2, 0x01, body.length, ...body,
]);

const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
export const relaxedSimdAvailable = (): boolean => WA.validate(RELAXED_PROBE);

/** Node flags a child process needs to run relaxed SIMD (none when this process already can). */
export const RELAXED_NODE_FLAGS: readonly string[] = relaxedSimdAvailable() ? [] : ['--experimental-wasm-relaxed-simd'];

// Whether this JS engine runs relaxed-SIMD wasm (the runtime's own probe), and the Node flag that turns it on where
// it is still experimental (Node 20: --experimental-wasm-relaxed-simd; newer Node has it on by default).

import { hasRelaxedSimd } from '../runtime/wasm/session.js';

export { RELAXED_PROBE, hasRelaxedSimd as relaxedSimdAvailable } from '../runtime/wasm/session.js';

/** Node flags a child process needs to run relaxed SIMD (none when this process already can). */
export const RELAXED_NODE_FLAGS: readonly string[] = hasRelaxedSimd() ? [] : ['--experimental-wasm-relaxed-simd'];

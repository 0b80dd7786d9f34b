// One small seeded generator (mulberry32) for everything that needs reproducible randomness: random inputs,
// the random ops, training-mode Dropout.

/** Uniform 32-bit unsigned integers from a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform doubles in [0, 1) with 32 random bits, from a seed. */
export function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

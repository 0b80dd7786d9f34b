// The measured cost model behind the N:M kernel's use (sparse-matmul.ts): kernel times of the N:M kernel and of the
// dense GEMM on the same densified B, measured by bench/sparse-kernels.ts (which prints this table), and the rule
// that takes the sparse kernel for a layer only where the nearest measured shape ran it clearly faster.

/** One measurement: pattern, kernel, A rows M, B [K, N]; times (ms per call) of the dense and the N:M kernel, each
 *  the best of bench/sparse-kernels.ts's two settings (B hot in cache, B streamed from beyond L2). */
export interface NmMeasure { readonly pattern: string; readonly kernel: NmKernel | 'csc'; readonly M: number; readonly K: number; readonly N: number; readonly dense: number; readonly sparse: number }

/** The two N:M kernels: columns of B in the SIMD lanes (sparse-nm.ts), rows of A (sparse-nm-rows.ts). */
export type NmKernel = 'cols' | 'rows';

/** Take the N:M kernel where it measured at most this fraction of the dense kernel's time: a margin for the run to
 *  run noise of a shared machine, so that a layer does not flip between kernels on a 5% difference. */
export const NM_TAKE_RATIO = 0.95;

// `npx tsx bench/sparse-kernels.ts --patterns 2:4,4:8 --samples 9` (2 shared, loaded Zen 5 cores, V8 in Node 20),
// [64,128]x[128,512] and [64,512]x[512,128] at 2:4 measured again with --hot-only --samples 9 (the first run's kernels
// were still in V8's baseline tier there: the bench now compiles straight to the optimising tier)
export const NM_MEASURED: readonly NmMeasure[] = [
  // the CSC kernel (sparse-matmul.ts) on B 50% non-zero, unstructured; same run
  { pattern: '50%', kernel: 'csc', M: 1, K: 128, N: 128, dense: 0.0011, sparse: 0.0059 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 128, N: 512, dense: 0.0031, sparse: 0.0155 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 512, N: 128, dense: 0.0032, sparse: 0.0184 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 256, N: 256, dense: 0.0031, sparse: 0.0167 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 256, N: 768, dense: 0.0098, sparse: 0.0524 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 256, N: 1024, dense: 0.0141, sparse: 0.0715 },
  { pattern: '50%', kernel: 'csc', M: 1, K: 1024, N: 256, dense: 0.0143, sparse: 0.0736 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 128, N: 128, dense: 0.0100, sparse: 0.0083 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 128, N: 512, dense: 0.0401, sparse: 0.0305 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 512, N: 128, dense: 0.0394, sparse: 0.0315 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 256, N: 256, dense: 0.0406, sparse: 0.0311 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 256, N: 768, dense: 0.1214, sparse: 0.0913 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 256, N: 1024, dense: 0.1605, sparse: 0.1261 },
  { pattern: '50%', kernel: 'csc', M: 16, K: 1024, N: 256, dense: 0.1564, sparse: 0.1359 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 128, N: 128, dense: 0.0403, sparse: 0.0355 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 128, N: 512, dense: 0.1601, sparse: 0.1423 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 512, N: 128, dense: 0.1570, sparse: 0.1624 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 256, N: 256, dense: 0.1595, sparse: 0.1448 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 256, N: 768, dense: 0.4642, sparse: 0.4162 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 256, N: 1024, dense: 0.6722, sparse: 0.5844 },
  { pattern: '50%', kernel: 'csc', M: 64, K: 1024, N: 256, dense: 0.6644, sparse: 0.5986 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 128, N: 128, dense: 0.0780, sparse: 0.1125 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 128, N: 512, dense: 0.3160, sparse: 0.3282 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 512, N: 128, dense: 0.3158, sparse: 0.4407 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 256, N: 256, dense: 0.3170, sparse: 0.6588 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 256, N: 768, dense: 1.0497, sparse: 0.9414 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 256, N: 1024, dense: 1.3768, sparse: 1.3888 },
  { pattern: '50%', kernel: 'csc', M: 128, K: 1024, N: 256, dense: 1.3565, sparse: 1.5344 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 128, N: 128, dense: 0.0009, sparse: 0.0020 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 128, N: 128, dense: 0.0009, sparse: 0.0039 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 128, N: 512, dense: 0.0032, sparse: 0.0059 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 128, N: 512, dense: 0.0032, sparse: 0.0154 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 512, N: 128, dense: 0.0034, sparse: 0.0071 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 512, N: 128, dense: 0.0034, sparse: 0.0174 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 256, N: 256, dense: 0.0032, sparse: 0.0059 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 256, N: 256, dense: 0.0032, sparse: 0.0162 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 256, N: 768, dense: 0.0099, sparse: 0.0238 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 256, N: 768, dense: 0.0099, sparse: 0.0490 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 256, N: 1024, dense: 0.0175, sparse: 0.0256 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 256, N: 1024, dense: 0.0175, sparse: 0.0633 },
  { pattern: '2:4', kernel: 'cols', M: 1, K: 1024, N: 256, dense: 0.0149, sparse: 0.0285 },
  { pattern: '2:4', kernel: 'rows', M: 1, K: 1024, N: 256, dense: 0.0149, sparse: 0.0733 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 128, N: 128, dense: 0.0100, sparse: 0.0126 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 128, N: 128, dense: 0.0100, sparse: 0.0088 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 128, N: 512, dense: 0.0394, sparse: 0.0628 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 128, N: 512, dense: 0.0394, sparse: 0.0339 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 512, N: 128, dense: 0.0403, sparse: 0.0555 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 512, N: 128, dense: 0.0403, sparse: 0.0360 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 256, N: 256, dense: 0.0394, sparse: 0.0537 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 256, N: 256, dense: 0.0394, sparse: 0.0342 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 256, N: 768, dense: 0.1250, sparse: 0.1964 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 256, N: 768, dense: 0.1250, sparse: 0.1026 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 256, N: 1024, dense: 0.1682, sparse: 0.2447 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 256, N: 1024, dense: 0.1682, sparse: 0.1401 },
  { pattern: '2:4', kernel: 'cols', M: 16, K: 1024, N: 256, dense: 0.1642, sparse: 0.2235 },
  { pattern: '2:4', kernel: 'rows', M: 16, K: 1024, N: 256, dense: 0.1642, sparse: 0.1496 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 128, N: 128, dense: 0.0390, sparse: 0.0553 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 128, N: 128, dense: 0.0390, sparse: 0.0345 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 128, N: 512, dense: 0.1604, sparse: 0.2435 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 128, N: 512, dense: 0.1604, sparse: 0.1387 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 512, N: 128, dense: 0.1590, sparse: 0.2011 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 512, N: 128, dense: 0.1590, sparse: 0.1466 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 256, N: 256, dense: 0.1558, sparse: 0.2149 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 256, N: 256, dense: 0.1558, sparse: 0.1379 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 256, N: 768, dense: 0.4977, sparse: 0.7448 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 256, N: 768, dense: 0.4977, sparse: 0.4152 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 256, N: 1024, dense: 0.6622, sparse: 0.9999 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 256, N: 1024, dense: 0.6622, sparse: 0.5545 },
  { pattern: '2:4', kernel: 'cols', M: 64, K: 1024, N: 256, dense: 0.6633, sparse: 0.8923 },
  { pattern: '2:4', kernel: 'rows', M: 64, K: 1024, N: 256, dense: 0.6633, sparse: 0.6262 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 128, N: 128, dense: 0.0783, sparse: 0.1109 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 128, N: 128, dense: 0.0783, sparse: 0.0703 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 128, N: 512, dense: 0.3385, sparse: 0.5014 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 128, N: 512, dense: 0.3385, sparse: 0.2831 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 512, N: 128, dense: 0.3178, sparse: 0.4378 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 512, N: 128, dense: 0.3178, sparse: 0.2953 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 256, N: 256, dense: 0.3163, sparse: 0.4482 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 256, N: 256, dense: 0.3163, sparse: 0.2793 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 256, N: 768, dense: 1.0015, sparse: 1.5217 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 256, N: 768, dense: 1.0015, sparse: 0.8545 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 256, N: 1024, dense: 1.3206, sparse: 2.0814 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 256, N: 1024, dense: 1.3206, sparse: 1.1549 },
  { pattern: '2:4', kernel: 'cols', M: 128, K: 1024, N: 256, dense: 1.3037, sparse: 1.8267 },
  { pattern: '2:4', kernel: 'rows', M: 128, K: 1024, N: 256, dense: 1.3037, sparse: 1.2117 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 128, N: 128, dense: 0.0008, sparse: 0.0039 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 128, N: 128, dense: 0.0008, sparse: 0.0040 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 128, N: 512, dense: 0.0031, sparse: 0.0174 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 128, N: 512, dense: 0.0031, sparse: 0.0157 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 512, N: 128, dense: 0.0032, sparse: 0.0175 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 512, N: 128, dense: 0.0032, sparse: 0.0170 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 256, N: 256, dense: 0.0031, sparse: 0.0181 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 256, N: 256, dense: 0.0031, sparse: 0.0159 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 256, N: 768, dense: 0.0098, sparse: 0.0531 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 256, N: 768, dense: 0.0098, sparse: 0.0479 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 256, N: 1024, dense: 0.0151, sparse: 0.0733 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 256, N: 1024, dense: 0.0151, sparse: 0.0638 },
  { pattern: '4:8', kernel: 'cols', M: 1, K: 1024, N: 256, dense: 0.0133, sparse: 0.0719 },
  { pattern: '4:8', kernel: 'rows', M: 1, K: 1024, N: 256, dense: 0.0133, sparse: 0.0706 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 128, N: 128, dense: 0.0097, sparse: 0.0457 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 128, N: 128, dense: 0.0097, sparse: 0.0086 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 128, N: 512, dense: 0.0397, sparse: 0.1872 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 128, N: 512, dense: 0.0397, sparse: 0.0344 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 512, N: 128, dense: 0.0397, sparse: 0.2176 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 512, N: 128, dense: 0.0397, sparse: 0.0354 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 256, N: 256, dense: 0.0400, sparse: 0.1819 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 256, N: 256, dense: 0.0400, sparse: 0.0345 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 256, N: 768, dense: 0.1208, sparse: 0.5607 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 256, N: 768, dense: 0.1208, sparse: 0.1024 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 256, N: 1024, dense: 0.1644, sparse: 0.7347 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 256, N: 1024, dense: 0.1644, sparse: 0.1373 },
  { pattern: '4:8', kernel: 'cols', M: 16, K: 1024, N: 256, dense: 0.1655, sparse: 0.7321 },
  { pattern: '4:8', kernel: 'rows', M: 16, K: 1024, N: 256, dense: 0.1655, sparse: 0.1445 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 128, N: 128, dense: 0.0390, sparse: 0.1865 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 128, N: 128, dense: 0.0390, sparse: 0.0351 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 128, N: 512, dense: 0.1562, sparse: 0.7301 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 128, N: 512, dense: 0.1562, sparse: 0.1398 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 512, N: 128, dense: 0.1576, sparse: 0.7317 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 512, N: 128, dense: 0.1576, sparse: 0.1444 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 256, N: 256, dense: 0.1574, sparse: 0.7386 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 256, N: 256, dense: 0.1574, sparse: 0.1409 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 256, N: 768, dense: 0.5190, sparse: 2.3776 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 256, N: 768, dense: 0.5190, sparse: 0.4454 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 256, N: 1024, dense: 0.6879, sparse: 2.9964 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 256, N: 1024, dense: 0.6879, sparse: 0.5707 },
  { pattern: '4:8', kernel: 'cols', M: 64, K: 1024, N: 256, dense: 0.6761, sparse: 3.0337 },
  { pattern: '4:8', kernel: 'rows', M: 64, K: 1024, N: 256, dense: 0.6761, sparse: 0.6148 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 128, N: 128, dense: 0.0778, sparse: 0.3645 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 128, N: 128, dense: 0.0778, sparse: 0.0688 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 128, N: 512, dense: 0.3142, sparse: 1.4878 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 128, N: 512, dense: 0.3142, sparse: 0.2732 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 512, N: 128, dense: 0.3156, sparse: 1.4740 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 512, N: 128, dense: 0.3156, sparse: 0.3093 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 256, N: 256, dense: 0.3125, sparse: 1.4772 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 256, N: 256, dense: 0.3125, sparse: 0.2802 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 256, N: 768, dense: 1.0325, sparse: 8.4614 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 256, N: 768, dense: 1.0325, sparse: 0.8320 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 256, N: 1024, dense: 1.3088, sparse: 9.9862 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 256, N: 1024, dense: 1.3088, sparse: 1.1309 },
  { pattern: '4:8', kernel: 'cols', M: 128, K: 1024, N: 256, dense: 2.3307, sparse: 14.0309 },
  { pattern: '4:8', kernel: 'rows', M: 128, K: 1024, N: 256, dense: 2.3307, sparse: 1.2563 },
];

/** The measurement nearest to (M, K, N) for `pattern` ('2:4', '4:8', or '50%' for the CSC kernel; distance in
 *  log2 of M, K and N, M weighing most: it decides between memory-bound and compute-bound) of the kernel among
 *  `kernels` that ran fastest there, with its sparse/dense ratio; undefined when nothing was measured. */
export function measuredCost(pattern: string, M: number, K: number, N: number, kernels: readonly NmMeasure['kernel'][], table: readonly NmMeasure[] = NM_MEASURED): (NmMeasure & { ratio: number }) | undefined {
  const l = Math.log2;
  let near: NmMeasure | undefined, bestD = Infinity;
  const of = table.filter((e) => e.pattern === pattern && kernels.includes(e.kernel));
  for (const e of of) {
    const d = 2 * Math.abs(l(e.M) - l(M)) + Math.abs(l(e.K) - l(K)) + Math.abs(l(e.N) - l(N));
    if (d < bestD) { bestD = d; near = e; }
  }
  if (!near) return undefined;
  const there = of.filter((e) => e.M === near.M && e.K === near.K && e.N === near.N).sort((a, b) => a.sparse / a.dense - b.sparse / b.dense)[0]!;
  return { ...there, ratio: there.sparse / there.dense };
}

/** measuredCost for an N:M pattern and the N:M kernels. */
export function nmCost(pattern: { n: number; m: number }, M: number, K: number, N: number, kernels: readonly NmKernel[] = ['cols', 'rows'], table: readonly NmMeasure[] = NM_MEASURED): (NmMeasure & { ratio: number }) | undefined {
  return measuredCost(`${pattern.n}:${pattern.m}`, M, K, N, kernels, table);
}

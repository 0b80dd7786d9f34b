// The N:M sparse MatMul/Gemm kernels (kernels/sparse-nm.ts: columns in lanes; sparse-nm-rows.ts: rows in lanes):
// their packed forms decode to B; over generated shapes, 2:4/4:8 patterns (some groups keeping fewer) and addends,
// each gives exactly the dense kernel's result on the densified B (tolerance 0: both sum in K order; compared
// with ===, so only the sign of a zero could differ) and matches the reference interpreter within 1e-5; the
// measured cost rule picks the nearest measurement; the artifact stores the shared swizzle table once.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileDynamic } from '../../backends/wasm/dims-compile.js';
import { compileWasm, emitWasm, WASM_BACKEND, type WasmArtifact } from '../../backends/wasm/compile.js';
import { KERNELS } from '../../backends/wasm/kernels/index.js';
import type { KernelGen } from '../../backends/wasm/kernels/types.js';
import { measuredCost, nmCost, NM_MEASURED, type NmMeasure } from '../../backends/wasm/kernels/sparse-cost.js';
import { describeSparse } from '../../backends/wasm/kernels/sparse-init.js';
import { withSparse, type SparseChoice } from '../../backends/wasm/kernels/sparse-matmul.js';
import { packNm, PATTERNS, TABLE_BYTES, unpackNm, type NmPattern } from '../../backends/wasm/kernels/sparse-nm.js';
import { packNmRows } from '../../backends/wasm/kernels/sparse-nm-rows.js';
import { toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import { prng } from '../../ir/random.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { planLowering } from '../../lowering/plan.js';
import { prepareForLowering } from '../../lowering/prepare.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import { worstRelativeError } from '../helpers/worst-error.js';

/** B [K, N] in [-2, 2) with at most p.n kept in every group of p.m along K (some groups keep fewer when `thin`). */
function nmB(p: NmPattern, K: number, N: number, seed: number, thin = false): Float32Array {
  const r = prng(seed), d = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K; g += p.m) {
      const keep = Array.from({ length: p.m }, (_, j) => j).sort(() => r() - 0.5).slice(0, thin ? Math.floor(r() * (p.n + 1)) : p.n);
      for (const j of keep) d[(g + j) * N + n] = r() * 4 - 2;
    }
  }
  return d;
}

const at = (d: Float32Array, N: number) => (k: number, n: number): number => d[k * N + n]!;

/** The rows kernel's packing decoded by hand (slot s of unit u at 2-bit/3-bit position, 2:4 slots 2-3 in the
 *  unit's second group). */
function unpackRows(p: NmPattern, K: number, N: number, values: Float32Array, codes: Uint8Array | Uint16Array): Float32Array {
  const out = new Float32Array(K * N), units = K / 8, bits = p.m === 4 ? 2 : 3;
  for (let n = 0; n < N; n++) for (let u = 0; u < units; u++) for (let s = 0; s < 4; s++) {
    const pos = (codes[n * units + u]! >> (bits * s)) & ((1 << bits) - 1);
    const k = u * 8 + (p.m === 4 ? 4 * (s >> 1) : 0) + pos;
    out[k * N + n] += values[(n * units + u) * 4 + s]!;
  }
  return out;
}

describe('N:M packed forms', () => {
  it('both kernels\' packings decode to B, for 2:4 and 4:8 with some groups keeping fewer', () => {
    fc.assert(fc.property(fc.constantFrom(...PATTERNS), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.boolean(), (p, units, quads, seed, thin) => {
      const K = 8 * units, N = 4 * quads, b = nmB(p, K, N, seed, thin);
      const { values, codes } = packNm(p, K, N, at(b, N));
      expect(Array.from(unpackNm(p, K, N, values, codes))).toEqual(Array.from(b));
      const [rv, rc] = packNmRows(p, K, N, at(b, N));
      expect(Array.from(unpackRows(p, K, N, rv!.data as Float32Array, rc!.data as Uint8Array | Uint16Array))).toEqual(Array.from(b));
      // values + 2-bit (2:4) or 3-bit-in-16 (4:8) codes: at most 0.5625 of B's bytes
      expect(rv!.data.length * 4 + (rc!.data as Uint8Array).byteLength).toBeLessThanOrEqual(0.5625 * K * N * 4);
    }), { numRuns: 60 });
  });
});

type Case = { g: Graph; inputs: Tensor[] };

/** MatMul / Gemm (transB, bias) / FusedMatMul (bias, residual, activation) with an N:M B. */
function graphOf(kind: 'matmul' | 'gemm' | 'fused', rows: number[], K: number, N: number, b: Float32Array, seed: number): Case {
  const r = prng(seed + 1);
  const rand = (dims: number[]): Tensor<'float32'> => makeTensor('float32', dims, Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, () => r() * 2 - 1));
  const g = new GraphBuilder('nm');
  const x = g.input('x', 'float32', [...rows, K]);
  const inputs: Tensor[] = [rand([...rows, K])];
  if (kind === 'matmul') g.output(g.op('MatMul', [x, g.weight('w', makeTensor('float32', [K, N], b))]));
  else if (kind === 'gemm') {
    const bt = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n]!;
    g.output(g.op('Gemm', [x, g.weight('w', makeTensor('float32', [N, K], bt)), g.weight('c', rand([N]))], { transB: 1 }));
  } else {
    const z = g.input('z', 'float32', [...rows, N]);
    inputs.push(rand([...rows, N]));
    g.output(g.op('onnxc.FusedMatMul', [x, g.weight('w', makeTensor('float32', [K, N], b)), g.weight('bias', rand([N])), z], { activation: 'Tanh', activation_params: { floats: [] } }));
  }
  return { g: g.build(), inputs };
}

function compileWith(c: Case, kernels: typeof KERNELS | 'dense', embedLimit = Infinity): WasmArtifact {
  const opts = { inputShapes: Object.fromEntries(c.g.inputs.map((n, i) => [n, c.inputs[i]!.dims])), embedLimit };
  return emitWasm(planLowering({ ...WASM_BACKEND, kernels: kernels === 'dense' ? KERNELS : kernels }, prepareForLowering(c.g, opts)), opts);
}

function sparseKernels(choice: SparseChoice): typeof KERNELS {
  const out: Record<string, KernelGen> = { ...KERNELS } as Record<string, KernelGen>;
  for (const op of ['MatMul', 'Gemm', 'onnxc.FusedMatMul', 'onnxc.FusedGemm']) out[op] = withSparse(out[op]!, choice);
  return out as typeof KERNELS;
}

function run(a: WasmArtifact, c: Case): Float32Array {
  const s = createSessionSync({ wasm: a.wasm, manifest: a.manifest, weights: a.manifest.weights.file ? a.weights : undefined });
  const o = s.runSync(Object.fromEntries(c.g.inputs.map((n, i) => [n, toTensorValue(c.inputs[i]!)])));
  return o[c.g.outputs[0]!]!.data as Float32Array;
}

describe('N:M sparse kernels against the dense kernel and the reference', () => {
  for (const nmKernel of ['cols', 'rows'] as const) {
    it(`${nmKernel} in lanes: exactly the dense kernel's values, and the reference's within 1e-5 (generated shapes)`, () => {
      fc.assert(fc.property(
        fc.constantFrom(...PATTERNS), fc.constantFrom('matmul', 'gemm', 'fused') as fc.Arbitrary<'matmul' | 'gemm' | 'fused'>,
        fc.array(fc.integer({ min: 1, max: 19 }), { minLength: 1, maxLength: 2 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 1e6 }), fc.boolean(),
        (p, kind, rows, units, quads, seed, thin) => {
          const K = 8 * units, N = 4 * quads;
          const c = graphOf(kind, kind === 'gemm' ? [rows[0]!] : rows, K, N, nmB(p, K, N, seed, thin), seed);
          const sp = compileWith(c, sparseKernels({ nm: 'always', maxDensity: 0, nmKernel }));
          expect(sp.manifest.sparseWeights?.filter((e) => e[3] === 'sparse-kernel').length).toBe(1);
          const got = run(sp, c), want = run(compileWith(c, 'dense'), c);
          for (let i = 0; i < want.length; i++) if (!(got[i] === want[i])) throw new Error(`element ${i}: ${got[i]} vs dense ${want[i]} (${p.n}:${p.m} ${kind} rows ${rows} K ${K} N ${N})`);
          const ref = runGraph(c.g, c.inputs) as Tensor[];
          expect(worstRelativeError([{ ...ref[0]!, data: got } as Tensor], ref)).toBeLessThan(1e-5);
        }), { numRuns: 18 });
    });
  }

  it('a B that fits no pattern (5 kept in a group of 8) or whose N is not a multiple of 4 stays on the dense kernel', () => {
    const K = 16, N = 8, b = nmB({ n: 4, m: 8 }, K, N, 3);
    b[0] = b[N] = b[2 * N] = b[3 * N] = b[4 * N] = 1; // column 0, group 0: rows 0-4 all kept
    const a = compileWith(graphOf('matmul', [4], K, N, b, 1), sparseKernels({ nm: 'always', maxDensity: 0 }));
    expect(a.manifest.sparseWeights?.some((e) => e[3] === 'sparse-kernel') ?? false).toBe(false);
    const odd = compileWith(graphOf('matmul', [4], 16, 6, nmB({ n: 2, m: 4 }, 16, 6, 4), 1), sparseKernels({ nm: 'always', maxDensity: 0, nmKernel: 'cols' }));
    expect(odd.manifest.sparseWeights?.some((e) => e[3] === 'sparse-kernel') ?? false).toBe(false);
  });
});

describe('the measured choice', () => {
  const table: NmMeasure[] = [
    { pattern: '2:4', kernel: 'cols', M: 1, K: 256, N: 1024, dense: 0.02, sparse: 0.03 },
    { pattern: '2:4', kernel: 'rows', M: 64, K: 256, N: 1024, dense: 0.6, sparse: 0.5 },
    { pattern: '2:4', kernel: 'cols', M: 64, K: 256, N: 1024, dense: 0.6, sparse: 0.9 },
    { pattern: '4:8', kernel: 'rows', M: 64, K: 256, N: 1024, dense: 0.6, sparse: 0.7 },
  ];
  it('takes the nearest measured shape and, there, the faster kernel; rows nearest in M win over K, N', () => {
    expect(nmCost({ n: 2, m: 4 }, 48, 128, 512, ['cols', 'rows'], table)).toMatchObject({ kernel: 'rows', M: 64, ratio: 0.5 / 0.6 });
    expect(nmCost({ n: 2, m: 4 }, 48, 128, 512, ['cols'], table)).toMatchObject({ kernel: 'cols', M: 64, ratio: 1.5 });
    expect(nmCost({ n: 2, m: 4 }, 1, 1024, 256, ['cols', 'rows'], table)).toMatchObject({ kernel: 'cols', M: 1 });
    expect(nmCost({ n: 4, m: 8 }, 2, 64, 64, ['cols'], table)).toBeUndefined();
  });

  // K = 128: csc_mask builds the form from the stored masks; K = 72 (not whole mask groups per column): B expanded, then csc_build
  for (const K of [128, 72]) it(`a 50% unstructured B (K ${K}) takes the CSC kernel where it measured faster, its form built at load from the bitmask form (weights.bin stays small); dense where slower`, () => {
    const N = 128, r = prng(9), d = new Float32Array(K * N);
    for (let i = 0; i < d.length; i++) if (r() < 0.5) d[i] = r() - 0.5;
    for (let k = 0; k < 8; k++) d[k * N] = 1; // fits no N:M pattern
    d[5 * N + 3] = -0; // a negative zero is not kept (as packCsc at compile time)
    const build = (M: number, embedLimit: number, choice?: SparseChoice): { a: WasmArtifact; c: Case } => {
      const g = new GraphBuilder('half');
      g.output(g.op('MatMul', [g.input('x', 'float32', [M, K]), g.weight('w', makeTensor('float32', [K, N], d))]));
      const c: Case = { g: g.build(), inputs: [makeTensor('float32', [M, K], Float32Array.from({ length: M * K }, () => r() * 2 - 1))] };
      const opts = { inputShapes: { x: [M, K] }, embedLimit };
      return { a: choice ? compileWith(c, sparseKernels(choice), embedLimit) : compileWasm(c.g, opts), c };
    };
    const kinds = (a: WasmArtifact): string[] => (a.manifest.sparseWeights ?? []).map((e) => `${e[3]} ${e[0]}`);
    expect(measuredCost('50%', 16, K, N, ['csc'])!.ratio).toBeLessThanOrEqual(0.95);
    for (const embedLimit of [Infinity, 0]) {
      const { a, c } = build(16, embedLimit);
      expect(kinds(a)).toEqual([expect.stringMatching(/^sparse-kernel matmul_0 \(CSC kernel \(its form built at load from the bitmask form\), measured 0\.\d+x dense at 50%\)$/)]);
      // B's bitmask form plus the masks of the zero placeholders: about 0.53x of B, where the stored CSC form is 0.75x
      expect(a.weights.length).toBeLessThan(0.6 * K * N * 4);
      const got = run(a, c), want = run(compileWith(c, 'dense', embedLimit), c);
      const ref = runGraph(c.g, c.inputs) as Tensor[];
      expect(worstRelativeError([{ ...ref[0]!, data: got } as Tensor], ref)).toBeLessThan(1e-5);
      expect(worstRelativeError([{ ...ref[0]!, data: got } as Tensor], [{ ...ref[0]!, data: want } as Tensor])).toBeLessThan(1e-5);
    }
    // without the build at load, the larger form keeps the layer dense
    expect(kinds(build(16, Infinity, { cscAtLoad: false }).a)).toEqual([expect.stringMatching(/^densified matmul_0 \(packed; 50%: dense kernel \(CSC measured 0\.\d+x, but its form of B is larger/)]);
    expect(measuredCost('50%', 1, K, N, ['csc'])!.ratio).toBeGreaterThan(1);
    expect(kinds(build(1, Infinity).a)).toEqual([expect.stringMatching(/^densified matmul_0 \(packed; 50%: dense kernel faster \(sparse measured \d/)]);
  });

  it('the shipped table covers both patterns and both kernels at M = 1, 16, 64, 128', () => {
    for (const pattern of ['2:4', '4:8']) for (const M of [1, 16, 64, 128]) {
      expect(NM_MEASURED.some((e) => e.pattern === pattern && e.M === M && e.kernel === 'cols')).toBe(true);
      expect(NM_MEASURED.some((e) => e.pattern === pattern && e.M === M && e.kernel === 'rows')).toBe(true);
    }
  });
});

describe('N:M layers in the artifact', () => {
  it('a --dim range compile keeps a 2:4 layer on the dense kernel (the sparse choice and code depend on the rows)', () => {
    const K = 128, N = 128, g = new GraphBuilder('dyn_nm');
    g.output(g.op('MatMul', [g.input('x', 'float32', ['s', K]), g.weight('w', makeTensor('float32', [K, N], nmB(PATTERNS[0]!, K, N, 8)))]));
    const { artifact } = compileDynamic(g.build(), {}, [{ name: 's', min: 1, max: 128 }]);
    expect((artifact.manifest.sparseWeights ?? []).map((e) => e[3])).toEqual(['densified']);
  });

  it('a pruned graph that keeps the dense graph\'s node objects (new weights only) is decided afresh', () => {
    const K = 128, N = 128, p = PATTERNS[0]!, r = prng(5);
    const g = new GraphBuilder('reused');
    g.output(g.op('MatMul', [g.input('x', 'float32', [16, K]), g.weight('w', makeTensor('float32', [K, N], Float32Array.from({ length: K * N }, () => r() - 0.5)))]));
    const dense = g.build();
    const pruned: Graph = { ...dense, initializers: new Map([...dense.initializers].map(([n, t]) => [n, n === 'w' ? makeTensor('float32', [K, N], nmB(p, K, N, 6)) : t])) };
    const kinds = (gr: Graph): string[] => (compileWasm(gr, { embedLimit: Infinity }).manifest.sparseWeights ?? []).map((e) => e[3]);
    expect(kinds(dense)).toEqual([]);
    // [16,128]x[128,128] at 2:4: the measured table has the rows kernel faster (sparse-cost.ts)
    expect(nmCost(p, 16, K, N)!.ratio).toBeLessThanOrEqual(0.95);
    expect(kinds(pruned)).toEqual(['sparse-kernel']);
    expect(kinds(dense)).toEqual([]);
  });

  it('two layers on the N:M kernel store the swizzle table once, run from weights.bin, and compile reports each layer', () => {
    const K = 64, N = 32, p = PATTERNS[0]!;
    const g = new GraphBuilder('two_nm');
    const x = g.input('x', 'float32', [1, K]);
    const h = g.op('MatMul', [x, g.weight('w1', makeTensor('float32', [K, N], nmB(p, K, N, 1)))]);
    g.output(g.op('MatMul', [h, g.weight('w2', makeTensor('float32', [N, N], nmB(p, N, N, 2)))]));
    const c: Case = { g: g.build(), inputs: [makeTensor('float32', [1, K], Float32Array.from({ length: K }, (_, i) => Math.sin(i)))] };
    const sp = compileWith(c, sparseKernels({ nm: 'always', maxDensity: 0, nmKernel: 'cols' }), 0);
    const entries = sp.manifest.sparseWeights ?? [];
    expect(entries.map((e) => e[3])).toEqual(['sparse-kernel', 'sparse-kernel']);
    expect(entries[0]![0]).toMatch(/2:4 kernel, columns in lanes/);
    // values + codes per layer; one table, plus the alignment of the stored chunks
    const layers = entries.reduce((s, e) => s + e[2], 0);
    expect(sp.weights.length).toBeLessThan(layers + TABLE_BYTES + 256);
    expect(Array.from(run(sp, c))).toEqual(Array.from(run(compileWith(c, 'dense'), c)));
    const text = describeSparse(entries)!;
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toMatch(/2 on a sparse kernel/);
  });
});

// The wasm backend as a declared value (kernel table, capabilities, emit) and its emitter: a planned graph
// (lowering/plan.ts: shapes fixed, constants folded, arena and weights laid out) becomes one WebAssembly module
// with one function per run-time node from the kernel table, and a `run` that calls them in order.

import binaryen from './binaryen.js';
import { ALL_DTYPES } from '../../ir/dtype.js';
import { OnnxcError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Backend, Capabilities } from '../../lowering/backend.js';
import { alignUp } from '../../lowering/buffer-plan.js';
import { nodeFreeVars } from '../../lowering/free-vars.js';
import { carryPairs, planLowering, type LoweringPlan, type PlannedNode } from '../../lowering/plan.js';
import { prepareForLowering, type ShapeOptions } from '../../lowering/prepare.js';
import { fixedValues } from '../../lowering/specialise.js';
import { ARENA_BASE, ERROR_RECORD, WASM_FORMAT, type WasmIoSpec, type WasmManifest } from './abi.js';
import { elemBytes, Fn, type Ptr } from './fn.js';
import { KERNELS } from './kernels/index.js';
import type { KernelGen, TensorRef } from './kernels/types.js';
import { checkMemoryBytes, WASM_MAX_BYTES } from './limits.js';
import { markRelaxed, type SimdMode } from './relaxed.js';
import { storeWeights, type StoredPlacement } from './kernels/sparse-init.js';
import { withSparseKernels } from './kernels/sparse-matmul.js';
import { allowParallel, withThreadScratch } from './parallel.js';
import { addThreadedEntries, type ThreadStep } from './parallel-entries.js';
import { sharedExpressions } from './tree-check.js';

export interface WasmCompileOptions extends ShapeOptions {
  /** Run Binaryen's optimizer (default true). */
  readonly optimize?: boolean;
  /** Weights above this many bytes go to a side file instead of the module's data segment (default 1 MiB). */
  readonly embedLimit?: number;
  /** Also export each kernel function under its name (`k<i>_<Op>`), for per-kernel profiling. */
  readonly exportKernels?: boolean;
  /** 'relaxed': the float cores use relaxed-SIMD fused multiply-adds (a module only engines with relaxed SIMD
   *  run; results differ from strict by FMA rounding). Default 'strict'. */
  readonly simd?: SimdMode;
  /** Store mostly-zero weights (pruned layers) compressed and expand them at load (default true;
   *  kernels/sparse-init.ts). */
  readonly sparseWeights?: boolean;
  /** Build for this many threads (shared memory, atomics; parallel.ts): the runtime starts N-1 workers. Default 1. */
  readonly threads?: number;
  /** Where the stored form of compressed weights goes: 'reused' (default) in memory the arena and the dense weights
   *  take over once run()'s first call has expanded it, so linear memory is what a dense build needs; 'apart' after
   *  the dense region, resident for good (a dynamic-dims compile, whose checks read every address in the code). */
  readonly storedWeights?: 'reused' | 'apart';
}

export interface WasmArtifact {
  readonly wasm: Uint8Array;
  /** The weights region's bytes (also embedded in `wasm` when manifest.weights.file is absent). */
  readonly weights: Uint8Array;
  readonly manifest: WasmManifest;
  /** Per run-time node: op and the function name, for size and profiling reports. */
  readonly kernels: readonly { node: string; op: string; fn: string }[];
}

/** Linear memory: 16-byte alignment (v128 loads); kernels index with signed i32, so every buffer stays under 2 GiB.
 *  16-bit floats are stored as bits and computed in f32 by the kernels written on Fn.load/store; the SIMD kernels
 *  that need float32 say so in their `dtypes`. */
export const WASM_CAPABILITIES: Capabilities = {
  dtypes: ALL_DTYPES.filter((d) => d !== 'string'),
  float16: true,
  int64: true,
  buffers: { align: 16, maxBufferBytes: WASM_MAX_BYTES - 1 },
  weightAlign: 16,
  // fuse-attention is on: float32 Attention runs on the GEMM core reading the projections in place
  // (kernels/attention-gemm.ts), faster than the MatMul/Softmax/Transposes it replaces
};

export const WASM_BACKEND: Backend<TensorRef, KernelGen, WasmCompileOptions, WasmArtifact> = {
  name: 'wasm',
  // MatMul/Gemm with a constant B that is mostly zero take the sparse kernel (kernels/sparse-matmul.ts)
  kernels: withSparseKernels(KERNELS),
  capabilities: WASM_CAPABILITIES,
  // kernels pack their own weight panels (KernelGen.prepack)
  weightLayouts: [],
  planRef: (v) => ({ ...v, ptr: { base: 0 } }),
  emit: emitWasm,
};

/** Lower `graph` as given (no passes): shapes fixed, static values folded, every node through the kernel table. */
export function compileWasm(graph: Graph, opts: WasmCompileOptions = {}): WasmArtifact {
  return emitWasm(planLowering(withThreadScratch(WASM_BACKEND, opts.threads ?? 1), prepareForLowering(graph, opts)), opts);
}

/** Binaryen passes run on every module. Not -O2: our kernels come out of the generator with static offsets and
 *  no dead code, V8 optimises them itself, and -O2 cost 2.9 s of mobilenet_v2's 4.9 s compile (most of it in
 *  Binaryen's own cold code) for no measurable run-time gain (mobilenet_v2, gpt2_tiny, squeezenet1_1 and
 *  lstm_forecaster run within noise of the -O2 build). These three take 70 ms there and shrink the module ~3%; no
 *  inlining pass runs, so each kernel stays its own function (one huge run() compiles far worse in V8). */
const LIGHT_PASSES = ['simplify-locals-nostructure', 'vacuum', 'reorder-locals'];

export function emitWasm(plan: LoweringPlan<TensorRef, KernelGen>, opts: WasmCompileOptions): WasmArtifact {
  const { source, prepared } = plan;
  const g = prepared.graph;
  const weightsBase = alignUp(ARENA_BASE + plan.arena.arenaBytes, WASM_CAPABILITIES.weightAlign);
  const addrIn = (pl: LoweringPlan<TensorRef, KernelGen>, name: string): number => {
    const p = pl.placeOf(name);
    if (p.region === 'arena') return ARENA_BASE + p.offset;
    if (p.region === 'weights') return weightsBase + p.offset;
    // a constant that was not laid out is one the kernel declared unread: it gets no address
    return 0;
  };
  const addrOf = (name: string): number => addrIn(plan, name);
  const bytesOf = (name: string): number => { const t = prepared.tensorType(name); return t.dims.reduce((a, b) => a * b, 1) * elemBytes(t.dtype); };

  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const m = new binaryen.Module();
  try {
    m.setFeatures((threads > 1 ? binaryen.Features.Atomics : 0) | binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.NontrappingFPToInt | binaryen.Features.SignExt | binaryen.Features.MutableGlobals | (opts.simd === 'relaxed' ? binaryen.Features.RelaxedSIMD : 0));
    if (opts.simd === 'relaxed') markRelaxed(m);
    // sparse tensors (pruned layers), float16 and int4 forms are stored compressed and expanded by run()'s first call,
    // the stored copy in the arena (bar the inputs, written before that call) and the dense region where it fits
    const live = prepared.inputs.filter((n) => !prepared.fixed[n]).map((n) => [addrOf(n), addrOf(n) + bytesOf(n)] as const);
    const place: StoredPlacement | undefined = (opts.storedWeights ?? 'reused') === 'reused' ? { lowest: ARENA_BASE, live } : undefined;
    const enabled = opts.sparseWeights ?? true, embedLimit = opts.embedLimit ?? 1 << 20;
    let stored = storeWeights(plan, weightsBase, enabled, place);
    // an embedded data segment is written again by every instantiation: a threaded module's workers instantiate it on
    // the shared memory, and must never find the arena or dense weights in its way (the runtime starts them before
    // the first run, but nothing in the module could tell)
    if (threads > 1 && place && stored.bytes.length <= embedLimit) stored = storeWeights(plan, weightsBase, enabled);
    const weights = stored.bytes;
    const wEnd = stored.end;
    const embed = weights.length <= embedLimit;
    checkMemoryBytes(wEnd, source);
    const pages = Math.max(1, Math.ceil(wEnd / 65536));
    m.setMemory(pages, pages, 'memory', embed && weights.length ? [{ offset: m.i32.const(stored.offset), data: weights, passive: false }] : [], threads > 1);
    // threaded: every thread's instance imports the one shared memory (and still exports it)
    if (threads > 1) m.addMemoryImport('0', 'env', 'memory', true);
    const kernels: { node: string; op: string; fn: string }[] = [];
    const setIndex = (i: number): binaryen.ExpressionRef => m.i32.store(ERROR_RECORD.kernel, 4, m.i32.const(0), m.i32.const(i));
    // One function per kernel; the calls that run a plan's kernels in order, each preceded by its kernel index in
    // the error record, so the runtime can name the node of any trap. A subgraph (If branch, Loop/Scan body)
    // becomes a function of its own that its node's kernel calls.
    // Carried state (prepared.carry): a second entry, run_swapped, in which each pair's input and output buffers
    // trade places; kernels that touch neither are shared by the two entries.
    const ranges = carryPairs(prepared, plan.rootOf).map(([i, o]) => [addrOf(i), addrOf(o), bytesOf(i)] as const);
    const swapped = (x: number): number => {
      for (const [a, b, n] of ranges) { if (x >= a && x < a + n) return b + (x - a); if (x >= b && x < b + n) return a + (x - b); }
      return x;
    };
    const emitted = new Map<PlannedNode<KernelGen>, { name: string; index: number; par: boolean }>();
    // per top-level call: whether the kernel splits its work across threads (a subgraph's kernels never do)
    const steps = new Map<string, ThreadStep[]>();
    const emitGraph = (pl: LoweringPlan<TensorRef, KernelGen>, prefix: string, sw?: (x: number) => number): binaryen.ExpressionRef[] => {
      const top = threads > 1 && (prefix === '' || prefix === 's_');
      const step = (index: number, name: string, par: boolean): void => {
        if (top) steps.set(prefix, [...(steps.get(prefix) ?? []), { par, fn: name, call: () => m.block(null, [setIndex(index), m.call(name, [], binaryen.none)]) }]);
      };
      const at = (p: LoweringPlan<TensorRef, KernelGen>, name: string): number => (sw ? sw(addrIn(p, name)) : addrIn(p, name));
      const ref = (name: string): TensorRef => ({ ...pl.valueRef(name), ptr: { base: at(pl, name) } });
      const calls: binaryen.ExpressionRef[] = [];
      for (const p of pl.nodes) {
        if (p.view) continue;
        const n = p.node;
        const same = emitted.get(p);
        // what its subgraphs read from this graph counts too (their own values live in the node's scratch)
        if (sw && same && [...n.inputs, ...n.outputs, ...nodeFreeVars(n)].every((v) => !v || at(pl, v) === addrIn(pl, v))) {
          calls.push(setIndex(same.index), m.call(same.name, [], binaryen.none));
          step(same.index, same.name, same.par);
          continue;
        }
        const site = { model: source, node: n.name, op: n.op };
        const name = `${prefix}k${p.index}_${n.op}`;
        const index = kernels.length;
        kernels.push({ node: n.name, op: n.op, fn: name });
        const fn = new Fn(m);
        const par = top ? allowParallel(fn, threads) : undefined;
        const bodies = (p.bodies ?? []).map((bp0, j) => {
          const bp = bp0 as LoweringPlan<TensorRef, KernelGen>;
          const fname = `${name}_b${j}`;
          m.addFunction(fname, binaryen.none, binaryen.none, [], m.block(null, [...emitGraph(bp, `${fname}_`, sw), setIndex(index)]));
          const bref = (v: string): TensorRef => ({ ...bp.valueRef(v), ptr: { base: at(bp, v) } });
          return { call: () => m.call(fname, [], binaryen.none), inputs: (bp.inputs ?? []).map(bref), outputs: bp.prepared.graph.outputs.map(bref) };
        });
        const scratch: Ptr = { base: p.scratch ? ARENA_BASE + p.scratch.offset : 0 };
        let body;
        try {
          body = p.kernel.emit({
            m, fn, node: n, attrs: p.attrs, site, scratch, bodies, kernelIndex: index,
            inputs: n.inputs.map((i) => (i ? ref(i) : undefined)), outputs: n.outputs.map((o) => (o ? ref(o) : undefined)),
            packed: p.packed.map((t) => ({ ...t, ptr: { base: weightsBase + t.offset } })),
          });
        } catch (e) {
          if (e instanceof OnnxcError) throw e.at(site);
          throw e;
        }
        m.addFunction(name, binaryen.none, binaryen.none, fn.vars, body);
        if (!sw) emitted.set(p, { name, index, par: par?.used ?? false });
        calls.push(setIndex(index), m.call(name, [], binaryen.none));
        step(index, name, par?.used ?? false);
      }
      return calls;
    };
    const calls = emitGraph(plan, '');
    // each call is preceded by its kernel index in the error record, so the runtime can name the node of any trap
    const init = stored.emitInit(m);
    if (threads > 1) {
      // the main thread runs the steps (the weights init first, like any unsplit kernel), workers join split ones
      const initStep: ThreadStep[] = init ? [{ par: false, fn: '', call: () => init }] : [];
      const entries: [string, ThreadStep[]][] = [['run', [...initStep, ...(steps.get('') ?? [])]]];
      if (ranges.length) { emitGraph(plan, 's_', swapped); entries.push(['run_swapped', steps.get('s_') ?? []]); }
      addThreadedEntries(m, entries);
    } else {
      m.addFunction('run', binaryen.none, binaryen.none, [], m.block(null, init ? [init, ...calls] : calls));
      m.addFunctionExport('run', 'run');
      if (ranges.length) {
        // the first run of a session is always `run` (the state comes from feeds), so the weights init is not repeated
        m.addFunction('run_swapped', binaryen.none, binaryen.none, [], m.block(null, emitGraph(plan, 's_', swapped)));
        m.addFunctionExport('run_swapped', 'run_swapped');
      }
    }
    if (opts.exportKernels) for (const k of kernels) m.addFunctionExport(k.fn, k.fn);
    if (!m.validate()) throw new Error(`generated wasm module for '${source}' failed validation`);
    if (process.env.ONNXC_CHECK_TREE) {
      const shared = sharedExpressions(m);
      if (shared.length > 0) throw new Error(`generated wasm module for '${source}' reuses an expression (Binaryen needs a tree) in: ${shared.join(', ')}`);
    }
    if (opts.optimize ?? true) m.runPasses(LIGHT_PASSES);
    const io = (name: string): WasmIoSpec => {
      const t = prepared.tensorType(name);
      return { name, dtype: t.dtype, dims: t.dims, offset: addrOf(name), bytes: bytesOf(name) };
    };
    const manifest: WasmManifest = {
      // the model's file name only: an artifact should not carry the build machine's paths
      format: WASM_FORMAT, model: (source ?? '').split(/[\\/]/).pop() ?? '', pages,
      weights: { offset: stored.offset, bytes: weights.length, ...(embed ? {} : { file: 'weights.bin' }) },
      arena: { offset: ARENA_BASE, bytes: plan.arena.arenaBytes, lowerBoundBytes: plan.arena.lowerBoundBytes, totalBytes: plan.arena.totalBytes },
      inputs: prepared.inputs.map((n) => {
        const f = prepared.fixed[n];
        return f ? { name: n, dtype: f.dtype, dims: [...f.dims], offset: 0, bytes: 0, fixed: fixedValues(f) } : io(n);
      }),
      outputs: g.outputs.map(io),
      kernels: kernels.map((k) => [k.node, k.op] as const),
      ...(ranges.length ? { carry: Object.entries(prepared.carry!).map(([input, output]) => ({ input, output })) } : {}),
      ...(opts.simd === 'relaxed' ? { simd: 'relaxed' as const } : {}),
      ...(threads > 1 ? { threads } : {}),
      ...(prepared.layouts ? { values: prepared.layouts } : {}),
      ...(stored.entries.length ? { sparseWeights: stored.entries.map((e) => [e.label, e.denseBytes, e.storedBytes, e.use] as const) } : {}),
    };
    return { wasm: m.emitBinary(), weights, manifest, kernels };
  } finally {
    m.dispose();
  }
}

// A wasm module whose symbolic dims are given at run time within declared ranges (`--dim seq=1..128`). The graph is
// compiled at several sizes (lowering/dims.ts samplePoints) with one memory plan, the top of every range's; the
// kernels are emitted in generic form (dims-mode.ts) and the modules generalised into one (dims-generalize.ts):
// every size-dependent constant a dim expression computed from the module's dim globals. Constants the graph folds
// from the sizes (position ids, masks, a slice of an embedding table) are laid out once, at the top size; a run
// reads the prefix its size needs, which is checked to be the value at each compiled size.

import binaryen from './binaryen.js';
import { UnsupportedOpError, UsageError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import { tensorBytes } from '../../lowering/weights.js';
import { fitExpr, formatExpr, isConstExpr, samplePoints, evalExpr, type DimRange } from '../../lowering/dims.js';
import { optimizeFor, type PipelineChoice } from '../../lowering/compile-for.js';
import { planLowering, type LoweringPlan } from '../../lowering/plan.js';
import { UnsupportedNodesError, unsupportedNodes } from '../../lowering/support.js';
import { emitWasm, WASM_BACKEND, type WasmArtifact, type WasmCompileOptions } from './compile.js';
import { withGenericDims } from './dims-mode.js';
import { dimGlobal, generalizeModules, GeneralizeError } from './dims-generalize.js';
import { parseSx, printSx, headOf, type Sx } from './dims-wat.js';
import type { KernelGen, TensorRef } from './kernels/types.js';
import { KERNELS } from './kernels/index.js';
import { ARENA_BASE, type WasmIoSpec, type WasmManifest } from './abi.js';
import { alignUp } from '../../lowering/buffer-plan.js';

type Plan = LoweringPlan<TensorRef, KernelGen>;

/** Compile `graph` once for every size of `ranges` (dims not in `ranges` fixed by opts.dims as usual). */
/** fuse-attention stays off here: the Attention kernel's code depends on the key count (vector tails, 4x4 block
 *  transposes) and its 3-D form adds shape constants folded from the size. */
const DYN_BACKEND = { ...WASM_BACKEND, capabilities: { ...WASM_BACKEND.capabilities, slowerFusions: ['fuse-attention'] } };

export function compileDynamic(graph: Graph, opts: WasmCompileOptions, ranges: readonly DimRange[], pipeline: PipelineChoice = {}): { artifact: WasmArtifact; graph: Graph } {
  const source = opts.source ?? graph.name;
  if (opts.carry && Object.keys(opts.carry).length) throw new UsageError('--carry with a --dim range is not supported yet: compile the state pairs for one size', { model: source });
  if ((opts.threads ?? 1) > 1) throw new UsageError('--threads with a --dim range is not supported yet', { model: source });
  if (opts.inputShapes) throw new UsageError('--inputs fixes every input shape; give the ranged dims with --dim only', { model: source });
  const syms = ranges.map((r) => r.name);
  const declared = new Set(graph.inputs.flatMap((n) => { const t = graph.types.get(n); return t?.kind === 'tensor' ? (t.shape ?? []).filter((d): d is string => typeof d === 'string') : []; }));
  for (const s of syms) if (!declared.has(s)) throw new UsageError(`--dim ${s}=..: no input of the model has a dim named '${s}' (symbolic dims: ${[...declared].join(', ') || 'none'})`, { model: source });
  const points = samplePoints(ranges);
  // planned for the largest size emitted (past the range's top when the range is too narrow to sample inside)
  const top = ranges.map((_, i) => Math.max(...points.map((p) => p[i]!)));
  if (!points.some((p) => p.join() === top.join())) points.push(top);
  const at = (p: readonly number[]): { plan: Plan; graph: Graph } => {
    const dims = { ...(opts.dims ?? {}), ...Object.fromEntries(syms.map((s, i) => [s, p[i]!])) };
    const { graph: g, prepared } = optimizeFor(DYN_BACKEND, graph, { ...opts, dims }, pipeline);
    const unsupported = unsupportedNodes(WASM_BACKEND, prepared);
    if (unsupported.length) throw new UnsupportedNodesError(unsupported, WASM_BACKEND.name, source);
    // no sparse kernels (kernels/sparse-matmul.ts): their choice and code depend on the rows, so sizes would differ;
    // a pruned layer runs dense, its weights stored compressed
    return { plan: planLowering({ ...WASM_BACKEND, kernels: KERNELS }, prepared), graph: g };
  };
  const hi = at(top);
  const samples = points.map((p) => (p.join() === top.join() ? hi : at(p)));
  const name = (p: readonly number[]): string => syms.map((s, i) => `${s}=${p[i]}`).join(', ');
  const differing = new Map<string, string>();
  samples.forEach((s, j) => checkSameGraph(hi.plan, s.plan, name(points[j]!), syms.join(', '), source, differing));

  // each size emitted against the top size's memory plan, kernels in generic form, names kept for messages
  const texts: Sx[][] = [], statics: Sx[][] = [];
  let hiArtifact: WasmArtifact | undefined;
  const artifacts: WasmArtifact[] = [];
  const debug = binaryen.getDebugInfo();
  binaryen.setDebugInfo(true);
  try {
    samples.forEach((s, j) => {
      const plan = s.plan === hi.plan ? hi.plan : onTopPlan(hi.plan, s.plan);
      const a = withGenericDims(() => emitWasm(plan, { ...opts, optimize: false, embedLimit: 0, storedWeights: 'apart' }));
      artifacts.push(a);
      if (s === hi) hiArtifact = a;
      texts.push(moduleFields(a.wasm));
      // the static form too: a kernel whose static code is the same at every size keeps it (gemm-core's plan for
      // M = 1, a vector loop without a tail), since nothing in it depends on the dims
      statics.push(moduleFields(emitWasm(plan, { ...opts, optimize: false, embedLimit: 0, storedWeights: 'apart' }).wasm));
      void j;
    });
  } finally {
    binaryen.setDebugInfo(debug);
  }
  const base = hiArtifact!;
  [...texts, ...statics].forEach((t) => checkUnread(hi.plan, t, differing, alignUp(ARENA_BASE + hi.plan.arena.arenaBytes, 16), source, syms.join(', ')));
  let general;
  try {
    general = generalizeModules(texts, points, syms, statics);
  } catch (e) {
    if (!(e instanceof GeneralizeError)) throw e;
    const k = base.kernels.find((x) => e.fn === `$${x.fn}` || e.fn.startsWith(`$${x.fn}_`));
    throw new UnsupportedOpError(`cannot take ${syms.join(', ')} at run time: ${e.detail}; compile with --dim ${syms.map((s) => `${s}=N`).join(' ')} for one size`, { model: source, node: k?.node ?? e.fn, op: k?.op });
  }
  // the dim globals (exported, set by the runtime before each run) and the weights when embedded
  const fields: Sx[] = syms.map((s, i) => ['global', dimGlobal(s, i), ['mut', 'i32'], ['i32.const', String(top[i])]]);
  const exports: Sx[] = syms.map((s, i) => ['export', `"${dimGlobal(s, i).slice(1)}"`, ['global', dimGlobal(s, i)]]);
  const embed = base.weights.length > 0 && base.weights.length <= (opts.embedLimit ?? 1 << 20);
  const data: Sx[] = embed ? [['data', ['i32.const', String(base.manifest.weights.offset)], quoteBytes(base.weights)]] : [];
  const text = printSx(['module', ...fields, ...general.module, ...exports, ...data]);
  const m = binaryen.parseText(text);
  let wasm: Uint8Array;
  try {
    m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.NontrappingFPToInt | binaryen.Features.SignExt | binaryen.Features.MutableGlobals | (opts.simd === 'relaxed' ? binaryen.Features.RelaxedSIMD : 0));
    if (!m.validate()) throw new Error(`generalised wasm module for '${source}' failed validation`);
    if (opts.optimize ?? true) {
      // as emitWasm: kernels stay functions of their own (V8 compiles one huge run() far worse)
      const oneCaller = binaryen.getOneCallerInlineMaxSize();
      binaryen.setOneCallerInlineMaxSize(0);
      try { m.optimize(); } finally { binaryen.setOneCallerInlineMaxSize(oneCaller); }
    }
    wasm = m.emitBinary();
  } finally {
    m.dispose();
  }
  const manifest = dynamicManifest(graph, base.manifest, artifacts.map((a) => a.manifest), points, ranges, opts.dims ?? {}, embed);
  return { artifact: { ...base, wasm, manifest }, graph: hi.graph };
}

/** The fields of a module (unoptimised, names kept) as trees. */
function moduleFields(wasm: Uint8Array): Sx[] {
  const rm = binaryen.readBinary(wasm);
  try {
    const mod = parseSx(rm.emitText())[0];
    if (!Array.isArray(mod) || headOf(mod) !== 'module') throw new Error('wat: no module');
    return mod.slice(1);
  } finally { rm.dispose(); }
}

/** A sample's plan with the top size's addresses: arena, scratch and weights (its constants checked against them). */
function onTopPlan(top: Plan, s: Plan): Plan {
  return { ...s, arena: top.arena, weights: top.weights, placeOf: top.placeOf, rootOf: top.rootOf, nodes: s.nodes.map((n, k) => ({ ...n, scratch: top.nodes[k]!.scratch, packed: top.nodes[k]!.packed })) };
}

/** The plans of two sizes must be the same program: nodes, views, subgraph-free, and every laid-out constant the
 *  same or (a value folded from the size) the top size's value cut to its prefix; pre-packed weights the same. */
function checkSameGraph(top: Plan, s: Plan, at: string, syms: string, source: string, differing: Map<string, string>): void {
  const fail = (msg: string, node?: string, op?: string): never => { throw new UnsupportedOpError(`cannot take ${syms} at run time: ${msg}`, { model: source, node, op }); };
  if (top.nodes.length !== s.nodes.length) fail(`the pipeline keeps ${top.nodes.length} run-time nodes at the top of the range and ${s.nodes.length} at ${at}`);
  top.nodes.forEach((p, k) => {
    const q = s.nodes[k]!;
    if (p.node.op !== q.node.op || p.node.name !== q.node.name) fail(`the pipeline lowers node '${p.node.name}' at the top of the range and '${q.node.name}' in its place at ${at}`, p.node.name, p.node.op);
    if (p.bodies?.length) fail('subgraphs (If/Loop/Scan) in a dynamic-dims compile are not supported yet', p.node.name, p.node.op);
    if (p.view !== q.view) fail(`the node is a view at one size and a copy at ${at}`, p.node.name, p.node.op);
    if ((q.scratch?.bytes ?? 0) > (p.scratch?.bytes ?? 0)) fail(`its scratch at ${at} is larger than at the top of the range`, p.node.name, p.node.op);
    p.packed.forEach((t, j) => {
      const u = q.packed[j];
      if (!u || !sameBytes(tensorBytes(t.constant), tensorBytes(u.constant))) fail(`its pre-packed weights depend on the size (${at})`, p.node.name, p.node.op);
    });
  });
  // constants laid out in the weights region: equal, or the top value's prefix
  for (const [name, t] of top.prepared.constants) {
    if (top.weights.offsetOf(name) === undefined) continue;
    const u = s.prepared.constants.get(name);
    const user = top.nodes.find((p) => p.node.inputs.includes(name));
    if (!u) { fail(`constant '${name}' exists at the top of the range but not at ${at}`, user?.node.name, user?.node.op); return; }
    const a = tensorBytes(t), b = tensorBytes(u);
    if (t.dtype !== u.dtype || b.length > a.length || !sameBytes(a.subarray(0, b.length), b)) {
      // kernels read shape operands (Reshape's target, Slice's starts) at compile time: fine unless code reads it
      differing.set(name, `constant '${name}' (${t.dtype}[${t.dims.join(',')}] at the top of the range, [${u.dims.join(',')}] at ${at}) is folded from the size and is not the top value's prefix; it would have to be computed at run time`);
    }
  }
}

/** Constants that differ between sizes must not be read by any kernel's code: no address inside one may appear
 *  in the code (kernels address a tensor from its base, a static offset or constant). */
function checkUnread(top: Plan, text: Sx[], differing: ReadonlyMap<string, string>, weightsBase: number, source: string, syms: string): void {
  if (!differing.size) return;
  const ranges = [...differing.keys()].map((n) => {
    const off = top.weights.offsetOf(n)!;
    return [weightsBase + off, weightsBase + off + Math.max(1, tensorBytes(top.prepared.constants.get(n)!).length), n] as const;
  });
  const hit = (v: number): string | undefined => ranges.find(([lo, hi]) => v >= lo && v < hi)?.[2];
  const scan = (x: Sx): string | undefined => {
    if (typeof x === 'string') return x.startsWith('offset=') ? hit(Number(x.slice(7))) : undefined;
    if (x[0] === 'i32.const' && typeof x[1] === 'string') return hit(Number(x[1]));
    for (const c of x) { const r = scan(c); if (r) return r; }
    return undefined;
  };
  for (const f of text) {
    const n = scan(f);
    if (!n) continue;
    const user = top.nodes.find((p) => p.node.inputs.includes(n));
    throw new UnsupportedOpError(`cannot take ${syms} at run time: ${differing.get(n)!}`, { model: source, node: user?.node.name, op: user?.node.op });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes as a WAT string literal. */
function quoteBytes(b: Uint8Array): string {
  const hex = '0123456789abcdef';
  const parts = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) parts[i] = `\\${hex[b[i]! >> 4]}${hex[b[i]! & 15]}`;
  return `"${parts.join('')}"`;
}

/** The top size's manifest with the ranges, and each input's and output's shape as dim expressions. */
function dynamicManifest(graph: Graph, top: WasmManifest, all: readonly WasmManifest[], points: readonly (readonly number[])[], ranges: readonly DimRange[], fixed: Readonly<Record<string, number>>, embed: boolean): WasmManifest {
  const syms = ranges.map((r) => r.name);
  const shapeOf = (list: 'inputs' | 'outputs', spec: WasmIoSpec, k: number): (number | string)[] => spec.dims.map((d, i) => {
    const vals = all.map((mf) => mf[list][k]!.dims[i]!);
    const e = fitExpr(points, vals);
    if (!e) throw new UnsupportedOpError(`cannot take ${syms.join(', ')} at run time: ${list.slice(0, -1)} '${spec.name}' dim ${i} takes the values ${vals.join(', ')}, which no dim expression gives`, { model: top.model });
    return isConstExpr(e) ? evalExpr(e, syms.map(() => 0)) : formatExpr(e, syms);
  });
  void graph; void fixed;
  return {
    ...top,
    weights: embed ? { offset: top.weights.offset, bytes: top.weights.bytes } : top.weights,
    dims: ranges.map((r, i) => ({ name: r.name, min: r.min, max: r.max, global: dimGlobal(r.name, i).slice(1) })),
    inputs: top.inputs.map((s, k) => (s.fixed ? s : { ...s, shape: shapeOf('inputs', s, k) })),
    outputs: top.outputs.map((s, k) => ({ ...s, shape: shapeOf('outputs', s, k) })),
  };
}

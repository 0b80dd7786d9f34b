// Lowering a graph to one WebAssembly module: fix the shapes, evaluate what is constant, plan the arena,
// lay out the weights, emit one function per run-time node from the kernel table, and a `run` that calls them.

import binaryen from 'binaryen';
import { OnnxcError, ShapeError, UnsupportedOpError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { sizeOf } from '../../ir/tensor.js';
import { numberToBf16Bits, numberToF16Bits } from '../../ir/float16.js';
import type { Dim } from '../../ir/types.js';
import { plainAttrs } from '../../ops/attrs.js';
import { getOp } from '../../ops/index.js';
import { inferGraph } from '../../ops/infer-graph.js';
import { ARENA_BASE, WASM_FORMAT, type WasmIoSpec, type WasmManifest } from './abi.js';
import { elemBytes, Fn, type Ptr } from './fn.js';
import { KERNELS } from './kernels/index.js';
import type { KernelGen, PlanContext, TensorRef } from './kernels/types.js';
import { ALIGN, planArena, type BufferReq } from './memory-plan.js';
import { staticEval } from './static-eval.js';

export interface WasmCompileOptions {
  /** Sizes of symbolic dims (`--dim batch=2`). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Concrete input shapes by input name (e.g. from the inputs being run); wins over `dims`. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Run Binaryen's optimizer (default true). */
  readonly optimize?: boolean;
  /** Weights above this many bytes go to a side file instead of the module's data segment (default 1 MiB). */
  readonly embedLimit?: number;
  /** Small integer inputs to specialise on (shape-like operands: pads, target shapes): treated as constants,
   *  recorded in the manifest, checked by the runtime. */
  readonly fixedInputs?: Readonly<Record<string, Tensor>>;
  /** Model name for messages and the manifest. */
  readonly source?: string;
  /** Also export each kernel function under its name (`k<i>_<Op>`), for per-kernel profiling. */
  readonly exportKernels?: boolean;
}

export interface WasmArtifact {
  readonly wasm: Uint8Array;
  /** The weights region's bytes (also embedded in `wasm` when manifest.weights.file is absent). */
  readonly weights: Uint8Array;
  readonly manifest: WasmManifest;
  /** Per run-time node: op and the function name, for size and profiling reports. */
  readonly kernels: readonly { node: string; op: string; fn: string }[];
}

/** A copy of `g` with every input shape concrete, re-inferred so every value is static. */
export function specialize(g: Graph, opts: WasmCompileOptions): Graph {
  const types = new Map(g.types);
  for (const name of g.inputs) {
    const t = g.types.get(name);
    if (!t || t.kind !== 'tensor' || !t.shape) continue;
    const given = opts.inputShapes?.[name];
    const shape: Dim[] = given ? [...given] : t.shape.map((d) => (typeof d === 'string' && opts.dims?.[d] !== undefined ? opts.dims[d]! : d));
    const missing = shape.find((d) => typeof d === 'string');
    if (missing !== undefined) throw new ShapeError(`input '${name}' has symbolic dim '${missing}'; give its size (--dim ${missing}=N)`, { model: opts.source });
    types.set(name, { kind: 'tensor', dtype: t.dtype, shape });
  }
  // drop inferred types of node outputs so stale symbolic dims do not pin the new ones
  const keep = new Set([...g.inputs, ...g.initializers.keys(), ...g.outputs]);
  for (const k of [...types.keys()]) if (!keep.has(k)) types.delete(k);
  for (const o of g.outputs) if (!g.inputs.includes(o) && !g.initializers.has(o)) types.delete(o);
  return inferGraph({ ...g, types }, { source: opts.source });
}

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
/** Largest kernel (Binaryen size units) still inlined into run(); see the optimize call below. */
const KERNEL_INLINE_MAX = 0;

function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  // 16-bit floats are held as Float32Array values in the IR and stored as their bits in linear memory
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const bits = Uint16Array.from(d as Float32Array, t.dtype === 'float16' ? numberToF16Bits : numberToBf16Bits);
    return new Uint8Array(bits.buffer);
  }
  if (Array.isArray(d)) throw new UnsupportedOpError(`string tensors are not supported by the wasm backend`);
  const v = d as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export function compileWasm(graph0: Graph, opts: WasmCompileOptions = {}): WasmArtifact {
  const fixed = opts.fixedInputs ?? {};
  const graph: Graph = Object.keys(fixed).length === 0 ? graph0 : {
    ...graph0,
    inputs: graph0.inputs.filter((n) => !fixed[n]),
    initializers: new Map([...graph0.initializers, ...Object.entries(fixed)]),
  };
  const g = specialize(graph, opts);
  const source = opts.source ?? graph.name;
  const sg = staticEval(g, source);
  const nodes = sg.nodes;
  const kernelOf = nodes.map((n) => {
    const k = KERNELS[n.op];
    if (!k) throw new UnsupportedOpError(`op ${n.op} has no wasm kernel`, { model: source, node: n.name, op: n.op });
    return k;
  });

  // --- buffers: roots own memory, aliases (views) share their input's
  const root = new Map<string, string>();
  const rootOf = (v: string): string => root.get(v) ?? v;
  nodes.forEach((n, k) => {
    if (kernelOf[k]!.alias && !sg.constants.has(n.inputs[0]!)) {
      if (n.outputs.slice(1).some((o) => o !== '')) {
        const extra = n.outputs.slice(1).filter((o) => o !== '');
        if (extra.some((o) => nodes.some((m) => m.inputs.includes(o)) || g.outputs.includes(o))) {
          throw new UnsupportedOpError(`optional outputs of ${n.op} are not supported by the wasm backend`, { model: source, node: n.name, op: n.op });
        }
      }
      root.set(n.outputs[0]!, rootOf(n.inputs[0]!));
    }
  });
  const first = new Map<string, number>(), last = new Map<string, number>();
  const steps = nodes.length + 1;
  const touch = (v: string, s: number): void => { const r = rootOf(v); if (!sg.constants.has(r)) last.set(r, Math.max(last.get(r) ?? 0, s)); };
  for (const i of g.inputs) { first.set(i, 0); last.set(i, 0); }
  nodes.forEach((n, k) => {
    n.inputs.forEach((i) => { if (i) touch(i, k + 1); });
    n.outputs.forEach((o) => { if (o && !root.has(o)) { first.set(o, k + 1); last.set(o, k + 1); } });
  });
  for (const o of g.outputs) touch(o, steps);
  const refShape = (name: string): { dtype: Tensor['dtype']; dims: number[]; size: number; bytes: number } => {
    const t = sg.tensorType(name);
    const size = sizeOf(t.dims);
    return { ...t, size, bytes: size * elemBytes(t.dtype) };
  };
  const dummy = (name: string): TensorRef => ({ name, ...refShape(name), ptr: { base: 0 }, constant: sg.constants.get(name) });
  const reqs: BufferReq[] = [];
  for (const [v, f] of first) if (!sg.constants.has(v)) reqs.push({ id: v, bytes: refShape(v).bytes, first: f, last: last.get(v) ?? f });
  const planCtx = (n: Node): PlanContext => ({
    node: n, attrs: plainAttrs(getOp(n.op)!, n), site: { model: source, node: n.name, op: n.op },
    inputs: n.inputs.map((i) => (i ? dummy(i) : undefined)), outputs: n.outputs.map((o) => (o ? dummy(o) : undefined)),
  });
  const withSite = <T>(n: Node, f: () => T): T => {
    try { return f(); } catch (e) { if (e instanceof OnnxcError) throw e.at({ model: source, node: n.name, op: n.op }); throw e; }
  };
  const scratch = nodes.map((n, k) => { const kg: KernelGen = kernelOf[k]!; return kg.scratch ? withSite(n, () => kg.scratch!(planCtx(n))) : 0; });
  const packed = nodes.map((n, k) => { const kg: KernelGen = kernelOf[k]!; return kg.prepack ? withSite(n, () => kg.prepack!(planCtx(n))) : []; });
  scratch.forEach((b, k) => { if (b > 0) reqs.push({ id: `#scratch${k}`, bytes: b, first: k + 1, last: k + 1 }); });
  const plan = planArena(reqs);

  // --- weights: constants read at run time (by kernels or as outputs), then what kernels pre-pack
  const weightsBase = alignUp(ARENA_BASE + plan.arenaBytes);
  const chunks: Uint8Array[] = [];
  let wEnd = weightsBase;
  const constAddr = new Map<string, number>();
  const place = (bytes: Uint8Array): number => {
    const at = wEnd;
    chunks.push(bytes);
    const pad = alignUp(bytes.length) - bytes.length;
    if (pad) chunks.push(new Uint8Array(pad));
    wEnd += alignUp(bytes.length);
    return at;
  };
  const constantAt = (name: string): number => {
    let a = constAddr.get(name);
    if (a === undefined) { elemBytes(sg.constants.get(name)!.dtype); a = place(tensorBytes(sg.constants.get(name)!)); constAddr.set(name, a); }
    return a;
  };
  const addrOf = (name: string): number => {
    const r = rootOf(name);
    if (sg.constants.has(r)) return constantAt(r);
    const off = plan.offsets.get(r);
    if (off === undefined) throw new ShapeError(`value '${name}' has no buffer (internal planning error)`, { model: source });
    return ARENA_BASE + off;
  };
  const packedRefs = packed.map((ts, k) => ts.map((t, j): TensorRef => ({
    name: `#packed${k}_${j}`, dtype: t.dtype, dims: t.dims, size: sizeOf(t.dims), ptr: { base: place(tensorBytes(t)) }, constant: t,
  })));
  const ref = (name: string): TensorRef => {
    const c = sg.constants.get(rootOf(name));
    // a constant that was not laid out is one the kernel declared unread: it gets no address
    const base = c && !constAddr.has(rootOf(name)) ? 0 : addrOf(name);
    return { name, ...refShape(name), ptr: { base }, constant: c };
  };

  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.NontrappingFPToInt | binaryen.Features.SignExt | binaryen.Features.MutableGlobals);
    // lay out every constant the kernels read before emitting (loads bind to the memory, so it comes first)
    nodes.forEach((n, k) => {
      const skip = new Set(kernelOf[k]!.unread?.(planCtx(n)) ?? []);
      n.inputs.forEach((i, j) => { if (i && !skip.has(j) && sg.constants.has(rootOf(i))) constantAt(rootOf(i)); });
    });
    for (const o of g.outputs) if (sg.constants.has(rootOf(o))) constantAt(rootOf(o));
    const weights = concat(chunks, wEnd - weightsBase);
    const embed = weights.length <= (opts.embedLimit ?? 1 << 20);
    const pages = Math.max(1, Math.ceil(wEnd / 65536));
    m.setMemory(pages, pages, 'memory', embed && weights.length ? [{ offset: m.i32.const(weightsBase), data: weights, passive: false }] : []);
    const kernels: { node: string; op: string; fn: string }[] = [];
    nodes.forEach((n, k) => {
      const kg = kernelOf[k]!;
      if (kg.alias && rootOf(n.outputs[0]!) !== n.outputs[0]) return;
      const site = { model: source, node: n.name, op: n.op };
      const fn = new Fn(m);
      const scratchPtr: Ptr = { base: scratch[k] ? ARENA_BASE + plan.offsets.get(`#scratch${k}`)! : 0 };
      let body;
      try {
        body = kg.emit({
          m, fn, node: n, attrs: plainAttrs(getOp(n.op)!, n), site, scratch: scratchPtr,
          inputs: n.inputs.map((i) => (i ? ref(i) : undefined)), outputs: n.outputs.map((o) => (o ? ref(o) : undefined)),
          packed: packedRefs[k]!,
        });
      } catch (e) {
        if (e instanceof OnnxcError) throw e.at(site);
        throw e;
      }
      const name = `k${k}_${n.op}`;
      m.addFunction(name, binaryen.none, binaryen.none, fn.vars, body);
      kernels.push({ node: n.name, op: n.op, fn: name });
    });
    m.addFunction('run', binaryen.none, binaryen.none, [], m.block(null, kernels.map((k) => m.call(k.fn, [], binaryen.none))));
    m.addFunctionExport('run', 'run');
    if (opts.exportKernels) for (const k of kernels) m.addFunctionExport(k.fn, k.fn);
    if (!m.validate()) throw new Error(`generated wasm module for '${source}' failed validation`);
    if (opts.optimize ?? true) {
      // Binaryen inlines every single-caller function by default, which folds all kernels into one huge run():
      // V8 compiles that far worse (mobilenet_v2 55 ms against 34 ms with kernels kept apart), so only small
      // kernels are inlined. The setting is global to Binaryen: restore it after.
      const oneCaller = binaryen.getOneCallerInlineMaxSize();
      binaryen.setOneCallerInlineMaxSize(KERNEL_INLINE_MAX);
      try { m.optimize(); } finally { binaryen.setOneCallerInlineMaxSize(oneCaller); }
    }
    const io = (name: string): WasmIoSpec => {
      const s = refShape(name);
      return { name, dtype: s.dtype, dims: s.dims, offset: addrOf(name), bytes: s.bytes };
    };
    const manifest: WasmManifest = {
      // the model's file name only: an artifact should not carry the build machine's paths
      format: WASM_FORMAT, model: (source ?? '').split(/[\\/]/).pop() ?? '', pages,
      weights: { offset: weightsBase, bytes: weights.length, ...(embed ? {} : { file: 'weights.bin' }) },
      arena: { offset: ARENA_BASE, bytes: plan.arenaBytes, lowerBoundBytes: plan.lowerBoundBytes, totalBytes: plan.totalBytes },
      inputs: graph0.inputs.map((n) => {
        const f = fixed[n];
        return f ? { name: n, dtype: f.dtype, dims: [...f.dims], offset: 0, bytes: 0, fixed: Array.from(f.data as ArrayLike<number | bigint>, String) } : io(n);
      }),
      outputs: g.outputs.map(io),
    };
    return { wasm: m.emitBinary(), weights, manifest, kernels };
  } finally {
    m.dispose();
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

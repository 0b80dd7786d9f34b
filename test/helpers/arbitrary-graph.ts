// fast-check arbitraries for random WELL-TYPED float32 graphs (with random input tensors), built only from ops
// the registry has. For differential tests (reference vs onnxruntime-node vs backends) and pass property tests.
//
// Values stay small: inputs and weights are multiples of 1/8 in [-1, 1], and each value carries a bound on its
// magnitude so that ops which grow values (Mul, MatMul, Conv, ReduceSum, ...) are only chosen while the result
// stays below MAX_MAGNITUDE: no overflow, no NaN, and float rounding differences stay small.

import fc from 'fast-check';
import { assertNever } from '../../ir/errors.js';
import type { Attr, Graph, Model, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues, sizeOf } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { getOp } from '../../ops/index.js';

export interface GeneratedGraph {
  readonly graph: Graph;
  /** A value for every graph input. */
  readonly inputs: ReadonlyMap<string, Tensor>;
}

export interface GeneratedModel {
  readonly model: Model;
  readonly inputs: ReadonlyMap<string, Tensor>;
}

export interface GraphGenOptions {
  /** Most nodes (default 8). */
  readonly maxNodes?: number;
  /** Ops to draw from (default: all of GRAPH_OPS). */
  readonly ops?: readonly string[];
  /** Use only ops the registry has (default true). False builds graphs for IR-only tests (printer, verifier). */
  readonly requireRegistered?: boolean;
}

/** Every op the generator knows how to place. */
export const GRAPH_OPS = [
  'Add', 'Sub', 'Mul', 'Max', 'Min', 'Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'MatMul', 'Gemm', 'Reshape',
  'Transpose', 'Concat', 'Softmax', 'ReduceSum', 'ReduceMean', 'Conv',
] as const;
export type GraphOp = (typeof GRAPH_OPS)[number];

const MAX_MAGNITUDE = 1e4;

export function arbitraryGraph(opts: GraphGenOptions = {}): fc.Arbitrary<GeneratedGraph> {
  const ops = usableOps(opts);
  return fc.gen().map((g) => new Builder(g, ops).build(opts.maxNodes ?? 8));
}

export function arbitraryModel(opts: GraphGenOptions = {}): fc.Arbitrary<GeneratedModel> {
  return arbitraryGraph(opts).map(({ graph, inputs }) => ({
    model: { graph, info: { irVersion: 10, producer: 'fast-check', opsets: { '': 21 } } },
    inputs,
  }));
}

/** The ops a generator with these options will use; throws when none is usable (nothing to build with). */
export function usableOps(opts: GraphGenOptions = {}): GraphOp[] {
  const wanted = (opts.ops ?? GRAPH_OPS) as readonly string[];
  const ops = GRAPH_OPS.filter((op) => wanted.includes(op) && (opts.requireRegistered === false || getOp(op) !== undefined));
  if (ops.length === 0) throw new Error(`arbitraryGraph: none of ${wanted.join(', ')} is in the op registry`);
  return ops;
}

interface Val {
  readonly name: string;
  readonly shape: readonly number[];
  /** Upper bound of |element|. */
  readonly mag: number;
}

type Gen = fc.GeneratorValue;

class Builder {
  private readonly nodes: Node[] = [];
  private readonly inits = new Map<string, Tensor>();
  private readonly types = new Map<string, ValueType>();
  private readonly inputNames: string[] = [];
  private readonly inputValues = new Map<string, Tensor>();
  private readonly vals: Val[] = [];
  private count = 0;

  constructor(private readonly g: Gen, private readonly ops: readonly GraphOp[]) {}

  // ---- random helpers ----
  private int(min: number, max: number): number { return this.g(fc.integer, { min, max }); }
  private bool(): boolean { return this.g(fc.boolean); }
  private pick<T>(xs: readonly T[]): T { return xs[this.int(0, xs.length - 1)]!; }
  /** Prefer recent values (chains) but reach back to older ones (shared values, fan-out). */
  private pickVal(ok: (v: Val) => boolean = () => true): Val | undefined {
    const c = this.vals.filter(ok);
    if (c.length === 0) return undefined;
    return this.bool() ? c[c.length - 1]! : this.pick(c);
  }
  private fresh(hint: string): string { return `${hint}${this.count++}`; }
  private shape(minRank: number, maxRank: number, maxDim = 4): number[] {
    return Array.from({ length: this.int(minRank, maxRank) }, () => this.int(1, maxDim));
  }
  private floats(n: number): number[] {
    return this.g(fc.array, fc.integer({ min: -8, max: 8 }), { minLength: n, maxLength: n }).map((v: number) => v / 8);
  }

  // ---- values ----
  private input(shape: readonly number[]): Val {
    const name = this.fresh('in');
    this.inputNames.push(name);
    this.inputValues.set(name, fromValues('float32', shape, this.floats(sizeOf(shape))));
    return this.define(name, shape, 1);
  }
  private weight(shape: readonly number[]): Val {
    const name = this.fresh('w');
    this.inits.set(name, fromValues('float32', shape, this.floats(sizeOf(shape))));
    return this.define(name, shape, 1);
  }
  /** A new input or initializer of the given shape. */
  private leaf(shape: readonly number[]): Val { return this.bool() ? this.weight(shape) : this.input(shape); }
  private int64Const(values: readonly number[]): string {
    const name = this.fresh('c');
    this.inits.set(name, fromValues('int64', [values.length], values.map((v) => BigInt(v))));
    this.types.set(name, { kind: 'tensor', dtype: 'int64', shape: [values.length] });
    return name;
  }
  private define(name: string, shape: readonly number[], mag: number): Val {
    this.types.set(name, { kind: 'tensor', dtype: 'float32', shape: [...shape] });
    const v: Val = { name, shape, mag };
    this.vals.push(v);
    return v;
  }
  private node(op: GraphOp, inputs: readonly string[], shape: readonly number[], mag: number, attrs: Record<string, Attr> = {}): Val {
    const out = this.fresh('v');
    this.nodes.push({ name: this.fresh(`${op.toLowerCase()}_`), op, inputs: [...inputs], outputs: [out], attrs: completeAttrs(op, attrs) });
    return this.define(out, shape, mag);
  }

  build(maxNodes: number): GeneratedGraph {
    this.input(this.shape(1, 4));
    if (this.bool()) this.input(this.shape(1, 4));
    const target = this.int(1, Math.max(1, maxNodes));
    for (let tries = 0; this.nodes.length < target && tries < target * 8; tries++) this.step(this.pick(this.ops));
    if (this.nodes.length === 0) this.forceOne();
    const last = this.vals[this.vals.length - 1]!;
    const produced = this.vals.filter((v) => this.nodes.some((n) => n.outputs.includes(v.name)));
    const outputs = [last.name];
    for (const v of produced) if (v !== last && outputs.length < 3 && this.int(0, 3) === 0) outputs.push(v.name);
    const graph: Graph = {
      name: 'generated', inputs: this.inputNames, outputs, nodes: this.nodes, initializers: this.inits, types: this.types,
    };
    return { graph, inputs: this.inputValues };
  }

  /** When every draw was refused (magnitudes), a bounded op always fits. */
  private forceOne(): void {
    const bounded = this.ops.find((op) => op === 'Tanh' || op === 'Sigmoid' || op === 'Relu' || op === 'Abs' || op === 'Neg' || op === 'Transpose');
    const v = this.vals[this.vals.length - 1]!;
    if (bounded === undefined || !this.step(bounded)) this.node(this.ops[0]!, [v.name, v.name], v.shape, v.mag); // unreachable in practice
  }

  /** Try to place one node of `op`; false when the drawn operands do not fit (too large, wrong rank). */
  private step(op: GraphOp): boolean {
    switch (op) {
      case 'Relu': case 'Abs': case 'Neg': {
        const x = this.pickVal()!;
        this.node(op, [x.name], x.shape, x.mag);
        return true;
      }
      case 'Sigmoid': case 'Tanh': {
        const x = this.pickVal()!;
        this.node(op, [x.name], x.shape, 1);
        return true;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Max': case 'Min': return this.binary(op);
      case 'MatMul': return this.matmul();
      case 'Gemm': return this.gemm();
      case 'Reshape': return this.reshape();
      case 'Transpose': {
        const x = this.pickVal((v) => v.shape.length >= 1);
        if (!x) return false;
        const perm = this.permutation(x.shape.length);
        this.node(op, [x.name], perm.map((p) => x.shape[p]!), x.mag, { perm: { kind: 'ints', value: perm } });
        return true;
      }
      case 'Concat': return this.concat();
      case 'Softmax': {
        const x = this.pickVal((v) => v.shape.length >= 1);
        if (!x) return false;
        const r = x.shape.length;
        this.node(op, [x.name], x.shape, 1, { axis: { kind: 'int', value: this.int(-r, r - 1) } });
        return true;
      }
      case 'ReduceSum': case 'ReduceMean': return this.reduce(op);
      case 'Conv': return this.conv();
      default: return assertNever(op, 'generator op');
    }
  }

  private permutation(n: number): number[] {
    const rest = Array.from({ length: n }, (_, i) => i);
    const out: number[] = [];
    while (rest.length) out.push(rest.splice(this.int(0, rest.length - 1), 1)[0]!);
    return out;
  }

  private binary(op: 'Add' | 'Sub' | 'Mul' | 'Max' | 'Min'): boolean {
    const a = this.pickVal()!;
    let b: Val;
    const mode = this.int(0, 2);
    if (mode === 0) b = this.pickVal((v) => sameShape(v.shape, a.shape)) ?? a; // often a itself: shared values
    else if (mode === 1) {
      // a broadcastable partner: drop some leading dims, set some dims to 1
      const drop = this.int(0, a.shape.length);
      b = this.leaf(a.shape.slice(drop).map((d) => (this.bool() ? 1 : d)));
    } else {
      b = this.pickVal((v) => broadcast(a.shape, v.shape) !== undefined) ?? a;
    }
    const [x, y] = this.bool() ? [a, b] : [b, a];
    const mag = op === 'Mul' ? x.mag * y.mag : op === 'Add' || op === 'Sub' ? x.mag + y.mag : Math.max(x.mag, y.mag);
    if (mag > MAX_MAGNITUDE) return false;
    this.node(op, [x.name, y.name], broadcast(x.shape, y.shape)!, mag);
    return true;
  }

  private matmul(): boolean {
    const a = this.pickVal((v) => v.shape.length >= 2);
    if (!a) return false;
    const k = a.shape[a.shape.length - 1]!;
    const n = this.int(1, 4);
    // b is [K, N] or carries a's batch dims
    const bShape = this.bool() ? [k, n] : [...a.shape.slice(0, -2), k, n];
    const mag = k * a.mag;
    if (mag > MAX_MAGNITUDE) return false;
    const b = this.weight(bShape);
    this.node('MatMul', [a.name, b.name], [...a.shape.slice(0, -1), n], mag);
    return true;
  }

  private gemm(): boolean {
    const a = this.pickVal((v) => v.shape.length === 2);
    if (!a) return false;
    const transA = this.int(0, 1);
    const transB = this.int(0, 1);
    const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const n = this.int(1, 4);
    const alpha = this.pick([0.5, 1, 2]);
    const beta = this.pick([0.5, 1, 2]);
    const b = this.weight(transB ? [n, k] : [k, n]);
    const cShape = this.pick<number[] | undefined>([undefined, [n], [1, n], [m, n], [m, 1], []]);
    const inputs = [a.name, b.name];
    if (cShape !== undefined) inputs.push(this.weight(cShape).name);
    const mag = alpha * k * a.mag + (cShape ? beta : 0);
    if (mag > MAX_MAGNITUDE) return false;
    this.node('Gemm', inputs, [m, n], mag, {
      alpha: { kind: 'float', value: alpha }, beta: { kind: 'float', value: beta },
      transA: { kind: 'int', value: transA }, transB: { kind: 'int', value: transB },
    });
    return true;
  }

  private reshape(): boolean {
    const x = this.pickVal()!;
    const size = sizeOf(x.shape);
    // split the size's prime factors over 1..4 dims
    const factors: number[] = [];
    for (let s = size, p = 2; s > 1;) { if (s % p === 0) { factors.push(p); s /= p; } else p++; }
    const rank = this.int(1, 4);
    const shape = new Array<number>(rank).fill(1);
    for (const f of factors) shape[this.int(0, rank - 1)]! *= f;
    if (size === 0) return false;
    // spell it with ONNX's specials: -1 infers one dim, 0 copies the input's dim at that index
    const spelled = shape.map((d, i) => (i < x.shape.length && x.shape[i] === d && this.int(0, 3) === 0 ? 0 : d));
    if (this.bool()) spelled[this.int(0, rank - 1)] = -1;
    this.node('Reshape', [x.name, this.int64Const(spelled)], shape, x.mag, { allowzero: { kind: 'int', value: 0 } });
    return true;
  }

  private concat(): boolean {
    const a = this.pickVal((v) => v.shape.length >= 1);
    if (!a) return false;
    const r = a.shape.length;
    const axis = this.int(0, r - 1);
    const parts: Val[] = [a];
    for (let i = this.int(1, 2); i > 0; i--) {
      if (this.bool()) parts.push(a);
      else parts.push(this.leaf(a.shape.map((d, j) => (j === axis ? this.int(1, 3) : d))));
    }
    const shape = [...a.shape];
    shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
    const written = this.bool() ? axis : axis - r;
    this.node('Concat', parts.map((p) => p.name), shape, Math.max(...parts.map((p) => p.mag)), { axis: { kind: 'int', value: written } });
    return true;
  }

  private reduce(op: 'ReduceSum' | 'ReduceMean'): boolean {
    const x = this.pickVal((v) => v.shape.length >= 1);
    if (!x) return false;
    const r = x.shape.length;
    const keep = this.int(0, 1);
    const chosen = Array.from({ length: r }, (_, i) => i).filter(() => this.bool());
    const all = chosen.length === 0;
    const axes = all ? Array.from({ length: r }, (_, i) => i) : chosen;
    const n = axes.reduce((s, a) => s * x.shape[a]!, 1);
    const mag = op === 'ReduceSum' ? n * x.mag : x.mag;
    if (mag > MAX_MAGNITUDE) return false;
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    // no axes input reduces everything; otherwise axes may be written negative
    const inputs = all ? [x.name] : [x.name, this.int64Const(chosen.map((a) => (this.bool() ? a : a - r)))];
    this.node(op, inputs, shape, mag, { keepdims: { kind: 'int', value: keep }, noop_with_empty_axes: { kind: 'int', value: 0 } });
    return true;
  }

  private conv(): boolean {
    const x = this.pickVal((v) => v.shape.length === 4) ?? this.input([this.int(1, 2), this.int(1, 4), this.int(3, 6), this.int(3, 6)]);
    const [, c, h, w] = x.shape as [number, number, number, number];
    const groups = [1, 2, 4].filter((gr) => c % gr === 0);
    const group = this.pick(groups);
    const m = group * this.int(1, 2);
    const kernel = [this.int(1, 3), this.int(1, 3)];
    const strides = [this.int(1, 2), this.int(1, 2)];
    const dilations = [this.int(1, 2), this.int(1, 2)];
    const pads = [this.int(0, 1), this.int(0, 1), this.int(0, 1), this.int(0, 1)];
    const out = [h, w].map((size, i) => Math.floor((size + pads[i]! + pads[i + 2]! - ((kernel[i]! - 1) * dilations[i]! + 1)) / strides[i]!) + 1);
    if (out.some((d) => d < 1)) return false;
    const mag = (c / group) * kernel[0]! * kernel[1]! * x.mag + 1;
    if (mag > MAX_MAGNITUDE) return false;
    const wgt = this.weight([m, c / group, kernel[0]!, kernel[1]!]);
    const inputs = [x.name, wgt.name];
    if (this.bool()) inputs.push(this.weight([m]).name);
    this.node('Conv', inputs, [x.shape[0]!, m, out[0]!, out[1]!], mag, {
      auto_pad: { kind: 'string', value: 'NOTSET' }, dilations: { kind: 'ints', value: dilations },
      group: { kind: 'int', value: group }, kernel_shape: { kind: 'ints', value: kernel },
      pads: { kind: 'ints', value: pads }, strides: { kind: 'ints', value: strides },
    });
    return true;
  }
}

/** Fill the op's schema defaults (as the importer does) and keep only attributes the schema declares. */
function completeAttrs(op: string, attrs: Record<string, Attr>): Record<string, Attr> {
  const def = getOp(op);
  if (!def) return attrs;
  const out: Record<string, Attr> = {};
  for (const [name, spec] of Object.entries(def.attrs)) {
    const given = attrs[name];
    if (given !== undefined && given.kind === spec.kind) out[name] = given;
    else if (spec.default !== undefined) out[name] = { kind: spec.kind, value: spec.default } as Attr;
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcast of two static shapes, or undefined when they do not broadcast. */
function broadcast(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

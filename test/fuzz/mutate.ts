// Seeded mutations of ONNX models for the fuzzer: byte-level (truncation, bit flips, splices, inserted and repeated
// runs) and field-aware (decode the ModelProto, change one field a hostile model would: dims, dtypes, attribute
// values, external-data keys, subgraphs, names, op types; encode again). The same seed gives the same bytes.

import { encodeMessage, messageType } from '../../compiler/onnx/proto.js';

/** A small fast PRNG (mulberry32): a case is reproducible from its seed alone. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
}

/** Seed of case `index` of a run seeded with `runSeed`. */
export function caseSeed(runSeed: number, index: number): number {
  let h = (runSeed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- byte-level ---------------------------------------------------------------------------------------------

export function truncate(b: Uint8Array, r: Rng): Uint8Array {
  return b.subarray(0, r.int(Math.max(1, b.length)));
}

export function flipBits(b: Uint8Array, r: Rng): Uint8Array {
  const out = Uint8Array.from(b);
  if (out.length === 0) return out;
  const n = 1 + r.int(8);
  // flips cluster near the start half the time: that is where a model's structure (not its weights) lives
  const span = r.chance(0.5) ? Math.min(out.length, 4096) : out.length;
  for (let i = 0; i < n; i++) { const at = r.int(span); out[at] = out[at]! ^ (1 << r.int(8)); }
  return out;
}

export function splice(a: Uint8Array, b: Uint8Array, r: Rng): Uint8Array {
  const i = r.int(a.length + 1);
  const j = r.int(b.length + 1);
  const out = new Uint8Array(i + (b.length - j));
  out.set(a.subarray(0, i));
  out.set(b.subarray(j), i);
  return out;
}

export function insertBytes(b: Uint8Array, r: Rng): Uint8Array {
  const at = r.int(b.length + 1);
  const junk = r.chance(0.5) ? Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256))
    : b.subarray(r.int(b.length + 1)).subarray(0, 1 + r.int(64)); // a repeated run of the model itself
  const out = new Uint8Array(b.length + junk.length);
  out.set(b.subarray(0, at));
  out.set(junk, at);
  out.set(b.subarray(at), at + junk.length);
  return out;
}

// ---- field-aware ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);

/** Values a hostile model puts in integer fields: edges of int32/int64/safe integers, zero, negatives. */
const INTS = ['0', '1', '-1', '2', '3', '-2', '7', '255', '65536', '1000000', '100000', '1000000000000', '2147483647',
  '2147483648', '-2147483648', '4294967296', '9007199254740993', '9223372036854775807', '-9223372036854775808'];
const FLOATS = [0, -0, 1, -1, 0.5, 1e6, 1e30, -1e30, 3.4e38, Number.NaN, Infinity, -Infinity, 1e-45];
const STRINGS = ['', 'x', '\n', '\u001b[31mred\u001b[0m', 'a|b`c`<script>', '../../etc/passwd', '/dev/zero', 'weights.bin',
  'fifo', 'zero', 'sub/../weights.bin', 'NCHW', 'nearest', 'linear', 'constant', 'reflect', 'SAME_UPPER', 'ai.onnx', 'com.microsoft', 'x'.repeat(1000)];

/** Every object in the decoded model with a path-free walk (for picking a random node, tensor, attribute, ...). */
function collect(root: Obj): { graphs: Obj[]; nodes: Obj[]; tensors: Obj[]; attrs: Obj[]; valueInfos: Obj[] } {
  const out = { graphs: [] as Obj[], nodes: [] as Obj[], tensors: [] as Obj[], attrs: [] as Obj[], valueInfos: [] as Obj[] };
  const graph = (g: Obj): void => {
    out.graphs.push(g);
    for (const t of (g['initializer'] as Obj[] | undefined) ?? []) out.tensors.push(t);
    for (const k of ['input', 'output', 'value_info']) for (const v of (g[k] as Obj[] | undefined) ?? []) out.valueInfos.push(v);
    for (const n of (g['node'] as Obj[] | undefined) ?? []) nodeObj(n);
  };
  const nodeObj = (n: Obj): void => {
    out.nodes.push(n);
    for (const a of (n['attribute'] as Obj[] | undefined) ?? []) {
      out.attrs.push(a);
      if (isObj(a['t'])) out.tensors.push(a['t']);
      if (isObj(a['g'])) graph(a['g']);
      for (const sg of (a['graphs'] as Obj[] | undefined) ?? []) graph(sg);
    }
  };
  if (isObj(root['graph'])) graph(root['graph']);
  for (const f of (root['functions'] as Obj[] | undefined) ?? []) for (const n of (f['node'] as Obj[] | undefined) ?? []) nodeObj(n);
  return out;
}

const OP_TYPES = ['Add', 'Relu', 'Conv', 'Reshape', 'Expand', 'Tile', 'Pad', 'Resize', 'Gather', 'Loop', 'If', 'Scan',
  'ConstantOfShape', 'Range', 'Slice', 'Concat', 'MatMul', 'Gemm', 'Transpose', 'Split', 'Squeeze', 'Unsqueeze', 'Cast',
  'TopK', 'Constant', 'Shape', 'Einsum', 'ReduceSum', 'Softmax', 'LSTM', 'NonZero', 'Where', 'Identity', 'Div', 'Mod',
  'DFT', 'STFT', 'Col2Im', 'GridSample', 'RoiAlign', 'NonMaxSuppression', 'Unique', 'SequenceConstruct', 'CumSum', 'NoSuchOp'];

/** One field-aware mutation of `m` (a ModelProto as a plain object), in place; returns what it did. */
function mutateFields(m: Obj, r: Rng): string {
  const w = collect(m);
  const kinds = ['dims', 'dtype', 'attr', 'values', 'values', 'external', 'subgraph', 'names', 'op', 'structure', 'opset'] as const;
  const kind = r.pick(kinds);
  switch (kind) {
    case 'dims': {
      const shapes: unknown[][] = [];
      for (const t of w.tensors) if (Array.isArray(t['dims'])) shapes.push(t['dims']);
      for (const v of w.valueInfos) {
        const dim = ((((v['type'] as Obj | undefined)?.['tensor_type'] as Obj | undefined)?.['shape'] as Obj | undefined)?.['dim']) as Obj[] | undefined;
        if (dim) shapes.push(dim);
      }
      if (!shapes.length) return 'dims (none)';
      const s = r.pick(shapes);
      const value = r.pick(INTS);
      if (s.length && isObj(s[0])) {
        if (r.chance(0.2)) s.push({ dim_value: value }); else (s[r.int(s.length)] as Obj)['dim_value'] = value;
      } else if (r.chance(0.2) || s.length === 0) s.push(value); else s[r.int(s.length)] = value;
      return `dims=${value}`;
    }
    case 'dtype': {
      const code = r.int(26);
      if (w.tensors.length && r.chance(0.5)) { r.pick(w.tensors)['data_type'] = code; return `tensor dtype=${code}`; }
      const tt = w.valueInfos.map((v) => (v['type'] as Obj | undefined)?.['tensor_type'] as Obj | undefined).filter(isObj);
      if (!tt.length) return 'dtype (none)';
      r.pick(tt)['elem_type'] = code;
      return `value dtype=${code}`;
    }
    case 'attr': {
      if (!w.attrs.length) return 'attr (none)';
      const a = r.pick(w.attrs);
      const which = r.int(6);
      if (which === 0) { a['i'] = r.pick(INTS); a['type'] = 2; }
      else if (which === 1) { a['f'] = r.pick(FLOATS); a['type'] = 1; }
      else if (which === 2) { const ints = [...((a['ints'] as unknown[] | undefined) ?? [])]; if (ints.length && r.chance(0.7)) ints[r.int(ints.length)] = r.pick(INTS); else ints.push(r.pick(INTS)); a['ints'] = ints; a['type'] = 7; }
      else if (which === 3) { a['s'] = new TextEncoder().encode(r.pick(STRINGS)); a['type'] = 3; }
      else if (which === 4) a['type'] = r.int(16);
      else a['name'] = r.pick(['axis', 'axes', 'perm', 'pads', 'kernel_shape', 'strides', 'dilations', 'group', 'mode', 'to', 'value', 'body', 'then_branch']);
      return `attr ${String(a['name'])} #${which}`;
    }
    case 'values': {
      // one element of a constant tensor: these feed shapes (Reshape, Expand, Tile, Pad, Resize scales, Range, ...)
      const ts = w.tensors.filter((t) => [1, 6, 7].includes(Number(t['data_type'])));
      if (!ts.length) return 'values (none)';
      const t = r.pick(ts);
      const code = Number(t['data_type']);
      const width = code === 7 ? 8 : 4;
      const raw = t['raw_data'] as Uint8Array | undefined;
      const v = code === 1 ? r.pick([...FLOATS, 1e6, 1e12]) : Number(r.pick(INTS));
      if (raw && raw.length >= width) {
        const copy = Uint8Array.from(raw);
        const dv = new DataView(copy.buffer);
        const at = r.int(Math.floor(copy.length / width)) * width;
        if (code === 1) dv.setFloat32(at, v, true);
        else if (code === 6) dv.setInt32(at, v | 0, true);
        else dv.setBigInt64(at, BigInt.asIntN(64, BigInt(Math.trunc(Number.isFinite(v) ? v : 0))), true);
        t['raw_data'] = copy;
      } else {
        const field = code === 1 ? 'float_data' : code === 6 ? 'int32_data' : 'int64_data';
        const xs = [...((t[field] as unknown[] | undefined) ?? [])];
        if (!xs.length) return 'values (empty)';
        xs[r.int(xs.length)] = code === 7 ? String(Math.trunc(v)) : code === 6 ? v | 0 : v;
        t[field] = xs;
      }
      return `value=${v}`;
    }
    case 'external': {
      if (!w.tensors.length) return 'external (none)';
      const t = r.pick(w.tensors);
      t['data_location'] = 1;
      const entries = [{ key: 'location', value: r.pick(STRINGS) }];
      if (r.chance(0.5)) entries.push({ key: 'offset', value: r.pick(INTS) });
      if (r.chance(0.5)) entries.push({ key: 'length', value: r.pick(INTS) });
      if (r.chance(0.2)) entries.push({ key: r.pick(['checksum', 'basepath', '']), value: r.pick(STRINGS) });
      t['external_data'] = entries;
      return `external ${entries.map((e) => `${e.key}=${JSON.stringify(e.value.slice(0, 16))}`).join(',')}`;
    }
    case 'subgraph': {
      if (!w.nodes.length || !w.graphs.length) return 'subgraph (none)';
      const n = r.pick(w.nodes);
      const g = structuredClone(r.pick(w.graphs));
      const attrs = ((n['attribute'] as Obj[] | undefined) ?? []);
      const graphAttr = attrs.find((a) => isObj(a['g']));
      if (graphAttr && r.chance(0.5)) { graphAttr['g'] = g; return 'subgraph replaced'; }
      attrs.push({ name: r.pick(['body', 'then_branch', 'else_branch', 'x']), type: 5, g });
      n['attribute'] = attrs;
      return 'subgraph attached';
    }
    case 'names': {
      if (!w.nodes.length) return 'names (none)';
      const n = r.pick(w.nodes);
      const evil = r.pick(STRINGS.slice(1, 5));
      if (r.chance(0.5)) n['name'] = evil;
      else {
        const list = (r.chance(0.5) ? n['input'] : n['output']) as string[] | undefined;
        if (list?.length) list[r.int(list.length)] = r.chance(0.5) ? evil : r.pick([...w.nodes.flatMap((x) => (x['output'] as string[] | undefined) ?? []), '']);
      }
      return 'names';
    }
    case 'op': {
      if (!w.nodes.length) return 'op (none)';
      const n = r.pick(w.nodes);
      n['op_type'] = r.pick(OP_TYPES);
      return `op=${String(n['op_type'])}`;
    }
    case 'structure': {
      const g = w.graphs.length ? r.pick(w.graphs) : undefined;
      const nodes = g?.['node'] as Obj[] | undefined;
      if (!nodes?.length) return 'structure (none)';
      const i = r.int(nodes.length);
      const what = r.int(3);
      if (what === 0) nodes.splice(i, 1);
      else if (what === 1) nodes.push(structuredClone(nodes[i]!));
      else nodes.reverse();
      return `structure #${what}`;
    }
    case 'opset': {
      const imports = (m['opset_import'] as Obj[] | undefined) ?? [];
      if (r.chance(0.5) && imports.length) r.pick(imports)['version'] = r.pick(['1', '7', '11', '13', '18', '21', '28', '29', '-1']);
      else m['ir_version'] = r.pick(['0', '3', '7', '10', '13', '14', '-1']);
      return 'opset';
    }
  }
}

/** A mutated model: `bytes` and a description of the mutations (for the failure report). */
export interface Mutant {
  readonly bytes: Uint8Array;
  readonly steps: readonly string[];
}

const MODEL = messageType('ModelProto');

/** 1-2 mutations of `seed`, field-aware when the bytes still decode, else byte-level; `other` is a splice partner. */
export function mutate(seed: Uint8Array, other: Uint8Array, r: Rng): Mutant {
  let bytes = seed;
  const steps: string[] = [];
  // mostly field-aware and few steps: byte damage alone mostly stops at the protobuf decoder, while a decodable
  // model with one hostile field reaches inference, the passes and the compiler
  const n = 1 + r.int(2);
  for (let k = 0; k < n; k++) {
    const op = r.int(10);
    if (op < 7) {
      let obj: Obj | undefined;
      try { obj = MODEL.toObject(MODEL.decode(bytes), { longs: String, defaults: false }) as Obj; } catch { obj = undefined; }
      if (obj) {
        const did = mutateFields(obj, r);
        try { bytes = encodeMessage('ModelProto', obj); steps.push(did); continue; } catch { steps.push(`${did} (not encodable)`); }
      }
    }
    if (op === 7) { bytes = truncate(bytes, r); steps.push('truncate'); }
    else if (op === 8 && r.chance(0.5)) { bytes = splice(bytes, other, r); steps.push('splice'); }
    else if (op === 8) { bytes = insertBytes(bytes, r); steps.push('insert'); }
    else { bytes = flipBits(bytes, r); steps.push('flip'); }
  }
  return { bytes, steps };
}

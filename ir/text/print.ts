// The canonical text form of a Model or Graph: one statement per line, nodes in graph order, attributes sorted,
// floats in exact shortest form, large weights elided behind a content hash. Used for golden tests and diffs.
//
//   model ir=8 producer="pytorch" opsets={"": 17}
//   graph main (x: float32[N,4]) -> (y: float32[N,2]) {
//     const W: float32[4,2] = <elided sha256=1a2b3c4d5e6f7a8b>
//     y: float32[N,2] = MatMul(x, W) @mm0
//     z: float32[N,2] = LeakyRelu(y) @act0 {alpha=0.1}
//   }

import { assertNever } from '../errors.js';
import type { Attr, Graph, Model, ModelInfo, Node } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { sizeOf } from '../tensor.js';
import type { Dim, ValueType } from '../types.js';
import { printAttrFloat, printFloat, printName, printSymbol, quote, tensorHash } from './format.js';

export interface PrintOptions {
  /** Print every tensor's values, however large. */
  readonly inlineAll?: boolean;
  /** Tensors with more elements than this are elided behind their hash (default 32). */
  readonly inlineLimit?: number;
}

const DEFAULT_INLINE_LIMIT = 32;
const STEP = '  ';

export function printModel(model: Model, opts: PrintOptions = {}): string {
  return `${printInfo(model.info)}\n${printGraph(model.graph, opts)}`;
}

export function printGraph(graph: Graph, opts: PrintOptions = {}): string {
  const lines: string[] = [];
  graphLines(graph, '', lines, opts);
  return `${lines.join('\n')}\n`;
}

// ---- model and graph -----------------------------------------------------------------------------------

function printInfo(info: ModelInfo): string {
  const parts = ['model'];
  if (info.source !== undefined) parts.push(`source=${quote(info.source)}`);
  if (info.irVersion !== undefined) parts.push(`ir=${info.irVersion}`);
  if (info.producer !== undefined) parts.push(`producer=${quote(info.producer)}`);
  if (info.opsets !== undefined) parts.push(`opsets=${printRecord(info.opsets, String)}`);
  if (info.docString !== undefined) parts.push(`doc=${quote(info.docString)}`);
  if (info.metadata !== undefined) parts.push(`metadata=${printRecord(info.metadata, quote)}`);
  return parts.join(' ');
}

function printRecord<V>(r: Readonly<Record<string, V>>, value: (v: V) => string): string {
  const keys = Object.keys(r).sort();
  return `{${keys.map((k) => `${quote(k)}: ${value(r[k]!)}`).join(', ')}}`;
}

/** `name: type`, or the bare name when the graph records no type for it. */
function typedName(graph: Graph, name: string): string {
  const t = graph.types.get(name);
  return t === undefined || name === '' ? printName(name) : `${printName(name)}: ${printType(t)}`;
}

function graphLines(graph: Graph, indent: string, lines: string[], opts: PrintOptions): void {
  const ins = graph.inputs.map((n) => typedName(graph, n)).join(', ');
  const outs = graph.outputs.map((n) => typedName(graph, n)).join(', ');
  lines.push(`${indent}graph ${printName(graph.name)} (${ins}) -> (${outs}) {`);
  const inner = indent + STEP;
  for (const [name, t] of graph.initializers) lines.push(`${inner}${constLine(graph, name, t, opts)}`);
  for (const node of graph.nodes) nodeLines(graph, node, inner, lines, opts);
  // Types recorded for names this graph does not define (stale or informational entries) still round-trip.
  const covered = new Set<string>([...graph.inputs, ...graph.outputs, ...graph.initializers.keys()]);
  for (const node of graph.nodes) for (const o of node.outputs) covered.add(o);
  for (const [name, t] of graph.types) {
    if (!covered.has(name)) lines.push(`${inner}type ${printName(name)}: ${printType(t)}`);
  }
  lines.push(`${indent}}`);
}

function constLine(graph: Graph, name: string, t: Tensor, opts: PrintOptions): string {
  const declared = graph.types.get(name);
  const head = `const ${typedName(graph, name)} = `;
  // The literal's own type is left out when the declared type already says it.
  const implied = declared !== undefined && declared.kind === 'tensor' && declared.dtype === t.dtype &&
    declared.shape !== undefined && declared.shape.length === t.dims.length &&
    declared.shape.every((d, i) => d === t.dims[i]);
  return head + (implied ? tensorData(t, opts) : printTensor(t, opts));
}

function nodeLines(graph: Graph, node: Node, indent: string, lines: string[], opts: PrintOptions): void {
  const outs = node.outputs.length === 0 ? '()' : node.outputs.map((n) => typedName(graph, n)).join(', ');
  const at = node.name === '' ? '' : ` @${printName(node.name)}`;
  const head = `${indent}${outs} = ${printName(node.op)}(${node.inputs.map(printName).join(', ')})${at}`;
  const names = Object.keys(node.attrs).sort();
  if (names.length === 0) { lines.push(head); return; }
  const hasGraph = names.some((n) => { const k = node.attrs[n]!.kind; return k === 'graph' || k === 'graphs'; });
  if (!hasGraph) {
    const attrs = names.map((n) => `${printName(n)}=${printAttr(node.attrs[n]!, opts)}`).join(', ');
    lines.push(`${head} {${attrs}}`);
    return;
  }
  // Subgraphs are nested blocks: one attribute per line, bodies indented.
  lines.push(`${head} {`);
  const inner = indent + STEP;
  names.forEach((n, i) => {
    const comma = i < names.length - 1 ? ',' : '';
    const a = node.attrs[n]!;
    if (a.kind === 'graph') {
      const sub: string[] = [];
      graphLines(a.value, inner, sub, opts);
      sub[0] = `${inner}${printName(n)}=${sub[0]!.trimStart()}`;
      sub[sub.length - 1] += comma;
      lines.push(...sub);
    } else if (a.kind === 'graphs') {
      lines.push(`${inner}${printName(n)}=graphs[`);
      a.value.forEach((g, j) => {
        const sub: string[] = [];
        graphLines(g, inner + STEP, sub, opts);
        if (j < a.value.length - 1) sub[sub.length - 1] += ',';
        lines.push(...sub);
      });
      lines.push(`${inner}]${comma}`);
    } else {
      lines.push(`${inner}${printName(n)}=${printAttr(a, opts)}${comma}`);
    }
  });
  lines.push(`${indent}}`);
}

// ---- attributes, types, tensors -------------------------------------------------------------------------

function printAttr(a: Attr, opts: PrintOptions): string {
  switch (a.kind) {
    case 'int': return String(a.value);
    case 'float': return printAttrFloat(a.value);
    case 'string': return quote(a.value);
    case 'tensor': return printTensor(a.value, opts);
    case 'type': return `type ${printType(a.value)}`;
    case 'ints': return a.value.length ? `[${a.value.map(String).join(', ')}]` : 'ints[]';
    case 'floats': return a.value.length ? `[${a.value.map(printAttrFloat).join(', ')}]` : 'floats[]';
    case 'strings': return a.value.length ? `[${a.value.map(quote).join(', ')}]` : 'strings[]';
    case 'tensors': return `tensors[${a.value.map((t) => printTensor(t, opts)).join(', ')}]`;
    case 'types': return `types[${a.value.map(printType).join(', ')}]`;
    case 'graph': case 'graphs': {
      // Only reached for a graph inside a one-line context, which nodeLines avoids; kept total for safety.
      const gs = a.kind === 'graph' ? [a.value] : a.value;
      const body = gs.map((g) => printGraph(g, opts).trimEnd()).join(', ');
      return a.kind === 'graph' ? body : `graphs[${body}]`;
    }
    default: return assertNever(a, 'attribute');
  }
}

export function printDim(d: Dim): string {
  return typeof d === 'number' ? String(d) : printSymbol(d);
}

export function printType(t: ValueType): string {
  switch (t.kind) {
    case 'tensor': return `${t.dtype}[${t.shape === undefined ? '*' : t.shape.map(printDim).join(',')}]`;
    case 'sequence': return `seq<${printType(t.elem)}>`;
    case 'optional': return `opt<${printType(t.elem)}>`;
    default: return assertNever(t, 'value type');
  }
}

/** A tensor with its own type: `float32[2] [1.0, 2.0]`. */
export function printTensor(t: Tensor, opts: PrintOptions = {}): string {
  return `${t.dtype}[${t.dims.join(',')}] ${tensorData(t, opts)}`;
}

function tensorData(t: Tensor, opts: PrintOptions): string {
  const limit = opts.inlineAll ? Infinity : opts.inlineLimit ?? DEFAULT_INLINE_LIMIT;
  if (sizeOf(t.dims) > limit) return `<elided sha256=${tensorHash(t)}>`;
  const items: string[] = [];
  for (let i = 0; i < t.data.length; i++) items.push(printElement(t, i));
  return `[${items.join(', ')}]`;
}

function printElement(t: Tensor, i: number): string {
  const v = t.data[i]!;
  switch (t.dtype) {
    case 'float32': case 'float64': case 'float16': case 'bfloat16': return printFloat(v as number, t.dtype);
    case 'bool': return v ? 'true' : 'false';
    case 'string': return quote(v as string);
    case 'int8': case 'int16': case 'int32': case 'int64':
    case 'uint8': case 'uint16': case 'uint32': case 'uint64':
    case 'int4': case 'uint4': case 'int2': case 'uint2': return String(v);
    default: return assertNever(t.dtype, 'dtype');
  }
}

// ---- weights -------------------------------------------------------------------------------------------

/** Every tensor the printer may elide, for `parse(text, { weights })`: under its content hash
 *  (`sha256=<hash>`, which always finds it) and under a readable key: an initializer by its value name, an
 *  attribute tensor as `node/attr` (`node/attr[i]` in a list), in subgraphs too (where names may repeat). */
export function collectWeights(g: Graph | Model, into = new Map<string, Tensor>()): Map<string, Tensor> {
  const graph = 'graph' in g ? g.graph : g;
  const add = (key: string, t: Tensor): void => {
    into.set(key, t);
    into.set(`sha256=${tensorHash(t)}`, t);
  };
  for (const [name, t] of graph.initializers) add(name, t);
  for (const node of graph.nodes) {
    for (const [an, a] of Object.entries(node.attrs)) {
      if (a.kind === 'tensor') add(weightKey(node.name, an), a.value);
      else if (a.kind === 'tensors') a.value.forEach((t, i) => add(weightKey(node.name, an, i), t));
      else if (a.kind === 'graph') collectWeights(a.value, into);
      else if (a.kind === 'graphs') for (const sub of a.value) collectWeights(sub, into);
    }
  }
  return into;
}

export function weightKey(node: string, attr: string, index?: number): string {
  return index === undefined ? `${node}/${attr}` : `${node}/${attr}[${index}]`;
}

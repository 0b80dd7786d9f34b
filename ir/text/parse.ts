// Parser for the IR text form that print.ts writes. Errors carry line and column; elided weights need the
// original tensors. Layout is free (newlines are spaces, `#` comments); the grammar:
//
//   model   := 'model' (key '=' value)* graph          keys: source ir producer opsets doc metadata
//   graph   := 'graph' name '(' typed,* ')' '->' '(' typed,* ')' '{' stmt* '}'
//   stmt    := 'const' typed '=' (tensor | data)  |  'type' name ':' type
//            | (typed,+ | '(' ')') '=' name '(' name,* ')' ('@' name)? ('{' (name '=' attr),* '}')?
//   typed   := name (':' type)?                        name: a word or a quoted string; `_` is ''
//   type    := dtype '[' ('*' | dim,*) ']' | 'seq' '<' type '>' | 'opt' '<' type '>'
//   tensor  := dtype '[' int,* ']' data;   data := '[' elem,* ']' | '<' 'elided' 'sha256' '=' hex '>'
//   attr    := int | float | string | '[' elem,+ ']' | ('ints'|'floats'|'strings') '[' elem,* ']'
//            | tensor | 'type' type | graph | 'tensors' '[' tensor,* ']' | 'types' '[' type,* ']'
//            | 'graphs' '[' graph,* ']'

import { isDType } from '../dtype.js';
import type { DType } from '../dtype.js';
import type { Attr, Graph, Model, ModelInfo, Node } from '../graph.js';
import type { Tensor, TensorData } from '../tensor.js';
import { allocate, sizeOf } from '../tensor.js';
import type { Dim, ValueType } from '../types.js';
import { formatType, sameType } from '../types.js';
import { INT_WORD, isFloatWord, parseFloatWord, readAttrFloat, storeElement, tensorHash } from './format.js';
import type { Token } from './lexer.js';
import { TextParseError, tokenize } from './lexer.js';
import { weightKey } from './print.js';

export interface ParseOptions {
  /** The original tensors of elided weights, keyed as `collectWeights` does (or by `sha256=<hash>`). */
  readonly weights?: ReadonlyMap<string, Tensor>;
}

export function parseModel(text: string, opts: ParseOptions = {}): Model {
  const p = new Parser(text, opts);
  const model = p.model();
  p.end();
  return model;
}

export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  const p = new Parser(text, opts);
  const graph = p.graph();
  p.end();
  return graph;
}

/** Refuse dims whose product could make the parser allocate absurdly (the text lists every element anyway). */
const MAX_DIM = 2 ** 40;

/** Sets any key, '__proto__' included, as an own property. */
function setKey<V>(o: Record<string, V>, k: string, v: V): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Per-graph state while parsing its body. */
interface GraphBuilder {
  readonly types: Map<string, ValueType>;
}

/** Deepest nesting of graphs in graphs or types in types: deeper text is refused, not a stack overflow. */
const MAX_NESTING = 64;

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  private depth = 0;

  /** Run `f` one nesting level deeper. */
  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_NESTING) this.fail(`nesting deeper than ${MAX_NESTING} levels`);
    try { return f(); } finally { this.depth--; }
  }

  constructor(text: string, private readonly opts: ParseOptions) {
    this.toks = tokenize(text);
  }

  // ---- token helpers ----

  private peek(k = 0): Token { return this.toks[Math.min(this.pos + k, this.toks.length - 1)]!; }
  private next(): Token { const t = this.peek(); if (t.kind !== 'eof') this.pos++; return t; }
  private fail(msg: string, at: Token = this.peek()): never { throw new TextParseError(msg, at.line, at.column); }
  private show(t: Token): string {
    return t.kind === 'eof' ? 'end of text' : t.kind === 'string' ? JSON.stringify(t.text) : `'${t.text}'`;
  }
  private isPunct(p: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'punct' && t.text === p; }
  private isWord(w: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'word' && t.text === w; }
  private eat(p: string): boolean { if (this.isPunct(p)) { this.pos++; return true; } return false; }
  private expect(p: string, what?: string): Token {
    if (!this.isPunct(p)) this.fail(`expected '${p}'${what ? ` ${what}` : ''}, found ${this.show(this.peek())}`);
    return this.next();
  }
  private keyword(w: string): Token {
    if (!this.isWord(w)) this.fail(`expected '${w}', found ${this.show(this.peek())}`);
    return this.next();
  }
  private word(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'word') this.fail(`expected ${what}, found ${this.show(t)}`);
    return this.next();
  }
  private string(what: string): string {
    const t = this.peek();
    if (t.kind !== 'string') this.fail(`expected ${what} (a quoted string), found ${this.show(t)}`);
    return this.next().text;
  }
  private int(what: string): number {
    const t = this.word(what);
    if (!INT_WORD.test(t.text)) this.fail(`expected ${what} (an integer), found '${t.text}'`, t);
    return Number(t.text);
  }
  /** A comma-separated list up to `close` (which is consumed). */
  private list(close: string, item: () => void): void {
    if (this.eat(close)) return;
    for (;;) {
      item();
      if (this.eat(close)) return;
      this.expect(',', `or '${close}'`);
    }
  }

  end(): void {
    if (this.peek().kind !== 'eof') this.fail(`expected end of text, found ${this.show(this.peek())}`);
  }

  /** A value name: a word or a quoted string; the word `_` is the omitted name ''. */
  private name(what = 'a name'): string {
    const t = this.peek();
    if (t.kind === 'string') return this.next().text;
    if (t.kind !== 'word') this.fail(`expected ${what}, found ${this.show(t)}`);
    this.next();
    return t.text === '_' ? '' : t.text;
  }

  // ---- model and graph ----

  model(): Model {
    this.keyword('model');
    const info: Record<string, unknown> = {};
    const seen = new Set<string>();
    while (!this.isWord('graph')) {
      const key = this.word(`a model field (source, ir, producer, opsets, doc, metadata) or 'graph'`);
      if (seen.has(key.text)) this.fail(`model field '${key.text}' given twice`, key);
      seen.add(key.text);
      this.expect('=', `after '${key.text}'`);
      switch (key.text) {
        case 'source': info['source'] = this.string('the source'); break;
        case 'ir': info['irVersion'] = this.int('the IR version'); break;
        case 'producer': info['producer'] = this.string('the producer'); break;
        case 'doc': info['docString'] = this.string('the doc string'); break;
        case 'opsets': info['opsets'] = this.record(() => this.int('an opset version')); break;
        case 'metadata': info['metadata'] = this.record(() => this.string('a metadata value')); break;
        default: this.fail(`unknown model field '${key.text}'`, key);
      }
    }
    return { info: info as ModelInfo, graph: this.graph() };
  }

  private record<V>(value: () => V): Record<string, V> {
    const out: Record<string, V> = {};
    this.expect('{');
    this.list('}', () => {
      const at = this.peek();
      const k = this.string('a key');
      if (Object.hasOwn(out, k)) this.fail(`key ${JSON.stringify(k)} given twice`, at);
      this.expect(':');
      setKey(out, k, value());
    });
    return out;
  }

  graph(): Graph {
    return this.nested(() => this.graphBody());
  }

  private graphBody(): Graph {
    this.keyword('graph');
    const gname = this.name('the graph name');
    const b: GraphBuilder = { types: new Map() };
    const inputs: string[] = [];
    const outputs: string[] = [];
    this.expect('(', 'before the graph inputs');
    this.list(')', () => inputs.push(this.typedName(b)));
    this.expect('->', 'between graph inputs and outputs');
    this.expect('(', 'before the graph outputs');
    this.list(')', () => outputs.push(this.typedName(b)));
    this.expect('{', 'to open the graph body');
    const initializers = new Map<string, Tensor>();
    const nodes: Node[] = [];
    while (!this.eat('}')) {
      if (this.peek().kind === 'eof') this.fail(`graph '${gname}' is not closed: expected '}'`);
      if (this.isWord('const')) this.constStmt(b, initializers);
      else if (this.isWord('type')) {
        this.next();
        this.typedNameRequired(b);
      } else nodes.push(this.nodeStmt(b));
    }
    return { name: gname, inputs, outputs, nodes, initializers, types: b.types };
  }

  private setType(b: GraphBuilder, name: string, t: ValueType, at: Token): void {
    const had = b.types.get(name);
    if (had !== undefined && !sameType(had, t)) {
      this.fail(`'${name}' is given type ${formatType(t)} here but ${formatType(had)} elsewhere`, at);
    }
    b.types.set(name, t);
  }

  /** `name` or `name: type`. */
  private typedName(b: GraphBuilder): string {
    const n = this.name();
    if (this.isPunct(':')) {
      const at = this.next();
      const t = this.type();
      if (n === '') this.fail(`an omitted value '_' cannot have a type`, at);
      this.setType(b, n, t, at);
    }
    return n;
  }

  private typedNameRequired(b: GraphBuilder): void {
    const at = this.peek();
    const n = this.name();
    if (!this.isPunct(':')) this.fail(`expected ':' and a type after '${n}'`);
    this.next();
    this.setType(b, n, this.type(), at);
  }

  private constStmt(b: GraphBuilder, inits: Map<string, Tensor>): void {
    this.keyword('const');
    const at = this.peek();
    const name = this.typedName(b);
    if (name === '') this.fail(`a constant needs a name`, at);
    if (inits.has(name)) this.fail(`constant '${name}' is defined twice`, at);
    this.expect('=', `after the constant's name`);
    let tensor: Tensor;
    if (this.isPunct('[') || this.isPunct('<')) {
      const declared = b.types.get(name);
      if (declared === undefined || declared.kind !== 'tensor' || declared.shape === undefined ||
          !declared.shape.every((d) => typeof d === 'number')) {
        this.fail(`constant '${name}' has no static tensor type, so its value must say its type (e.g. float32[2] [1.0, 2.0])`);
      }
      tensor = this.tensorData(declared.dtype, declared.shape as number[], name);
    } else {
      tensor = this.tensor(name);
    }
    inits.set(name, tensor);
  }

  private nodeStmt(b: GraphBuilder): Node {
    const outputs: string[] = [];
    if (this.isPunct('(') && this.isPunct(')', 1)) { this.pos += 2; }
    else {
      for (;;) {
        outputs.push(this.typedName(b));
        if (!this.eat(',')) break;
      }
    }
    this.expect('=', 'after the node outputs');
    const op = this.name('an op type');
    this.expect('(', `after op '${op}'`);
    const inputs: string[] = [];
    this.list(')', () => inputs.push(this.name('an input name')));
    const nodeName = this.eat('@') ? this.name('a node name') : '';
    const attrs: Record<string, Attr> = {};
    if (this.eat('{')) {
      this.list('}', () => {
        const at = this.peek();
        const an = this.name('an attribute name');
        if (Object.hasOwn(attrs, an)) this.fail(`attribute '${an}' given twice`, at);
        this.expect('=', `after attribute '${an}'`);
        setKey(attrs, an, this.attr(weightKey(nodeName, an)));
      });
    }
    return { name: nodeName, op, inputs, outputs, attrs };
  }

  // ---- attributes ----

  private attr(key: string): Attr {
    const t = this.peek();
    if (t.kind === 'string') return { kind: 'string', value: this.next().text };
    if (this.isPunct('[')) return this.plainList();
    if (t.kind !== 'word') this.fail(`expected an attribute value, found ${this.show(t)}`);
    if (INT_WORD.test(t.text)) { this.next(); return { kind: 'int', value: Number(t.text) }; }
    if (isFloatWord(t.text)) { this.next(); return { kind: 'float', value: readAttrFloat(t.text) }; }
    switch (t.text) {
      case 'ints': case 'floats': case 'strings': this.next(); return this.plainList(t.text);
      case 'type': this.next(); return { kind: 'type', value: this.type() };
      case 'types': {
        this.next();
        const value: ValueType[] = [];
        this.expect('[');
        this.list(']', () => value.push(this.type()));
        return { kind: 'types', value };
      }
      case 'graph': return { kind: 'graph', value: this.graph() };
      case 'graphs': {
        this.next();
        const value: Graph[] = [];
        this.expect('[');
        this.list(']', () => value.push(this.graph()));
        return { kind: 'graphs', value };
      }
      case 'tensors': {
        this.next();
        const value: Tensor[] = [];
        this.expect('[');
        this.list(']', () => { value.push(this.tensor(`${key}[${value.length}]`)); });
        return { kind: 'tensors', value };
      }
      default:
        if (isDType(t.text)) {
          return { kind: 'tensor', value: this.tensor(key) };
        }
        return this.fail(`expected an attribute value (number, string, list, tensor, type or graph), found '${t.text}'`);
    }
  }

  /** `[1, 2]`, `[1.0, 2.5]`, `["a"]`; `kind` given by a prefix (`ints[]`) decides for empty lists. */
  private plainList(kind?: string): Attr {
    const open = this.expect('[');
    const items: Token[] = [];
    this.list(']', () => {
      const t = this.next();
      if (t.kind !== 'word' && t.kind !== 'string') this.fail(`expected a list element, found ${this.show(t)}`, t);
      items.push(t);
    });
    const strings = items.some((t) => t.kind === 'string');
    const floats = items.some((t) => t.kind === 'word' && !INT_WORD.test(t.text));
    const k = kind ?? (strings ? 'strings' : floats ? 'floats' : items.length ? 'ints' : undefined);
    if (k === undefined) this.fail(`an empty list needs its kind: write ints[], floats[] or strings[]`, open);
    for (const t of items) {
      const ok = k === 'strings' ? t.kind === 'string' : t.kind === 'word' && (k === 'ints' ? INT_WORD.test(t.text) : parseFloatWord(t.text) !== undefined);
      if (!ok) this.fail(`a list of ${k} cannot hold ${this.show(t)}`, t);
    }
    if (k === 'strings') return { kind: 'strings', value: items.map((t) => t.text) };
    if (k === 'ints') return { kind: 'ints', value: items.map((t) => Number(t.text)) };
    return { kind: 'floats', value: items.map((t) => readAttrFloat(t.text)) };
  }

  // ---- types and tensors ----

  type(): ValueType {
    return this.nested(() => this.typeBody());
  }

  private typeBody(): ValueType {
    const t = this.word('a type');
    if (t.text === 'seq' || t.text === 'opt') {
      this.expect('<');
      const elem = this.type();
      this.expect('>');
      return { kind: t.text === 'seq' ? 'sequence' : 'optional', elem };
    }
    if (!isDType(t.text)) this.fail(`expected a type (an element type, seq<...> or opt<...>), found '${t.text}'`, t);
    this.expect('[', `after element type ${t.text} (write ${t.text}[*] for unknown rank)`);
    if (this.eat('*')) { this.expect(']'); return { kind: 'tensor', dtype: t.text }; }
    const shape: Dim[] = [];
    this.list(']', () => shape.push(this.dim()));
    return { kind: 'tensor', dtype: t.text, shape };
  }

  private dim(): Dim {
    const t = this.next();
    if (t.kind === 'string') return t.text;
    if (t.kind !== 'word') this.fail(`expected a dim, found ${this.show(t)}`, t);
    if (INT_WORD.test(t.text)) return Number(t.text);
    return t.text;
  }

  /** A tensor with its type: `int64[2] [1, 2]` or `float32[64,3] <elided sha256=...>`. */
  private tensor(key: string): Tensor {
    const dt = this.word('an element type');
    if (!isDType(dt.text)) this.fail(`expected an element type, found '${dt.text}'`, dt);
    this.expect('[');
    const dims: number[] = [];
    this.list(']', () => {
      const at = this.peek();
      const d = this.int('a tensor dim');
      if (d < 0 || d > MAX_DIM) this.fail(`tensor dim ${d} is out of range`, at);
      dims.push(d);
    });
    return this.tensorData(dt.text, dims, key);
  }

  private tensorData(dtype: DType, dims: number[], key: string): Tensor {
    if (this.isPunct('<')) {
      const at = this.next();
      this.keyword('elided');
      this.keyword('sha256');
      this.expect('=');
      const hash = this.word('a hash').text;
      this.expect('>');
      return this.lookupWeight(key, hash, at, dtype, dims);
    }
    const open = this.expect('[', 'to start the tensor values');
    const items: Token[] = [];
    this.list(']', () => items.push(this.next()));
    const n = sizeOf(dims);
    if (items.length !== n) this.fail(`tensor ${dtype}[${dims.join(',')}] needs ${n} values, found ${items.length}`, open);
    const data = allocate(dtype, n);
    items.forEach((t, i) => this.element(dtype, data, i, t));
    return { dtype, dims, data };
  }

  private element(dtype: DType, data: TensorData, i: number, t: Token): void {
    const err = storeElement(dtype, data, i, t.kind === 'string' ? { quoted: t.text } : { word: t.text });
    if (err !== undefined) this.fail(err === 'range' ? `${t.text} is out of range for ${dtype}` : `${this.show(t)} is not a ${dtype} value`, t);
  }

  private lookupWeight(key: string, hash: string, at: Token, dtype: DType, dims: number[]): Tensor {
    const w = this.opts.weights;
    const candidates = [w?.get(key), w?.get(`sha256=${hash}`)].filter((t): t is Tensor => t !== undefined);
    if (candidates.length === 0) {
      this.fail(`tensor '${key}' is elided (sha256=${hash}); parse with the original weights ` +
        `({ weights: collectWeights(model) }) or print with { inlineAll: true }`, at);
    }
    const t = candidates.find((c) => tensorHash(c) === hash);
    if (t === undefined) {
      const c = candidates[0]!;
      this.fail(`weights for '${key}' do not match: the text has ${dtype}[${dims.join(',')}] sha256=${hash}, ` +
        `the tensor given is ${c.dtype}[${c.dims.join(',')}] sha256=${tensorHash(c)}`, at);
    }
    if (t.dtype !== dtype || t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      this.fail(`weights for '${key}' are ${t.dtype}[${t.dims.join(',')}], but the text says ${dtype}[${dims.join(',')}]`, at);
    }
    return t;
  }

}

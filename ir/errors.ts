// One family of typed errors. Every error says where (model, node, op) and what rule was broken,
// so the CLI can print one clear line without a stack trace.

export interface ErrorSite {
  model?: string;
  node?: string;
  op?: string;
  opset?: number;
}

export class OnnxcError extends Error {
  readonly site: ErrorSite;
  constructor(message: string, site: ErrorSite = {}) {
    // messages quote model-controlled names: keep them one safe line wherever they are printed
    super(safeText(message, MAX_MESSAGE));
    this.name = new.target.name;
    this.site = { ...site };
  }
  /** The message prefixed with where it happened: `model.onnx: node 'conv1' (Conv): ...`. */
  describe(): string {
    const parts: string[] = [];
    if (this.site.model) parts.push(safeText(this.site.model, MAX_NAME));
    if (this.site.node !== undefined || this.site.op) {
      const op = this.site.op ? ` (${safeText(this.site.op, MAX_NAME)}${this.site.opset ? `, opset ${this.site.opset}` : ''})` : '';
      parts.push(`node '${safeText(this.site.node ?? '?', MAX_NAME)}'${op}`);
    }
    return parts.length ? `${parts.join(': ')}: ${this.message}` : this.message;
  }
  /** Fill in site fields that are not yet known (inner errors know the node, outer ones the model). */
  at(site: ErrorSite): this {
    for (const [k, v] of Object.entries(site) as [keyof ErrorSite, never][]) {
      if (this.site[k] === undefined && v !== undefined) (this.site as Record<string, unknown>)[k] = v;
    }
    return this;
  }
}

/** The model file could not be read or decoded, or breaks an ONNX structural rule. */
export class OnnxImportError extends OnnxcError {}
/** Shape or type inference found inputs that break an op's rule. */
export class ShapeError extends OnnxcError {}
/** An op (or domain) onnxc does not implement. */
export class UnsupportedOpError extends OnnxcError {}
/** An element type onnxc recognises but does not compute with (float8, int4, complex, ...). */
export class UnsupportedTypeError extends OnnxcError {}
/** The IR verifier found a malformed graph. */
export class VerifyError extends OnnxcError {}
/** The IR text parser found malformed text. */
export class ParseError extends OnnxcError {}
/** A kernel found input values it cannot compute with (index out of range, bad shape tensor, ...). */
export class KernelError extends OnnxcError {}
/** Wrong command-line usage (exit code 2). */
export class UsageError extends OnnxcError {}
/** A model asked for more than a resource limit allows (ir/limits.ts): `limit` names the option to raise. */
export class LimitError extends OnnxcError {
  readonly limit: string;
  readonly value: number;
  constructor(message: string, site: ErrorSite & { limit: string; value: number }) {
    const { limit, value, ...where } = site;
    super(message, where);
    this.limit = limit;
    this.value = value;
  }
}
/** onnxruntime (the oracle) refused or failed on a model or its inputs; the message is its first line. */
export class OracleError extends OnnxcError {}

// ---- safe text -------------------------------------------------------------------------------------------------

/** Characters that can break a line or drive a terminal: C0 controls (newline, ESC of ANSI sequences), DEL, C1
 *  controls (0x9b is a one-byte CSI), line/paragraph separators, bidi overrides and isolates, BOM. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
/** Longest message and longest name in a message: a 1 MB node name must not become a 1 MB error line. */
const MAX_MESSAGE = 2000;
const MAX_NAME = 200;

/** Model-controlled text as one printable line: unsafe characters become `\xNN`/`\uNNNN`, and text past `max`
 *  characters is cut with a note. The escaping is idempotent (its output has nothing left to escape). */
export function safeText(s: string, max = Infinity): string {
  const escaped = s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}… (${escaped.length - max} more characters)` : escaped;
}

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}

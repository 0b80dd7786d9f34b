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
    super(message);
    this.name = new.target.name;
    this.site = { ...site };
  }
  /** The message prefixed with where it happened: `model.onnx: node 'conv1' (Conv): ...`. */
  describe(): string {
    const parts: string[] = [];
    if (this.site.model) parts.push(this.site.model);
    if (this.site.node !== undefined || this.site.op) {
      const op = this.site.op ? ` (${this.site.op}${this.site.opset ? `, opset ${this.site.opset}` : ''})` : '';
      parts.push(`node '${this.site.node ?? '?'}'${op}`);
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

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}

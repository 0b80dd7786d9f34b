// onnxruntime-node as the oracle: run an ONNX model (file or bytes) on our tensors. An optional peer dependency, so it
// is imported lazily and its absence is a clear error.

import { OnnxcError, OracleError, UsageError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { f16BitsToNumber, numberToF16Bits } from '../ir/float16.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import type { RuntimeValue } from '../ir/value.js';
import { isTensor } from '../ir/value.js';

type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | undefined;

async function ort(): Promise<Ort> {
  if (!ortModule) {
    try {
      ortModule = await import('onnxruntime-node');
    } catch (e) {
      throw new UsageError(`onnxruntime-node is not installed: install onnxruntime-node to use check/diff --ort (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
  }
  return ortModule;
}

const ORT_TYPE: Partial<Record<DType, string>> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', int16: 'int16', int32: 'int32',
  int64: 'int64', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool', string: 'string',
};

function toOrt(o: Ort, t: Tensor): InstanceType<Ort['Tensor']> {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new UsageError(`onnxruntime-node cannot take ${t.dtype} tensors`);
  let data: unknown = t.data;
  if (t.dtype === 'float16') data = Uint16Array.from(t.data as Float32Array, numberToF16Bits);
  return new o.Tensor(type as 'float32', data as Float32Array, [...t.dims]);
}

function fromOrt(v: { type: string; dims: readonly number[]; data: unknown }): Tensor {
  const dtype = (Object.entries(ORT_TYPE).find(([, o]) => o === v.type)?.[0]) as DType | undefined;
  if (!dtype) throw new UsageError(`onnxruntime-node returned an unsupported ${v.type} tensor`);
  if (dtype === 'float16') {
    const bits = v.data as Uint16Array;
    return makeTensor('float16', v.dims, Float32Array.from(bits, f16BitsToNumber));
  }
  if (dtype === 'string') return makeTensor('string', v.dims, [...(v.data as string[])]);
  const t = makeTensor(dtype, v.dims);
  (t.data as Float32Array).set(v.data as Float32Array);
  return t;
}

export interface OrtOptions {
  /** Graph optimisation level; 'disabled' keeps ORT's arithmetic closest to the model as written. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  threads?: number;
}

/** Call onnxruntime, turning its errors (plain Errors, often multi-line, quoting its C++ source) into one typed line:
 *  a model onnxruntime refuses is a finding about the model, not a crash of onnxc. Our own errors pass through. */
async function oracle<T>(doing: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof OnnxcError) throw e;
    const first = (e instanceof Error ? e.message : String(e)).split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
    throw new OracleError(`onnxruntime ${doing}: ${first.trim()}`);
  }
}

/** Run a model with onnxruntime-node; inputs by name, outputs in the model's output order. */
export async function runOrt(
  model: string | Uint8Array, feeds: Readonly<Record<string, RuntimeValue>>, opts: OrtOptions = {},
): Promise<{ names: readonly string[]; values: Tensor[] }> {
  const o = await ort();
  const session = await oracle('cannot load the model', () => o.InferenceSession.create(model as Uint8Array, {
    graphOptimizationLevel: opts.optimization ?? 'disabled',
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    // onnxruntime's own warnings (e.g. initializers listed as inputs) would interleave with our report
    logSeverityLevel: 3,
  }));
  try {
    const ortFeeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const name of session.inputNames) {
      const v = feeds[name];
      if (v === undefined) continue;
      if (!isTensor(v)) throw new UsageError(`input '${name}' is a ${v.kind}: only tensor inputs can be given to onnxruntime here`);
      ortFeeds[name] = await oracle(`cannot take input '${name}'`, () => toOrt(o, v));
    }
    const result = await oracle('failed to run the model', () => session.run(ortFeeds));
    return { names: session.outputNames, values: session.outputNames.map((n) => fromOrt(result[n] as never)) };
  } finally {
    await session.release();
  }
}

// The elementwise engine reads and writes float16/bfloat16 four lanes at a time (backends/wasm/half.ts): a Cast
// between float32 and a 16-bit float gives bit for bit what the scalar conversion (and ir/float16.ts) gives, for
// every float16 bit pattern one way and for rounding ties, subnormals, overflow and NaN the other; arithmetic on
// 16-bit values matches the reference interpreter at awkward sizes, optimised or not.

import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { compileWasm } from '../../backends/wasm/compile.js';
import { fromTensorValue, toTensorValue } from '../../compiler/compile.js';
import type { Graph } from '../../ir/graph.js';
import { numberToBf16Bits, numberToF16Bits } from '../../ir/float16.js';
import type { Tensor } from '../../ir/tensor.js';
import { GraphBuilder } from '../../models/builder.js';
import { createSessionSync } from '../../runtime/wasm/session.js';
import type { TensorValue } from '../../runtime/wasm/types.js';
import { randTensor } from './helpers.js';

const CODE = { float16: 10, bfloat16: 16, float32: 1 } as const;
type Half = 'float16' | 'bfloat16';

function castGraph(from: 'float32' | Half, to: 'float32' | Half, n: number): Graph {
  const b = new GraphBuilder();
  b.output(b.op('Cast', [b.input('x', from, [n])], { to: CODE[to] }));
  return b.build();
}

/** The graph's one output for one input given as the runtime takes it (16-bit floats as their bits). */
function run(g: Graph, x: TensorValue, optimize: boolean): TensorValue {
  const a = compileWasm(g, { inputShapes: { x: [...x.dims] }, optimize });
  return createSessionSync({ wasm: a.wasm, manifest: a.manifest }).runSync({ x })[g.outputs[0]!]!;
}

const f32Bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** float32 bit patterns that exercise rounding: ties either way, the subnormal and overflow edges, NaN payloads,
 *  signed zeros and infinities, then pseudo-random patterns over every exponent. */
function trickyF32(n: number): Float32Array {
  const x = new Float32Array(n), u = f32Bits(x);
  const fixed = [0x3f801000, 0x3f803000, 0x3f801001, 0x3f802fff, 0x33000000, 0x33000001, 0x32ffffff, 0x387fe000,
    0x387ff000, 0x38800000, 0x477fe000, 0x477ff000, 0x477fefff, 0x47800000, 0x7f800000, 0xff800000, 0x7fc00000,
    0xffc00001, 0x7f800001, 0x80000000, 0, 0x00000001, 0x3c00f000 | 0];
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    u[i] = i < fixed.length ? fixed[i]! >>> 0 : s;
  }
  return x;
}

const isNaNBits = (b: number): boolean => (b & 0x7fffffff) >>> 0 > 0x7f800000;
const expectedHalf = (b: number, x: number): number => (isNaNBits(b) ? ((b >>> 16) & 0x8000) | 0x7e00 : numberToF16Bits(x));
const expectedBf16 = (b: number, x: number): number => (isNaNBits(b) ? (b >>> 16) | 0x40 : numberToBf16Bits(x));
/** float32 bits of float16 bits, NaN payloads kept (what the wasm load does). */
function halfToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16, mag = h & 0x7fff;
  if (mag >= 0x7c00) return (sign | 0x7f800000 | ((mag & 0x3ff) << 13)) >>> 0;
  const f = new Float32Array([(mag >= 0x400 ? (1 + (mag & 0x3ff) / 1024) * 2 ** ((mag >> 10) - 15) : mag * 2 ** -24)]);
  return (f32Bits(f)[0]! | sign) >>> 0;
}

describe('16-bit float Casts on the wasm engine, four lanes a step', () => {
  for (const optimize of [false, true]) {
    it(`float16 -> float32, every bit pattern (optimize=${optimize})`, () => {
      const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const out = run(castGraph('float16', 'float32', bits.length), { type: 'float16', dims: [bits.length], data: bits }, optimize);
      const got = f32Bits(out.data as Float32Array);
      for (let i = 0; i < bits.length; i++) if (got[i] !== halfToF32Bits(i)) expect.fail(`0x${i.toString(16)} -> 0x${got[i]!.toString(16)}, want 0x${halfToF32Bits(i).toString(16)}`);
    });

    it(`bfloat16 -> float32, every bit pattern (optimize=${optimize})`, () => {
      const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const out = run(castGraph('bfloat16', 'float32', bits.length), { type: 'bfloat16', dims: [bits.length], data: bits }, optimize);
      const got = f32Bits(out.data as Float32Array);
      for (let i = 0; i < bits.length; i++) if (got[i] !== (i << 16) >>> 0) expect.fail(`0x${i.toString(16)} -> 0x${got[i]!.toString(16)}`);
    });

    for (const to of ['float16', 'bfloat16'] as const) {
      it(`float32 -> ${to}: ties, subnormals, overflow, NaN and random patterns; sizes 0..5, 1023, 4099 (optimize=${optimize})`, () => {
        for (const n of [0, 1, 3, 4, 5, 1023, 4099]) {
          const x = trickyF32(n), u = f32Bits(x);
          const out = run(castGraph('float32', to, n), { type: 'float32', dims: [n], data: x }, optimize);
          const got = out.data as Uint16Array;
          expect(got.length).toBe(n);
          for (let i = 0; i < n; i++) {
            const want = to === 'float16' ? expectedHalf(u[i]!, x[i]!) : expectedBf16(u[i]!, x[i]!);
            if (got[i] !== want) expect.fail(`n=${n}: 0x${u[i]!.toString(16)} -> 0x${got[i]!.toString(16)}, want 0x${want.toString(16)}`);
          }
        }
      });
    }
  }
});

describe('16-bit elementwise arithmetic on the vector path matches the reference', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const n of [1, 3, 4, 5, 1023]) {
      it(`${dtype} Add with a broadcast row and a Cast back, n=${n}`, () => {
        const b = new GraphBuilder();
        const x = b.op('Cast', [b.input('x', 'float32', [2, n])], { to: CODE[dtype] });
        const r = b.op('Cast', [b.input('r', 'float32', [1, n])], { to: CODE[dtype] });
        const s = b.op('Add', [x, r]);
        b.output(s);
        b.output(b.op('Cast', [s], { to: 1 }));
        const g = b.build();
        const inputs = [randTensor([2, n], 3), randTensor([1, n], 5)];
        const want = runGraph(g, inputs) as Tensor[];
        for (const optimize of [false, true]) {
          const a = compileWasm(g, { inputShapes: { x: [2, n], r: [1, n] }, optimize });
          const outs = createSessionSync({ wasm: a.wasm, manifest: a.manifest }).runSync({ x: toTensorValue(inputs[0]!), r: toTensorValue(inputs[1]!) });
          g.outputs.forEach((o, k) => expect(Array.from(fromTensorValue(outs[o]!).data as Float32Array), `${o} optimize=${optimize}`).toEqual(Array.from(want[k]!.data as Float32Array)));
        }
      });
    }
  }
});

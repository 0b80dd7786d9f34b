// The typed WGSL builder and printer (no GPU needed): literals (NaN/inf through the private bits array, -0,
// shortest round-trip text), checked operand and helper types (the @ts-expect-error lines are part of the test:
// `npm run typecheck` fails if they stop being errors), fresh names, and snapshots of generated kernels.

import { describe, expect, it } from 'vitest';
import { add, f32, i32, mul, select, lt, u32, vec4, type Expr } from '../../backends/webgpu/wgsl/ast.js';
import { printExpr } from '../../backends/webgpu/wgsl/print.js';
import { ShaderBuilder } from '../../backends/webgpu/wgsl/module.js';
import { elementwiseShader } from '../../backends/webgpu/kernels/elementwise.js';
import { ELEMENTWISE, type ElemOp } from '../../backends/webgpu/kernels/elementwise-ops.js';
import { softmaxShader } from '../../backends/webgpu/kernels/softmax.js';
import type { PlanContext } from '../../lowering/protocol.js';

const text = (e: Expr) => printExpr(e.node);
const op = (name: keyof typeof ELEMENTWISE): ElemOp => ELEMENTWISE[name]!({ attrs: {} } as unknown as PlanContext) as ElemOp;

describe('WGSL builder', () => {
  it('prints f32 literals that read back exactly; NaN and infinities through the private bits array', () => {
    expect(text(f32(0.1))).toBe('0.1f');
    expect(text(f32(1))).toBe('1.0f');
    expect(text(f32(-0))).toBe('-0.0f');
    expect(text(f32(1e-8))).toBe('1e-8f');
    expect(Math.fround(Number(text(f32(Math.PI)).slice(0, -1)))).toBe(Math.fround(Math.PI));
    expect(text(f32(NaN))).toBe('bitcast<f32>(f32_special[0u])');
    expect(text(f32(-Infinity))).toBe('bitcast<f32>(f32_special[2u])');
    const s = new ShaderBuilder();
    const y = s.buffer('y', 'f32', 'read_write');
    s.main([1], (b) => b.set(y.at(u32(0)), f32(Infinity)));
    expect(s.print()).toContain('var<private> f32_special: array<u32, 3> = array<u32, 3>(2143289344u, 2139095040u, 4286578688u);');
  });

  it('integer literals are range-checked; integer identities fold', () => {
    expect(() => u32(-1)).toThrow(RangeError);
    expect(() => i32(2 ** 31)).toThrow(RangeError);
    expect(text(i32(-(2 ** 31)))).toBe('i32(0x80000000u)');
    expect(text(add(mul(u32(1), u32(7)), u32(0)))).toBe('7u');
    expect(text(select(lt(i32(1), i32(2)), f32(1), f32(2)))).toBe('select(2.0f, 1.0f, (1i < 2i))');
  });

  it('checks operand and helper types at compile time', () => {
    // @ts-expect-error f32 + i32 is not WGSL
    add(f32(1), i32(1));
    // @ts-expect-error a vec4 is not a scalar
    add(f32(1), vec4('f32', f32(1)));
    const s = new ShaderBuilder();
    const sq = s.fn('sq', [['x', 'f32']] as const, 'f32', (_b, x) => mul(x, x));
    // @ts-expect-error the helper takes an f32
    sq(u32(1));
    const y = s.buffer('y', 'f32', 'read_write');
    // @ts-expect-error storing an i32 into an f32 buffer
    s.main([1], (b) => b.set(y.at(u32(0)), i32(0)));
    expect(text(sq(f32(2)))).toBe('sq(2.0f)');
  });

  it('never names a binding or value after a WGSL keyword or built-in', () => {
    const s = new ShaderBuilder();
    const v = s.buffer('var', 'f32', 'read_write');
    s.main([1], (b) => { const m = b.let('max', f32(1)); b.set(v.at(u32(0)), m); });
    const src = s.print();
    expect(src).toContain('var<storage, read_write> var_: array<f32>;');
    expect(src).toContain('let max_: f32 = 1.0f;');
  });

  it('gives helpers and lets fresh names', () => {
    const s = new ShaderBuilder();
    const a = s.fn('h', [['x', 'u32']] as const, 'u32', (_b, x) => add(x, u32(1)));
    const b2 = s.fn('h', [['x', 'u32']] as const, 'u32', (_b, x) => mul(x, u32(2)));
    const y = s.buffer('y', 'u32', 'read_write');
    s.main([64], (b, gid) => { const v = b.let('v', a(gid.x)); const w = b.let('v', b2(v)); b.set(y.at(gid.x), w); });
    const src = s.print();
    expect(src).toContain('fn h(x: u32) -> u32');
    expect(src).toContain('fn h_1(x_1: u32) -> u32');
    expect(src).toContain('let v_1: u32 = h_1(v);');
  });
});

describe('generated kernels (snapshots)', () => {
  it('Add with a broadcast row: vec4 loads, the row read as vec4 at offset / 4', () => {
    expect(elementwiseShader(op('Add'), [[2, 3, 8], [8]], [2, 3, 8]).shader).toMatchInlineSnapshot(`
      "@group(0) @binding(0) var<storage, read_write> x0: array<vec4<f32>>; // read
      @group(0) @binding(1) var<storage, read_write> x1: array<vec4<f32>>; // read
      @group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
        let i: u32 = gid.x;
        if ((i >= 12u)) {
          return;
        }
        let e: u32 = (i * 4u);
        let c0: u32 = (e / 24u);
        let c1: u32 = ((e / 8u) % 3u);
        let c2: u32 = (e % 8u);
        y[i] = (x0[i] + x1[(c2 / 4u)]);
      }
      "
    `);
  });

  it('Mul broadcasting [2,3,5] with [3,1]: scalar path, coordinates from static strides', () => {
    expect(elementwiseShader(op('Mul'), [[2, 3, 5], [3, 1]], [2, 3, 5]).shader).toMatchInlineSnapshot(`
      "@group(0) @binding(0) var<storage, read_write> x0: array<f32>; // read
      @group(0) @binding(1) var<storage, read_write> x1: array<f32>; // read
      @group(0) @binding(2) var<storage, read_write> y: array<f32>;

      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
        let i: u32 = gid.x;
        if ((i >= 30u)) {
          return;
        }
        let c0: u32 = (i / 15u);
        let c1: u32 = ((i / 5u) % 3u);
        let c2: u32 = (i % 5u);
        y[i] = (x0[i] * x1[c1]);
      }
      "
    `);
  });

  it('Softmax over the middle axis of [3, 5, 4]', () => {
    expect(softmaxShader(3, 5, 4, false)).toMatchInlineSnapshot(`
      "var<private> f32_special: array<u32, 3> = array<u32, 3>(2143289344u, 2139095040u, 4286578688u);
      @group(0) @binding(0) var<storage, read_write> x: array<f32>; // read
      @group(0) @binding(1) var<storage, read_write> y: array<f32>;

      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
        let i: u32 = gid.x;
        if ((i >= 12u)) {
          return;
        }
        let c0: u32 = (i / 4u);
        let c1: u32 = (i % 4u);
        let base: u32 = ((c0 * 20u) + c1);
        var m: f32 = bitcast<f32>(f32_special[2u]);
        for (var k: u32 = 0u; k < 5u; k = k + 1u) {
          m = max(m, x[(base + (k * 4u))]);
        }
        var sum: f32 = 0.0f;
        for (var k_1: u32 = 0u; k_1 < 5u; k_1 = k_1 + 1u) {
          sum = (sum + exp((x[(base + (k_1 * 4u))] - m)));
        }
        for (var k_2: u32 = 0u; k_2 < 5u; k_2 = k_2 + 1u) {
          y[(base + (k_2 * 4u))] = (exp((x[(base + (k_2 * 4u))] - m)) / sum);
        }
      }
      "
    `);
  });
});

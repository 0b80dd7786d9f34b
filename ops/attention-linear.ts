// LinearAttention (opset 27): a recurrent key-value state S[d_k, d_v] per kv head, updated token by token by one
// of four rules (linear, gated, delta, gated_delta) and read by the query heads (GQA: groups share a kv head).

import { KernelError, ShapeError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import { getNumber, makeTensor, roundToDType } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { AnyOpDef } from './schema.js';
import { attr, defineOp } from './schema.js';
import { expectDType, inType, input, optInType, optInput, tensorOf } from './util.js';

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64'];
const RULES = ['linear', 'gated', 'delta', 'gated_delta'] as const;

function perHead(hidden: Dim | undefined, heads: number, what: string): Dim | undefined {
  if (typeof hidden !== 'number') return undefined;
  if (hidden % heads !== 0) throw new ShapeError(`${what} last dim ${hidden} is not divisible by ${heads} heads`);
  return hidden / heads;
}

/** Which optional inputs each rule needs (given) or forbids (absent). */
function checkRule(rule: string, decay: boolean, beta: boolean, erase: boolean): { gating: boolean; delta: boolean } {
  if (!(RULES as readonly string[]).includes(rule)) throw new ShapeError(`update_rule must be one of ${RULES.join(', ')}, got '${rule}'`);
  const gating = rule === 'gated' || rule === 'gated_delta', delta = rule === 'delta' || rule === 'gated_delta';
  if (gating !== decay) throw new ShapeError(`update_rule '${rule}' ${gating ? 'requires' : 'forbids'} the decay input`);
  if (delta !== beta) throw new ShapeError(`update_rule '${rule}' ${delta ? 'requires' : 'forbids'} the beta input`);
  if (erase && !delta) throw new ShapeError(`update_rule '${rule}' forbids the erase_gate input`);
  return { gating, delta };
}

const LinearAttention = defineOp({
  op: 'LinearAttention',
  attrs: {
    chunk_size: attr.int(), kv_num_heads: attr.int.required(), q_num_heads: attr.int.required(),
    scale: attr.float(), update_rule: attr.string('gated_delta'),
  },
  inputs: [3, 7],
  outputs: [1, 2],
  infer(ctx) {
    const a = ctx.attrs;
    const q = inType(ctx, 0), k = inType(ctx, 1), v = inType(ctx, 2), past = optInType(ctx, 3);
    expectDType(q, FLOATS, 'query');
    if (k.dtype !== q.dtype || v.dtype !== q.dtype) throw new ShapeError('query, key and value must have the same element type');
    if (a.q_num_heads < 1 || a.kv_num_heads < 1 || a.q_num_heads % a.kv_num_heads !== 0) {
      throw new ShapeError(`q_num_heads ${a.q_num_heads} must be a positive multiple of kv_num_heads ${a.kv_num_heads}`);
    }
    checkRule(a.update_rule, optInType(ctx, 4) !== undefined, optInType(ctx, 5) !== undefined, optInType(ctx, 6) !== undefined);
    for (const [t, n] of [[q, 'query'], [k, 'key'], [v, 'value']] as const) {
      if (t.shape && t.shape.length !== 3) throw new ShapeError(`${n} must be 3-D [batch, seq, heads*dim], got rank ${t.shape.length}`);
    }
    const dk = perHead(q.shape?.[2], a.q_num_heads, 'query'), dv = perHead(v.shape?.[2], a.kv_num_heads, 'value');
    const b = q.shape?.[0] ?? ctx.freshDim('batch'), t = q.shape?.[1] ?? ctx.freshDim('seq');
    const dkk = dk ?? ctx.freshDim('dk'), dvv = dv ?? ctx.freshDim('dv');
    const outLast = typeof dv === 'number' ? a.q_num_heads * dv : ctx.freshDim('hidden');
    return [tensorOf(q.dtype, [b, t, outLast]), tensorOf(past?.dtype ?? q.dtype, [b, a.kv_num_heads, dkk, dvv])];
  },
  run(ctx) {
    const a = ctx.attrs;
    const Q = input(ctx, 0), K = input(ctx, 1), V = input(ctx, 2), past = optInput(ctx, 3);
    const decay = optInput(ctx, 4), beta = optInput(ctx, 5), erase = optInput(ctx, 6);
    const { gating, delta } = checkRule(a.update_rule, decay !== undefined, beta !== undefined, erase !== undefined);
    if (Q.dims.length !== 3 || K.dims.length !== 3 || V.dims.length !== 3) throw new KernelError('query, key and value must be 3-D');
    const [B, T] = Q.dims as [number, number];
    const hq = a.q_num_heads, hk = a.kv_num_heads, group = hq / hk;
    const dk = Q.dims[2]! / hq, dv = V.dims[2]! / hk;
    if (!Number.isInteger(dk) || !Number.isInteger(dv) || K.dims[2] !== hk * dk) throw new KernelError('head sizes do not divide the hidden sizes');
    if (K.dims[0] !== B || V.dims[0] !== B || K.dims[1] !== T || V.dims[1] !== T) throw new KernelError('query, key and value must share batch and seq');
    const decayLast = decay?.dims[2];
    if (decay && (decay.dims.length !== 3 || (decayLast !== hk && decayLast !== hk * dk))) throw new KernelError(`decay last dim must be ${hk} or ${hk * dk}`);
    const betaLast = beta?.dims[2];
    if (beta && (beta.dims.length !== 3 || (betaLast !== hk && betaLast !== 1))) throw new KernelError(`beta last dim must be ${hk} or 1`);
    if (erase && (erase.dims.length !== 3 || erase.dims[2] !== hk * dk)) throw new KernelError(`erase_gate last dim must be ${hk * dk}`);
    const stateDims = [B, hk, dk, dv];
    if (past && past.dims.join() !== stateDims.join()) throw new KernelError(`past_state must be [${stateDims.join(',')}], got [${past.dims.join(',')}]`);
    const S = new Float64Array(B * hk * dk * dv);
    if (past) for (let i = 0; i < S.length; i++) S[i] = getNumber(past, i);
    // chunk_size is a tuning hint with no effect on values; scale 0 or absent means 1/sqrt(d_k)
    const scale = !a.scale ? 1 / Math.sqrt(dk) : a.scale;
    const y = makeTensor(Q.dtype, [B, T, hq * dv]);
    const yd = y.data as Float32Array;
    const vt = new Float64Array(dv);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const row = b * T + t;
      for (let h = 0; h < hk; h++) {
        const s0 = (b * hk + h) * dk * dv;
        const kAt = (d: number) => getNumber(K, row * hk * dk + h * dk + d);
        if (gating) {
          for (let d = 0; d < dk; d++) {
            const g = Math.exp(getNumber(decay!, row * decayLast! + (decayLast === hk ? h : h * dk + d)));
            for (let m = 0; m < dv; m++) S[s0 + d * dv + m]! *= g;
          }
        }
        for (let m = 0; m < dv; m++) vt[m] = getNumber(V, row * hk * dv + h * dv + m);
        if (delta) {
          // v <- beta * (v - S^T k'), with k' the key masked by the erase gate when given
          const bt = getNumber(beta!, row * betaLast! + (betaLast === 1 ? 0 : h));
          for (let m = 0; m < dv; m++) {
            let got = 0;
            for (let d = 0; d < dk; d++) {
              const ke = erase ? getNumber(erase, row * hk * dk + h * dk + d) * kAt(d) : kAt(d);
              got += S[s0 + d * dv + m]! * ke;
            }
            vt[m] = bt * (vt[m]! - got);
          }
        }
        for (let d = 0; d < dk; d++) {
          const kd = kAt(d);
          for (let m = 0; m < dv; m++) S[s0 + d * dv + m]! += kd * vt[m]!;
        }
      }
      for (let h = 0; h < hq; h++) {
        const s0 = (b * hk + Math.floor(h / group)) * dk * dv;
        for (let m = 0; m < dv; m++) {
          let acc = 0;
          for (let d = 0; d < dk; d++) acc += getNumber(Q, row * hq * dk + h * dk + d) * S[s0 + d * dv + m]!;
          yd[row * hq * dv + h * dv + m] = scale * acc;
        }
      }
    }
    const present = makeTensor(past?.dtype ?? Q.dtype, stateDims);
    (present.data as Float32Array).set(S);
    return [roundToDType(y), roundToDType(present)];
  },
});

export const linearAttentionOps: AnyOpDef[] = [LinearAttention];

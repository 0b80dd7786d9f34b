// Cast and CastLike between the types WebGPU stores (float32, int32, uint32, bool): a same-type cast is a view
// (no code); float -> int truncates toward zero as the reference does for in-range values; to bool is "nonzero".
// Other types are refused with reason `dtype` (int64 exists only as constants, folded before lowering).

import type { PlanContext } from '../../../lowering/protocol.js';
import { grid1d } from './common.js';
import { input, output, type KernelDispatch, type WgKernel } from './types.js';
import { copyShader } from './movement.js';
import { castFormula, ELEM_OF, scalarMapShader } from './scalar-map.js';

const same = (ctx: PlanContext): boolean => ctx.inputs[0]!.dtype === ctx.outputs[0]!.dtype;

export const castKernel: WgKernel = {
  refuse(ctx) {
    const from = ctx.inputs[0]!, to = ctx.outputs[0]!;
    if (ELEM_OF[from.dtype] && ELEM_OF[to.dtype]) return undefined;
    const bad = ELEM_OF[from.dtype] ? to : from;
    return { reason: 'dtype', dtype: bad.dtype, detail: `the webgpu Cast converts between float32, int32, uint32 and bool, not ${from.dtype} -> ${to.dtype}` };
  },
  lower(ctx): KernelDispatch[] {
    const x = ctx.inputs[0]!, y = ctx.outputs[0]!;
    if (y.size === 0) return [];
    const from = ELEM_OF[x.dtype]!, to = ELEM_OF[y.dtype]!;
    if (same(ctx)) {
      // bool: one byte each, copied a word at a time
      const words = to === 'bool' ? Math.ceil(y.size / 4) : y.size;
      return [{ shader: copyShader(words, to === 'bool' ? 'u32' : to), operands: [input(0), output(0)], workgroups: grid1d(words) }];
    }
    const { shader, threads } = scalarMapShader({ inputs: [0], formula: castFormula(to) }, [x.dims], [from], y.dims, to, [0]);
    return [{ shader, operands: [input(0), output(0)], workgroups: grid1d(threads) }];
  },
};

export const CAST_KERNELS = { Cast: castKernel, CastLike: castKernel } as const;

// The OpName union (ops/op-names.ts) is the op registry's list of names, and every kernel table names only ops
// that have an OpDef: kernel tables are typed by OpName, and this checks the tables as built at run time too.

import { describe, expect, it } from 'vitest';
import { KERNELS } from '../../backends/wasm/kernels/index.js';
import { allOps, getOp } from '../../ops/index.js';
import { ONNX_OP_NAMES, ONNXC_OP_NAMES } from '../../ops/op-names.js';

describe('op names', () => {
  it('ops/op-names.ts lists exactly the registered ops (add a new op there)', () => {
    expect([...ONNX_OP_NAMES, ...ONNXC_OP_NAMES].sort()).toEqual(allOps().map((d) => d.op).sort());
    for (const op of ONNXC_OP_NAMES) expect(op.startsWith('onnxc.'), op).toBe(true);
  });

  it('every wasm kernel names an op with an OpDef', () => {
    const orphans = Object.keys(KERNELS).filter((op) => getOp(op) === undefined);
    expect(orphans).toEqual([]);
  });
});

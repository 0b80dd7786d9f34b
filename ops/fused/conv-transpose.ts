// onnxc.FusedConvTranspose: ConvTranspose (bias as ConvTranspose adds it) + optional residual input Z + an
// activation epilogue, as one node (DCGAN-style generators: ConvTranspose -> [BN folded] -> Relu). A separate op
// rather than a flag on onnxc.FusedConv, whose attributes the layout pass and the wasm backend read.
// Reference: exactly ConvTranspose -> Add(Z) -> activation, each rounding where the unfused ops do.

import { convTransposeAttrs, convTransposeOp } from '../conv-transpose.js';
import { defineOp, type AnyOpDef } from '../schema.js';
import { decomposeFused, epilogueAttrs, inferFused, runFused } from './matmul.js';

const base = convTransposeOp as unknown as AnyOpDef;

/** ConvTranspose's attributes, copied onto the ConvTranspose node of the decomposition when present. */
const CONV_T_ATTRS = Object.keys(convTransposeAttrs);

export const fusedConvTransposeOp = defineOp({
  op: 'onnxc.FusedConvTranspose',
  attrs: { ...convTransposeAttrs, ...epilogueAttrs },
  inputs: [2, 4],
  outputs: [1, 1],
  infer: inferFused(base, 3, [[3, 'Z']]),
  run: runFused(base, 3, [3]),
  decompose: decomposeFused('ConvTranspose', 3, [3], CONV_T_ATTRS),
});

export const fusedConvTransposeOps: AnyOpDef[] = [fusedConvTransposeOp as unknown as AnyOpDef];

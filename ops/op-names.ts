// Every op name onnxc knows, as a type: kernel tables are typed `Partial<Record<OpName, Kernel>>` so a kernel cannot
// name an op that has no OpDef without a type error, and test/ops/op-names.test.ts checks this list against the
// op registry (add a new op's name here when you add its OpDef).

export const ONNX_OP_NAMES = [
  'Abs', 'Acos', 'Acosh', 'Add', 'AffineGrid', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh',
  'Attention', 'AveragePool', 'BatchNormalization', 'Bernoulli', 'BitCast', 'BitShift', 'BitwiseAnd', 'BitwiseNot',
  'BitwiseOr', 'BitwiseXor', 'BlackmanWindow', 'Cast', 'CastLike', 'CausalConvWithState', 'Ceil', 'Celu',
  'CenterCropPad', 'Clip', 'Col2Im', 'Compress', 'Concat', 'ConcatFromSequence', 'Constant', 'ConstantOfShape',
  'Conv', 'ConvInteger', 'ConvTranspose', 'Cos', 'Cosh', 'CumProd', 'CumSum', 'DFT', 'DeformConv', 'DepthToSpace',
  'DequantizeLinear', 'Det', 'Div', 'Dropout', 'DynamicQuantizeLinear', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp',
  'Expand', 'EyeLike', 'Flatten', 'Floor', 'GRU', 'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm',
  'GlobalAveragePool', 'GlobalLpPool', 'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'GridSample',
  'GroupNormalization', 'HammingWindow', 'HannWindow', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'If',
  'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LSTM', 'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual',
  'LinearAttention', 'Log', 'LogSoftmax', 'Loop', 'LpNormalization', 'LpPool', 'MatMul', 'MatMulInteger', 'Max',
  'MaxPool', 'MaxRoiPool', 'MaxUnpool', 'Mean', 'MeanVarianceNormalization', 'MelWeightMatrix', 'Min', 'Mish', 'Mod',
  'Mul', 'Multinomial', 'Neg', 'NegativeLogLikelihoodLoss', 'NonMaxSuppression', 'NonZero', 'Not', 'OneHot',
  'Optional', 'OptionalGetElement', 'OptionalHasElement', 'Or', 'PRelu', 'Pad', 'Pow', 'QLinearConv',
  'QLinearMatMul', 'QuantizeLinear', 'RMSNormalization', 'RNN', 'RandomNormal', 'RandomNormalLike', 'RandomUniform',
  'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax',
  'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'RegexFullMatch', 'Relu', 'Reshape',
  'Resize', 'ReverseSequence', 'RoiAlign', 'RotaryEmbedding', 'Round', 'STFT', 'Scan', 'Scatter', 'ScatterElements',
  'ScatterND', 'Selu', 'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SequenceErase', 'SequenceInsert',
  'SequenceLength', 'SequenceMap', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size', 'Slice', 'Softmax',
  'SoftmaxCrossEntropyLoss', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split', 'SplitToSequence', 'Sqrt', 'Squeeze',
  'StringConcat', 'StringNormalizer', 'StringSplit', 'Sub', 'Sum', 'SwiGLU', 'Swish', 'Tan', 'Tanh', 'TensorScatter',
  'TfIdfVectorizer', 'ThresholdedRelu', 'Tile', 'TopK', 'Transpose', 'Trilu', 'Unique', 'Unsqueeze', 'Upsample',
  'Where', 'Xor',
] as const;

/** onnxc's own ops (made by passes: fusion, layout), domain `onnxc`. */
export const ONNXC_OP_NAMES = [
  'onnxc.DequantMatMul', 'onnxc.FusedConv', 'onnxc.FusedConvTranspose', 'onnxc.FusedElementwise', 'onnxc.FusedGemm', 'onnxc.FusedMatMul',
  'onnxc.NhwcAveragePool', 'onnxc.NhwcBatchNormalization', 'onnxc.NhwcConvTranspose', 'onnxc.NhwcFusedConvTranspose', 'onnxc.NhwcGlobalAveragePool',
  'onnxc.NhwcGlobalLpPool', 'onnxc.NhwcGlobalMaxPool', 'onnxc.NhwcInstanceNormalization', 'onnxc.NhwcLRN',
  'onnxc.NhwcLpPool', 'onnxc.NhwcMaxPool', 'onnxc.QConv', 'onnxc.QLinearAdd',
] as const;

export type OnnxOpName = (typeof ONNX_OP_NAMES)[number];
export type OnnxcOpName = (typeof ONNXC_OP_NAMES)[number];
export type OpName = OnnxOpName | OnnxcOpName;

const ALL: ReadonlySet<string> = new Set<string>([...ONNX_OP_NAMES, ...ONNXC_OP_NAMES]);

export const isOpName = (op: string): op is OpName => ALL.has(op);

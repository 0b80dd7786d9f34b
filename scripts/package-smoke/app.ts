// A user's program against the installed package (scripts/check-package.sh type-checks it in strict mode and runs
// it): the compiler API from 'onnxc', the device runtime from 'onnxc/runtime', and an artifact's own loader.d.ts.
import { compile, inspect, loadModel, optimize, OnnxcError, readTensor, run, toOnnx, type Tensor } from 'onnxc';
import { createSession, OnnxcRuntimeError, type Session, type TensorValue } from 'onnxc/runtime';
import { createSession as createFromLoader } from './out/tiny_cnn_wasm/loader.js';

const model = loadModel('examples/tiny_cnn/model.onnx');
const summary = inspect(model);
const optimized = optimize(model, { level: 2 });
const onnx: Uint8Array = toOnnx(optimized);
const input = readTensor('examples/tiny_cnn/test_data_set_0/input_0.pb') as Tensor<'float32'>;
const [want] = (await run(model, [input])) as Tensor<'float32'>[];

const artifact = await compile(model, { dims: { batch: input.dims[0]! } });
const session: Session = await createSession({ wasm: artifact.wasm, manifest: artifact.manifest });
const feeds = { image: { type: 'float32', dims: input.dims, data: input.data } };
const got: TensorValue = (await session.run(feeds))['probs']!;
const viaLoader = await (await createFromLoader()).run(feeds);
const err = Math.max(...Array.from(got.data as Float32Array, (v, i) => Math.abs(v - want!.data[i]!)));
const errLoader = Math.max(...Array.from(viaLoader['probs']!.data as Float32Array, (v, i) => Math.abs(v - want!.data[i]!)));

let refused = '';
try {
  await session.run({ image: { type: 'float32', dims: input.dims, data: new Int32Array(input.data.length) } });
} catch (e) {
  if (e instanceof OnnxcRuntimeError) refused = e.code;
}
let typed = '';
try {
  loadModel(new Uint8Array([1, 2, 3]));
} catch (e) {
  if (e instanceof OnnxcError) typed = e.name;
}
console.log(JSON.stringify({ nodes: summary.nodes, onnxBytes: onnx.length, err, errLoader, refused, typed }));
if (!(err < 1e-5 && errLoader < 1e-5 && refused === 'feed' && typed !== '')) process.exit(1);

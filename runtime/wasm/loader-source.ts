// The ES-module loader written beside each compiled model (loader.js). It is plain JavaScript text because the
// artifact must run with no build step and onnxc has no transpiler at run time; it mirrors session.ts (the
// typed runtime), and test/wasm/artifact.test.ts runs both on the same artifact.

export const LOADER_JS = `// onnxc wasm loader: createSession() loads model.wasm, manifest.json (and weights.bin) from this folder.
const ARRAYS = { float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, float16: Uint16Array, bfloat16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array };

async function fetchBytes(url) {
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return new Uint8Array(await fs.readFile(url));
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error('onnxc: cannot load ' + url + ': ' + r.status);
  return new Uint8Array(await r.arrayBuffer());
}

export async function createSession(base = new URL('.', import.meta.url)) {
  const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes(new URL('manifest.json', base))));
  const { instance } = await WebAssembly.instantiate(await fetchBytes(new URL('model.wasm', base)), {});
  const memory = instance.exports.memory, entry = instance.exports.run;
  if (manifest.weights.file) {
    const w = await fetchBytes(new URL(manifest.weights.file, base));
    new Uint8Array(memory.buffer, manifest.weights.offset, w.length).set(w);
  }
  return {
    manifest,
    inputNames: manifest.inputs.map((i) => i.name),
    outputNames: manifest.outputs.map((o) => o.name),
    async run(feeds) {
      for (const s of manifest.inputs) {
        const f = feeds[s.name];
        if (!f) throw new Error("onnxc: no feed for input '" + s.name + "'");
        if (f.type !== s.dtype || f.dims.length !== s.dims.length || f.dims.some((d, i) => d !== s.dims[i])) {
          throw new Error("onnxc: input '" + s.name + "' must be " + s.dtype + '[' + s.dims.join(',') + ']');
        }
        if (s.fixed) {
          if (f.data.length !== s.fixed.length || Array.from(f.data, String).some((v, i) => v !== s.fixed[i])) throw new Error("onnxc: input '" + s.name + "' was fixed at compile time");
          continue;
        }
        new Uint8Array(memory.buffer, s.offset, s.bytes).set(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength));
      }
      entry();
      const out = {};
      for (const s of manifest.outputs) {
        const C = ARRAYS[s.dtype];
        out[s.name] = { type: s.dtype, dims: [...s.dims], data: new C(memory.buffer.slice(s.offset, s.offset + s.bytes)) };
      }
      return out;
    },
  };
}
`;

#!/usr/bin/env bash
# The package as users get it (run by .ci/run): pack the tarball, install it into an empty folder, run the README's
# quick start there (npx onnxc --version, npx onnxc demo), compile a shared model, type-check a strict TypeScript
# program importing 'onnxc' and 'onnxc/runtime' and run it, and import both entries under a 4 GB address-space cap.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${ONNXC_SHARED:-$ROOT/../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "check-package: $*" >&2; exit 1; }

npm pack --pack-destination "$WORK" --silent >/dev/null   # runs `prepare` (the build)
TGZ=$(ls "$WORK"/onnxc-*.tgz)
tar tzf "$TGZ" > "$WORK/files"
for f in package/bin/onnxc.js package/dist/cli/cli.js package/dist/cli/inputs.json package/dist/api/index.js package/dist/api/index.d.ts package/dist/runtime/wasm/index.d.ts \
         package/dist/runtime/wasm/loader.bundle.js package/LICENSE package/README.md; do
  grep -qx "$f" "$WORK/files" || fail "the tarball lacks $f"
done
if grep -E '^package/(test|bench|scripts|dist/test|dist/bench|dist/scripts)/' "$WORK/files" | head -1 | grep -q .; then fail "the tarball ships tests or scripts"; fi
echo "tarball: $(du -k "$TGZ" | cut -f1) KiB, $(wc -l < "$WORK/files") files"

mkdir "$WORK/app" && cd "$WORK/app"
printf '{ "name": "app", "private": true, "type": "module" }\n' > package.json
npm install "$TGZ" --no-audit --no-fund --prefer-offline > install.log 2>&1 || { cat install.log; fail "npm install of the tarball failed"; }
if grep -i 'npm warn' install.log | grep -v 'install-scripts' | grep -q .; then cat install.log; fail "npm warned on install"; fi

version=$(node -p "require('$ROOT/package.json').version")
[ "$(npx --no-install onnxc --version)" = "$version" ] || fail "npx onnxc --version is not $version"
npx --no-install onnxc demo > demo.log || { cat demo.log; fail "npx onnxc demo failed"; }
grep -q 'max abs error vs the reference' demo.log || fail "the demo did not run the artifact"
echo "quick start: npx onnxc --version = $version; npx onnxc demo ran the artifact"

if [ -f "$SHARED/models/mobilenet_v2/model.onnx" ]; then
  npx --no-install onnxc compile "$SHARED/models/mobilenet_v2/model.onnx" --dim batch=1 -o mobilenet_wasm > compile.log 2>&1 \
    || npx --no-install onnxc compile "$SHARED/models/mobilenet_v2/model.onnx" -o mobilenet_wasm > compile.log 2>&1 || { cat compile.log; fail "compile of mobilenet_v2 failed"; }
  echo "compiled the shared mobilenet_v2: $(grep model.wasm compile.log)"
else
  echo "shared models not found at $SHARED: compile of a shared model skipped"
fi

# Binaryen's load cache (backends/wasm/binaryen-load.ts): filled on first use, then read; the same bytes as a plain import
ONNXC_CACHE_DIR="$WORK/cache" npx --no-install onnxc compile examples/tiny_cnn/model.onnx --dim batch=2 -o cache_fill > cache.log 2>&1 || { cat cache.log; fail "compile with a fresh cache folder failed"; }
ls "$WORK"/cache/binaryen-*.bin > /dev/null 2>&1 || fail "the Binaryen cache file was not written"
ONNXC_CACHE_DIR="$WORK/cache" npx --no-install onnxc compile examples/tiny_cnn/model.onnx --dim batch=2 -o cache_hit > cache.log 2>&1 || { cat cache.log; fail "compile from the cache failed"; }
ONNXC_CACHE_DIR=off npx --no-install onnxc compile examples/tiny_cnn/model.onnx --dim batch=2 -o cache_off > cache.log 2>&1 || { cat cache.log; fail "compile without the cache failed"; }
cmp -s cache_fill/model.wasm cache_off/model.wasm && cmp -s cache_hit/model.wasm cache_off/model.wasm || fail "model.wasm depends on how Binaryen was loaded"
echo "binaryen cache: filled, read, same model.wasm as a plain import"

# a threaded artifact: the worker code inside loader.js runs from the installed package, with the 1-thread bits
npx --no-install onnxc compile examples/tiny_cnn/model.onnx --dim batch=2 --threads 2 -o tiny_2t > threads.log 2>&1 || { cat threads.log; fail "compile --threads 2 failed"; }
cat > threads.mjs <<'JS'
const one = await (await import('./out/tiny_cnn_wasm/loader.js')).createSession();
const two = await (await import('./tiny_2t/loader.js')).createSession();
if (two.threads !== 2) throw new Error(`threaded session runs ${two.threads} thread(s): ${two.threadsNote}`);
const data = Float32Array.from({ length: 6144 }, (_, i) => Math.sin(i));
const feeds = { [one.inputNames[0]]: { type: 'float32', dims: [2, 3, 32, 32], data } };
const a = (await one.run(feeds))[one.outputNames[0]].data, b = (await two.run(feeds))[two.outputNames[0]].data;
if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) throw new Error('2 threads differ from 1 thread');
two.release();
JS
node threads.mjs || fail "the threaded artifact did not run on 2 threads with the 1-thread bits"
echo "threads: compile --threads 2 ran on 2 workers with the 1-thread bits"

cp "$ROOT/scripts/package-smoke/app.ts" app.ts
"$ROOT/node_modules/.bin/tsc" --strict --noEmit false --outDir build --module nodenext --moduleResolution nodenext --target es2022 \
  --types node --typeRoots "$ROOT/node_modules/@types" app.ts || fail "app.ts does not type-check against the package's types"
cp out/tiny_cnn_wasm/loader.js build/out/tiny_cnn_wasm/ 2>/dev/null || { mkdir -p build/out/tiny_cnn_wasm && cp out/tiny_cnn_wasm/* build/out/tiny_cnn_wasm/; }
node build/app.js || fail "app.ts failed when run"

bash -c 'ulimit -v 4000000 && node -e "await import(\"onnxc\"); await import(\"onnxc/runtime\")" --input-type=module' \
  || fail "importing onnxc or onnxc/runtime needs more than 4 GB of address space (Binaryen loaded eagerly?)"
echo "check-package: ok"

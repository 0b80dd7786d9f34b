#!/usr/bin/env bash
# bench/webgpu.ts (onnxc's WebGPU backend against onnxruntime-node's WebGPU execution provider, same Dawn
# adapter) on a GPU machine that has no Node.js and no network: everything travels in the ignored folder
# .devbench/ (and .gl/, the Vulkan loader debs of the device tool's README), built here by `stage`.
#
#   bash scripts/device-webgpu-bench.sh stage
#       Here (x86-64 Linux, /usr/bin/node 20, npm deps installed, ../shared or $ONNXC_SHARED). Writes
#       .devbench/rt (bench/webgpu.ts bundled by esbuild, the pruned linux-x64 parts of webgpu and
#       onnxruntime-node, node/dawn.node/libonnxruntime xz'd: about 40 MB) and the model sets .devbench/mA
#       (mnist squeezenet1_1 mobilenet_v2, 19 MB) and .devbench/mB (mnist gpt2_tiny, 20 MB), .onnx files xz'd.
#       rt plus one set fits the device tool's 64 MiB, rt plus both does not: hence two runs.
#   bash scripts/device-webgpu-bench.sh run [--runs N]
#       There, from the repository root, with `carry` [".gl", ".devbench/rt", ".devbench/mA"] (or mB):
#       unpacks to /tmp/devbench, prints the Dawn adapter, runs the bench on the models carried, then
#       the machine's python3 onnxruntime (CUDA EP asked for; the H200 image's 1.30 has only the CPU EP, and
#       the table names the EP that ran) as a reference from another API, and ends with a markdown table.
#       Full log under $OUT (or .devbench/out). Measured: 11 s and 9 s of command time per set, warm.
#       Rehearse here with the same command: lavapipe stands in for the GPU (scripts/ci-webgpu-setup.sh); it gets the
#       CPU kernel forms (runtime/webgpu/forms.ts), so rehearse with ONNXC_WEBGPU_FORMS=gpu for what a GPU runs.
#       The bench lines say which forms ran ('| gpu forms, ...').
set -uo pipefail
cd "$(dirname "$0")/.."
D=.devbench
MODELS=(mnist squeezenet1_1 mobilenet_v2 gpt2_tiny)

stage() {
  set -e
  local N=node_modules S=${ONNXC_SHARED:-../shared} a=$D/rt/app/node_modules
  mkdir -p .git/info; grep -qx '/.devbench/' .git/info/exclude 2>/dev/null || echo /.devbench/ >>.git/info/exclude
  mkdir -p $a/webgpu $a/onnxruntime-node $a/onnxruntime-common
  local b
  for b in webgpu:webgpu-bench webgpu-profile:webgpu-profile; do
    npx esbuild bench/${b%%:*}.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
      --external:webgpu --external:onnxruntime-node --outfile=$D/rt/app/${b##*:}.mjs \
      --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
    xz -T0 -9 -f $D/rt/app/${b##*:}.mjs  # 1.3 MB each plain: rt + mB would pass the 64 MiB carry limit
  done
  cp $N/webgpu/{package.json,index.js} $a/webgpu/
  cp -r $N/onnxruntime-node/{package.json,dist} $a/onnxruntime-node/
  cp -r $N/onnxruntime-common/{package.json,dist} $a/onnxruntime-common/
  find $D/rt/app -name '*.map' -delete
  cp $N/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node $D/rt/
  [ -f $D/rt/node.xz ] || { cp "$(command -v node)" /tmp/node-stripped && strip /tmp/node-stripped && xz -T0 -9 -c /tmp/node-stripped >$D/rt/node.xz; }
  [ -f $D/rt/dawn.node.xz ] || xz -T0 -9 -c $N/webgpu/dist/linux-x64/dawn.node >$D/rt/dawn.node.xz
  [ -f $D/rt/libonnxruntime.so.1.xz ] || xz -T0 -9 -c $N/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 >$D/rt/libonnxruntime.so.1.xz
  local g s m
  for g in "mA mnist squeezenet1_1 mobilenet_v2" "mB mnist gpt2_tiny"; do
    set -- $g; s=$1; shift
    for m in "$@"; do
      [ -d $D/$s/models/$m ] && continue
      mkdir -p $D/$s/models/$m && cp -r "$S/models/$m/." $D/$s/models/$m/
      find $D/$s/models/$m -name '*.onnx' -size +1M -exec xz -T0 -6 {} \;
    done
  done
  du -sb $D/rt $D/mA $D/mB
}

unxz_to() { xz -dc "$1" >"$2" 2>/dev/null || python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

# /tmp/devbench from what was carried (the binaries once per machine; the bundles and models every time), the
# Vulkan loader where the machine has none; sets W and have (the models carried) and prints the adapter
unpack() {
  W=/tmp/devbench
  OUT=${OUT:-$PWD/$D/out}; mkdir -p "$OUT"
  date -u; uname -m
  if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  local g=$W/node_modules/webgpu/dist/linux-x64 o=$W/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
  if [ ! -x $W/node ]; then
    rm -rf $W && mkdir -p $W/shared/models $g $o
    unxz_to $D/rt/node.xz $W/node && chmod +x $W/node
    unxz_to $D/rt/dawn.node.xz $g/dawn.node
    unxz_to $D/rt/libonnxruntime.so.1.xz $o/libonnxruntime.so.1
  fi
  rm -rf $W/shared/models $W/*.mjs && mkdir -p $W/shared/models
  cp -r $D/rt/app/. $W/
  for f in $W/*.mjs.xz; do unxz_to "$f" "${f%.xz}" && rm "$f"; done
  cp $D/rt/onnxruntime_binding.node $o/
  for s in $D/m*/models; do [ -d "$s" ] && cp -r "$s/." $W/shared/models/; done
  find $W/shared/models -name '*.xz' | while read -r f; do unxz_to "$f" "${f%.xz}" && rm "$f"; done
  have=()
  local m
  for m in "${MODELS[@]}"; do [ -d $W/shared/models/$m ] && have+=("$m"); done
  echo "node $($W/node --version), models: ${have[*]}"
  # the adapter Dawn picks by default (the one dawnDevice() and so onnxc gets)
  (cd $W && timeout 60 ./node --input-type=module -e "
    const { create, globals } = await import('webgpu'); Object.assign(globalThis, globals);
    globalThis.g = create([]); const a = await g.requestAdapter();
    const i = a?.info; console.log('adapter: ' + (i ? [i.vendor, i.architecture, i.device, i.description].join(' | ') + (a.features.has('subgroups') ? ' (subgroups)' : '') + (i.isFallbackAdapter ? ' (fallback)' : '') : 'none'));
    process.exit(0);") | tee $OUT/adapter.txt
}

run() {
  local runs=30 W have
  [ "${1:-}" = --runs ] && runs=$2
  OUT=${OUT:-$PWD/$D/out}; mkdir -p "$OUT"
  exec > >(tee "$OUT/device-webgpu-bench.log") 2>&1
  unpack
  (cd $W && ONNXC_SHARED=$W/shared timeout 200 ./node webgpu-bench.mjs --runs "$runs" "${have[@]}") | tee $OUT/bench.txt
  echo "bench exit ${PIPESTATUS[0]}"

  # reference only: python onnxruntime, CUDA EP if the image has it (another API and runtime than the above)
  ONNXC_SHARED=$W/shared timeout 60 python3 - "$runs" "${have[@]}" <<'PY' | tee $OUT/ort-cuda.txt
import glob, os, sys, time
try:
    import numpy as np, onnx, onnxruntime as ort
    from onnx import numpy_helper
except Exception as e:
    print(f"ort-cuda: skipped ({e})"); sys.exit(0)
runs = int(sys.argv[1])
for name in sys.argv[2:]:
    d = os.path.join(os.environ["ONNXC_SHARED"], "models", name)
    f = glob.glob(os.path.join(d, "*.onnx"))[0]
    ds = sorted(glob.glob(os.path.join(d, "test_data_set_*")))[0]
    rd = lambda p: numpy_helper.to_array(onnx.load_tensor(p))
    s = ort.InferenceSession(f, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    feeds = {i.name: rd(os.path.join(ds, f"input_{k}.pb")) for k, i in enumerate(s.get_inputs())}
    ts = []
    for i in range(runs + 2):
        t = time.perf_counter(); out = s.run(None, feeds); dt = (time.perf_counter() - t) * 1e3
        if i >= 2: ts.append(dt)
    exp = [rd(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
    err = max(float(np.max(np.abs(o - e))) / max(float(np.max(np.abs(e))), 1e-30) for o, e in zip(out, exp))
    print(f"ort-cuda {name} {np.median(ts):.2f} {err:.1e} {s.get_providers()[0]}")
PY

  echo; echo "## onnxc webgpu vs ort-node webgpu, median of $runs interleaved runs ($(date -u +%F))"
  echo "adapter (Dawn): $(sed 's/^adapter: //' $OUT/adapter.txt)"
  echo "| model | onnxc webgpu ms | ort webgpu ms | ratio | onnxc max err | python ort ms (EP, err) |"
  echo "|---|---|---|---|---|---|"
  for m in "${have[@]}"; do
    local l c
    l=$(grep -E "^$m +onnxc" $OUT/bench.txt || true)
    c=$(awk -v m="$m" '$1=="ort-cuda" && $2==m {print $3 " (" $5 ", err " $4 ")"}' $OUT/ort-cuda.txt)
    if [ -n "$l" ]; then
      echo "$l" | awk -v m="$m" -v c="${c:--}" '{for(i=1;i<=NF;i++){if($i=="onnxc")a=$(i+1); if($i=="ort-webgpu")b=$(i+1); if($i=="ratio")r=$(i+1); if($i=="error")e=$(i+1)} print "| " m " | " a " | " b " | " r " | " e " | " c " |"}'
    else
      echo "| $m | failed | failed | - | - | ${c:--} |"
    fi
  done
  sleep 1  # let tee flush
}

# per-dispatch GPU time (bench/webgpu-profile.ts: timestamp queries where the adapter has them) of the models carried
profile() {
  local W have
  OUT=${OUT:-$PWD/$D/out}; mkdir -p "$OUT"
  exec > >(tee "$OUT/device-webgpu-profile.log") 2>&1
  unpack
  (cd $W && ONNXC_SHARED=$W/shared timeout 200 ./node webgpu-profile.mjs "$@" "${have[@]}")
  echo "profile exit $?"
  sleep 1  # let tee flush
}

case "${1:-}" in
  stage) stage ;;
  run) shift; run "$@" ;;
  profile) shift; profile "$@" ;;
  *) echo "usage: $0 stage | run [--runs N] | profile [--reps N] [--top N] [--alone]" >&2; exit 2 ;;
esac

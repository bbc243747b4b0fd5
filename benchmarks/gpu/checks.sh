#!/usr/bin/env bash
# The GPU checks (issues 6 and 13), run on a device machine (an H100/H200 with no internet) from the repo root:
#   1. ../shared/tools/gpu-onnxruntime-chunks here cuts onnxruntime-gpu into .ortgpu/1..5;
#   2. device runs 1-4 carry .ortgpu/K and copy it into $HOME/ortparts/;
#   3. device run 5 carries .ortgpu/5 and runs this script (about 5 minutes; give it timeout_s 420).
# It installs onnxruntime-gpu into $HOME/site, then runs the CUDA tests (frames equal to the CPU's, the live
# region equal to the full grid on the device: graphs per window bucket, masks cut on the GPU) and the window
# tests, then benchmarks/run_all.py --device cuda --quick (live region against full grid, plain loop and torch at
# batch 1, 8, 64, 256 on 72x72), and prints the full-grid-equivalent cell-steps/s of each batch. Logs and JSON
# go under $OUT. CUDA_OPTIONS=1 also runs benchmarks/cuda_options.py (the provider options table, ~3 minutes).
set -u
OUT=${OUT:-/tmp/ncarender-gpu-out}
mkdir -p "$OUT" "$HOME/ortparts"
cp .ortgpu/5/part.* "$HOME/ortparts/" 2>/dev/null
whl=/tmp/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl
if [ ! -d "$HOME/site/onnxruntime" ]; then
  cat "$HOME"/ortparts/part.0 "$HOME"/ortparts/part.1 "$HOME"/ortparts/part.2 "$HOME"/ortparts/part.3 \
    "$HOME"/ortparts/part.4 > "$whl" || exit 3
  sha256sum "$whl"
  python3 -m pip install -q --no-deps --no-index --target "$HOME/site" "$whl" || exit 4
fi
purelib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
LD_LIBRARY_PATH=$(ls -d "$purelib"/nvidia/*/lib 2>/dev/null | paste -sd:):${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH
export PYTHONPATH="$HOME/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import onnxruntime as o, torch; print('onnxruntime', o.__version__, o.get_available_providers(), 'torch', torch.__version__)"
timeout 200 python3 -m pytest -q -s -rA -p no:cacheprovider tests/runtime/test_cuda.py tests/runtime/test_window.py \
  tests/train/test_train.py -k "cuda or window" 2>&1 \
  | tee "$OUT/pytest_cuda.log"
timeout 240 python3 benchmarks/run_all.py --device cuda --quick --skip command,layout,session,memory \
  --json "$OUT/bench_cuda.json" 2>&1 | tee "$OUT/bench_cuda.log"
python3 - "$OUT/bench_cuda.json" <<'EOF' 2>&1 | tee "$OUT/cell_steps.log"
import json, sys
res = json.load(open(sys.argv[1]))
for r in res["rollout"]:
    if r["grid"] == 72:
        print(f"batch {r['batch']:>3} 72x72 steps 0-{r['steps']}: live {r['live']['cell_steps_per_s'] / 1e9:.3f} G, "
              f"full grid {r['full']['cell_steps_per_s'] / 1e9:.3f} G cell-steps/s (full-grid equivalent), "
              f"live/full {r['live_vs_full']:.2f}x, live = full: {r['live_equals_full']}")
EOF
if [ "${CUDA_OPTIONS:-0}" = 1 ]; then
  timeout 170 python3 benchmarks/cuda_options.py --json "$OUT/cuda_options.json" 2>&1 | tee "$OUT/cuda_options.log"
fi
echo "checks done"

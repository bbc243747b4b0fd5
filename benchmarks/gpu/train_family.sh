#!/usr/bin/env bash
# Train (or continue) a family model on the device machine's GPU, then export it and judge it there (issue 12).
# The CUDA training path has not run on a GPU yet: the script runs tests/train/test_train.py's CUDA tests first.
# Run from the repo root through the device tool, with timeout_s about BUDGET + 150:
#   BUDGET=420 bash benchmarks/gpu/train_family.sh                   # continue models/training/reiter16w.pt
#   NAME=reiter16h SPEC=reiter:16 TRAIN_ARGS="--hidden 192 --lr-decay-at 8000" bash benchmarks/gpu/train_family.sh
# With models/training/NAME.pt committed, the run resumes from it (its own model and schedule, with the TRAIN_ARGS
# a resume may change, e.g. TRAIN_ARGS="--batch-size 32 --lr-decay-at 30000"; a fresh pool, warmed by the model);
# otherwise it starts SPEC afresh with TRAIN_ARGS. Training stops at ITERATIONS or after BUDGET seconds: timeout
# sends SIGTERM, and `ncarender train` then writes its checkpoint. Then `export` (parity against torch on the GPU)
# and `eval` (onnxruntime on the CPU) run, and a gallery of seeds 0-15 is rendered. What comes back through $OUT:
# NAME.pt (the checkpoint, never the pool), NAME.onnx, NAME.eval.txt and .json, NAME.loss.png, NAME.gallery.png and
# train.log. Copy them into models/training/ here and commit the checkpoint.
# DEVICE=cpu runs the same script here (a dry run with SPEC=reiter:2@16 ITERATIONS=4).
set -u
OUT=${OUT:-/tmp/ncarender-gpu-out}
NAME=${NAME:-reiter16w}
SPEC=${SPEC:-reiter:16}
ITERATIONS=${ITERATIONS:-40000}
BUDGET=${BUDGET:-420}
DEVICE=${DEVICE:-cuda}
TRAIN_ARGS=${TRAIN_ARGS:-}
mkdir -p "$OUT"
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
nca() { python3 -m ncarender "$@"; }
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
if [ "$DEVICE" = cuda ]; then
  nvidia-smi -L
  # the CUDA training path first (a few seconds): regenerate mode, a family, resume
  python3 -m pytest -q -p no:cacheprovider tests/train/test_train.py -k cuda 2>&1 | tail -n 5
  [ "${PIPESTATUS[0]}" = 0 ] || exit 6
fi

ckpt="$OUT/$NAME.pt"
if [ -f "models/training/$NAME.pt" ]; then
  cp "models/training/$NAME.pt" "$ckpt"
  # shellcheck disable=SC2086  # TRAIN_ARGS is a list of options
  set -- --resume $TRAIN_ARGS
else
  # shellcheck disable=SC2086  # TRAIN_ARGS is a list of options
  set -- "$SPEC" $TRAIN_ARGS
fi
start=$(date +%s)
timeout -s TERM "$BUDGET" python3 -m ncarender train "$@" -o "$ckpt" --iterations "$ITERATIONS" \
  --device "$DEVICE" --checkpoint-every 200 --json >"$OUT/train.json" 2>"$OUT/train.log"
echo "train exit $? after $(($(date +%s) - start)) s; last lines:"
tail -n 3 "$OUT/train.log"
rm -f "$OUT/$NAME.pool.pt"  # the sample pool stays behind (never committed)

nca export "$ckpt" -o "$OUT/$NAME.onnx" || exit 5
nca info "$OUT/$NAME.onnx" | grep -E "training_iterations|final_loss|flakes"
nca eval "$OUT/$NAME.onnx" --provider cpu --json >"$OUT/$NAME.eval.json" 2>"$OUT/$NAME.eval.txt"
echo "eval exit $?"
cat "$OUT/$NAME.eval.txt"
nca sheet --seeds 0-15 --model "$OUT/$NAME.onnx" "$OUT/$NAME.gallery.png" --scale 3 --columns 8 -q --provider cpu
ls -la "$OUT"

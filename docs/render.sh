#!/usr/bin/env bash
# Render the README's pictures with the project's own commands (run from the repo root, ncarender installed).
#   bash docs/render.sh                     # into docs/
#   OUT=/tmp/pics FAMILY=models/training/reiter16w.onnx bash docs/render.sh
# FAMILY is the family model shown (default: the built-in `snowflakes`, the default model; its pictures open the
# README), PARAMS the continuous family (default: the built-in `snowflakes-per-seed`). The same model and options
# give the same bytes: a picture that changes here changed because the model or the renderer did.
set -euo pipefail
OUT=${OUT:-docs}
FAMILY=${FAMILY:-snowflakes}
PARAMS=${PARAMS:-snowflakes-per-seed}  # the continuous family
mkdir -p "$OUT"
# The emoji snowflake grows, is damaged at step 250 and regrows.
ncarender gif "$OUT/snowflake.gif" --model snowflake --steps 400 --every 4 --scale 2 --fps 25 \
  --damage 250:0.3,-0.2,0.3 -q
# The family: seeds 0-15 at step 200, each over seed/flake; and four flakes growing side by side.
ncarender sheet --seeds 0-15 --model "$FAMILY" "$OUT/snowflakes-gallery.png" --scale 3 --columns 8 -q
ncarender gif "$OUT/snowflakes.gif" --model "$FAMILY" --seeds 0,4,9,14 --columns 4 --steps 200 --every 4 \
  --scale 3 --fps 20 -q
# The family's targets, from Reiter's automaton.
ncarender family reiter:16 "$OUT/family-reiter16.png" -q
# The continuous family: seeds 5000-5015, parameters it never trained on (its first 1,024 draws were training).
ncarender sheet --seeds 5000-5015 --model "$PARAMS" "$OUT/params-gallery.png" --scale 3 --columns 8 -q
ncarender family reiter:params:16@32 "$OUT/family-params16.png" -q
# The family's growth strip (evaluation.md, its model card): the automaton above the model, per flake.
mkdir -p "$OUT/models"
ncarender eval "$FAMILY" -k 1 --no-regen --regrowth 0 --steps 200 --picture "$OUT/models/snowflakes-growth.png" \
  > /dev/null
ls -la "$OUT"

#!/usr/bin/env bash
# Reproduce the embedded seed model (`--model seed`, the global kind: one code per tile) from
# scratch (MODEL.md has the figures of the committed one). Needs the [train] extra (`make dev`);
# DEVICE=cuda on a GPU (it was trained on an H100; on 2 CPU cores it takes many hours).
#   bash scripts/train_seed_model.sh            # -> runs/seed-rgba, core/models/seed
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DEVICE=${DEVICE:-cpu}
INPUTS=${INPUTS:-5000000}
RUN=${RUN:-runs/seed-rgba}

$BIN/python scripts/crawl_tiles.py data
$BIN/manifold train data/wall.png data/floor.png data/feat.png --tile-size 32 \
    --preset seed-b8-h128 --channels 4 --max-inputs "$INPUTS" --batch-size 256 --lr 6e-4 --seed 0 --device "$DEVICE" \
    --pixels-per-tile 0 --precision fp32 --no-channels-last \
    --out "$RUN" ${RESUME:+--resume} ${RESUME:---overwrite}
$BIN/manifold export "$RUN" -o core/models/seed
cp "$RUN/loss.png" docs/seed-model-loss.png
cp "$RUN/repros.png" docs/seed-model-repros.png
echo "seed model: core/models/seed (card: MODEL.md)"

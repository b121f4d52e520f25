#!/usr/bin/env bash
# Reproduce the embedded default model from scratch (see MODEL.md for the figures of the
# committed one). Needs the [train] extra (`make dev`); DEVICE=cuda on a GPU.
#   bash scripts/train_default_model.sh            # -> runs/default-rgba, manifold_cli/default_model
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DEVICE=${DEVICE:-cpu}
INPUTS=${INPUTS:-5000000}
RUN=${RUN:-runs/default-rgba}

$BIN/python scripts/crawl_tiles.py data
$BIN/manifold train data/wall.png data/floor.png data/feat.png --tile-size 32 \
    --preset seed-b8-h128 --channels 4 --max-inputs "$INPUTS" --batch-size 256 --lr 6e-4 --seed 0 --device "$DEVICE" \
    --pixels-per-tile 0 --precision fp32 --no-channels-last \
    --out "$RUN" ${RESUME:+--resume}
$BIN/manifold export "$RUN" -o manifold_cli/default_model
cp "$RUN/loss.png" docs/default-model-loss.png
cp "$RUN/repros.png" docs/default-model-repros.png
echo "default model: manifold_cli/default_model (card: MODEL.md)"

#!/usr/bin/env bash
# Reproduce the embedded default model (the local kind, trained for upscaling) from scratch on a
# CPU: fetches the training tile sets from Debian packages, trains, exports into the package and
# copies its figures to docs/. About 40 minutes on 2 cores with bf16 (AVX-512 BF16); MODEL.md
# has the figures of the committed model and what each choice measured.
#   make default-model                        # = bash scripts/train_default_model.sh
#   RESUME=1 make default-model               # continue an interrupted run from its checkpoint
#   DEVICE=cuda make default-model            # the same recipe on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DEVICE=${DEVICE:-cpu}
RUN=${RUN:-runs/default-local}
SETS=(crawl cataclysm supertux)  # training sets; freeciv, pingus and angband stay held out for `manifold eval`

$BIN/python scripts/tile_sets.py data/sets $(printf -- '--only %s ' "${SETS[@]}")
$BIN/manifold train "${SETS[@]/#/data/sets/}" --preset local-w32 --max-inputs 1000000 --batch-size 32 \
    --lr 2e-3 --eval-every 50000 --seed 0 --device "$DEVICE" --out "$RUN" ${RESUME:+--resume} ${RESUME:---overwrite}
$BIN/manifold export "$RUN" -o core/models/default
cp "$RUN/loss.png" docs/default-model-loss.png
cp "$RUN/repros.png" docs/default-model-repros.png
echo "default model: core/models/default (card: MODEL.md; measure it with: make eval)"

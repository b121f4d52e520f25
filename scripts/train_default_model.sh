#!/usr/bin/env bash
# Reproduce the embedded default model (the mixture kind, trained for upscaling) from scratch on
# a CPU: fetches the training tile sets from Debian packages, trains, exports into the package and
# copies its figures to docs/. MODEL.md has the figures of the committed model (its training time
# on 2 cores with bf16) and what each choice measured.
#   make default-model                        # = bash scripts/train_default_model.sh
#   RESUME=1 make default-model               # continue an interrupted run from its checkpoint
#   DEVICE=cuda make default-model            # the same recipe on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DEVICE=${DEVICE:-cpu}
RUN=${RUN:-runs/default-mixture}
# every training set of scripts/tile_sets.py; freeciv, pingus and angband stay held out for `manifold eval`
SETS=(berusky blobwars boswars cataclysm crawl flare freedink freedroid hedgewars lbreakout lgeneral lincity
      lordsawar mrrescue simutrans supertux tecnoballz tecnoballz-hires widelands)

$BIN/python scripts/tile_sets.py data/sets $(printf -- '--only %s ' "${SETS[@]}")
# random sampling phases, and half the batches shrunk by majority (crisp, like art drawn small): MODEL.md
$BIN/manifold train "${SETS[@]/#/data/sets/}" --preset mixture-w32 --phase random \
    --degrade box,majority,majority,nearest --max-inputs 300000 --batch-size 32 --lr 2e-3 --eval-every 50000 \
    --seed 0 --threads 1 --device "$DEVICE" --out "$RUN" ${RESUME:+--resume} ${RESUME:---overwrite}
$BIN/manifold export "$RUN" -o core/models/default
cp "$RUN/loss.png" docs/default-model-loss.png
cp "$RUN/repros.png" docs/default-model-repros.png
echo "default model: core/models/default (card: MODEL.md; measure it with: make eval)"

# Two commands do all set-up on a fresh machine (Python >= 3.10 with venv):
#   make demo   upscale real tiles with the embedded default model (runtime only: no torch)
#   make test   install everything (torch CPU, onnx, pytest, ruff), lint, and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: demo test dev bench eval default-model aseprite-extension clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) -e '.[train,dev,eval]'
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/python scripts/demo.py

test: $(VENV)/.dev
	bash scripts/install_test_tools.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

dev: $(VENV)/.dev

# Speed benchmark (BENCHMARKS.md): held-out Crawl tiles where apt-get can fetch them, then
# `manifold bench` (about 5 minutes on 2 cores); `make bench BENCH_ARGS=--quick` takes about 80 s.
bench: $(VENV)/.dev
	-$(BIN)/python scripts/crawl_tiles.py data >&2
	$(BIN)/manifold bench $(BENCH_ARGS)

default-model: $(VENV)/.dev
	bash scripts/train_default_model.sh

# Quality (MODEL.md): the held-out tile sets (other games, never trained on) from Debian packages,
# then `manifold eval` of the default and seed models against the classic and neural scalers,
# shrunk by box and by nearest at 2x, and the crisp originals (no ground truth) upscaled 2x and
# 4x; contact sheets per set in docs/ (eval-SET.png, originals-SET-2x.png, -4x.png). EVAL_ARGS
# adds options to both. scripts/eval_tables.py measures MODEL.md's full tables.
EVAL_SETS ?= freeciv angband pingus
eval: $(VENV)/.dev
	$(BIN)/python scripts/tile_sets.py data/sets $(addprefix --only ,$(EVAL_SETS))
	$(BIN)/python scripts/tile_sets.py data/sets --originals $(addprefix --only ,$(EVAL_SETS))
	for set in $(EVAL_SETS); do \
	    $(BIN)/manifold eval data/sets/$$set --model default --model seed --scale 2 --sheet docs/eval-$$set.png $(EVAL_ARGS) || exit 1; \
	    $(BIN)/manifold eval data/sets/$$set-originals --originals --scale 2,4 --methods nearest,xbrz,mmpx,manifold \
	        --sheet docs/originals-$$set.png $(EVAL_ARGS) || exit 1; \
	done

# The Aseprite extension as one file (a zip): double-click it, or Edit > Preferences > Extensions.
DIST ?= dist
aseprite-extension: $(DIST)/manifold.aseprite-extension

$(DIST)/manifold.aseprite-extension: plugins/aseprite/package.json plugins/aseprite/manifold.lua
	mkdir -p $(DIST)
	rm -f $@
	cd plugins/aseprite && $(PYTHON) -m zipfile -c $(abspath $@) package.json manifold.lua

clean:
	rm -rf $(VENV) demo-out .pytest_cache

#!/usr/bin/env bash
# The GPU check (BENCHMARKS.md, "GPU"; scripts/gpu_check.py says what it measures).
#
# On the lent GPU machine: the same command in every call of the sequence that
# `python scripts/gpu_wheel.py plan` prints here (only the carried piece changes):
#     bash scripts/gpu_check.sh
# A call that leaves pieces missing keeps the one it carried (outside the checkout, where the next
# call's carry cannot replace it) and says what is still to send; the call that completes them
# joins and checks them, unpacks onnxruntime-gpu, points LD_LIBRARY_PATH at the CUDA 13 libraries
# of the machine's PyTorch wheels (nvidia/*/lib) and runs the check. A rerun on the same warm
# machine needs no piece. The report: $OUT/gpu-report.json, $OUT/gpu-report.md, $OUT/gpu-check.log.
#
# Here, the CPU half alone (no pieces, nothing installed: this checkout's Python and onnxruntime):
#     PYTHON=.venv/bin/python bash scripts/gpu_check.sh --cpu-only
# Further arguments go to gpu_check.py (--rounds 3, --skip startup, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-gpu-check-out}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1

site=""
if [ "${1:-}" = "--cpu-only" ]; then
    shift
    device=cpu
    STASH=$(mktemp -d "${TMPDIR:-/tmp}/manifold-gpu-check.XXXXXX")
    trap 'rm -rf "$STASH"' EXIT
else
    device=cuda
    STASH=${GPU_STASH:-/tmp/manifold-gpu}
    held=0
    "$PYTHON" scripts/gpu_wheel.py receive --stash "$STASH" || held=$?
    if [ "$held" -eq 3 ]; then  # pieces still to come: say what this machine is, for the record
        "$PYTHON" --version
        nvidia-smi -L 2>&1 || true
        echo "CUDA library folders: $("$PYTHON" scripts/gpu_check.py --print-library-path)"
        exit 0
    elif [ "$held" -ne 0 ]; then
        exit "$held"
    fi
    "$PYTHON" scripts/gpu_wheel.py install --stash "$STASH" --target "$STASH/site"
    site="$STASH/site"
    libs=$("$PYTHON" scripts/gpu_check.py --print-library-path)
    if [ -n "$libs" ]; then
        export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    else
        echo "warning: no nvidia/*/lib folders beside $PYTHON's packages: CUDA must come from the system's loader"
    fi
fi

# The carried onnxruntime-gpu first, ahead of the image's own CPU onnxruntime; then this checkout.
bin=$("$PYTHON" scripts/gpu_check.py --make-shim "$STASH/shim")
export PYTHONPATH="${site:+$site:}$STASH/shim${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$bin:$PATH"
"$PYTHON" scripts/gpu_check.py --device "$device" --out "$OUT" "$@"

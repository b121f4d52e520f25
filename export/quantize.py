"""The opt-in int8 decoder: `decoder.int8.onnx` beside `decoder.onnx` in a model directory.

Data flow: checkpoint -> **export** (this file: the int8 decoder) -> model directory -> runtime.

    manifold upscale tiles/ --res 64 --precision int8

onnxruntime's dynamic quantization of the decoder's MatMuls: the weights are stored as int8,
one scale per output feature (per channel); each activation is quantized to uint8 on the fly
with its own range, multiplied in integers (AVX-512 VNNI where the CPU has it) and scaled
back to float. A MatMul whose weights make that too coarse stays fp32 (see MAX_ROW_RATIO).
Everything else (positional embedding, GELU, residual adds, sigmoid) stays
fp32. `manifold export` writes it for every model; `quantize_model_dir` adds it to an
existing model directory (`manifold export --add-int8 MODEL`). BENCHMARKS.md has its speed and
its PSNR against fp32 on held-out tiles.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from manifold_core.files import atomic_write

INT8_DECODER = "decoder.int8.onnx"
RECIPE = "onnxruntime dynamic quantization of the decoder MatMuls: int8 weights per output channel, uint8 activations"


# A MatMul stays fp32 when one input feature's weights are this many times larger than the
# median feature's. Batch-norm folded into a block's first layer does that to features with a
# small spread: one shared uint8 range for the whole activation then rounds exactly those
# features too coarsely. In the seed model only block 1's first layer (7.4x; the next is
# 4.8x) is kept: quantizing every MatMul costs 1.19 dB of PSNR, this one fp32 0.11 dB (BENCHMARKS.md).
MAX_ROW_RATIO = 6.0


def ill_conditioned_matmuls(model, max_row_ratio: float = MAX_ROW_RATIO) -> list[str]:
    """Names of the MatMul nodes whose weight [K, N] has a row (input feature) max above the ratio."""
    import numpy as np
    from onnx import numpy_helper

    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    names = []
    for node in model.graph.node:
        w = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is not None and w.ndim == 2 and w.shape[0] > 1:
            row_max = np.abs(w).max(axis=1)
            if row_max.max() > max_row_ratio * max(np.median(row_max), 1e-12):
                names.append(node.name)
    return names


def quantize_decoder(decoder_path: str | Path, out_path: str | Path) -> list[str]:
    """decoder.onnx (fp32) -> the same graph with dynamically quantized MatMuls; returns those kept fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = ill_conditioned_matmuls(onnx.load(str(decoder_path)))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a generic pre-processing hint on every call
    try:
        quantize_dynamic(str(decoder_path), str(out_path), op_types_to_quantize=["MatMul"], nodes_to_exclude=keep,
                         per_channel=True, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return keep


def quantize_model_dir(model_dir: str | Path) -> dict:
    """Write decoder.int8.onnx into a model directory and note it in model.json; returns the note."""
    model_dir = Path(model_dir)
    kept: list[str] = []
    # a model folder's own files (its model.json says so): replaced as they are
    atomic_write(model_dir / INT8_DECODER, lambda tmp: kept.extend(quantize_decoder(model_dir / "decoder.onnx", tmp)),
                 replace_unmarked=True)
    card_path = model_dir / "model.json"
    card = json.loads(card_path.read_text())
    card["int8"] = {"decoder": INT8_DECODER, "recipe": RECIPE, "kept_fp32": kept}
    atomic_write(card_path, lambda tmp: tmp.write_text(json.dumps(card, indent=2) + "\n"), replace_unmarked=True)
    return card["int8"]


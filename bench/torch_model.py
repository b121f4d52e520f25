"""The exported model as PyTorch: the kind's own class (manifold_train.registry) built from a model
directory's model.json `architecture` and `weights.safetensors` (the exported function,
batch-norm folded, under the model's layer names).

The bench counts FLOPs on it (`Autoencoder.flops`, torch.utils.flop_counter): no formula of its
own to keep in step with the model.
"""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from manifold_core.card import read_card
from manifold_export.onnx_export import WEIGHTS
from manifold_train.config import ModelConfig
from manifold_train.kinds import build_model
from manifold_train.model import Autoencoder


def torch_model(model_dir: str | Path, weights: bool = True) -> Autoencoder:
    """The model kind's PyTorch module for an exported model directory, in eval mode.

    With `weights`, weights.safetensors is loaded (strictly): batch-norm layers it has no
    entries for were folded by export and become identities. Without it (FLOP counting on a
    directory exported before weights.safetensors existed) the layers keep their initial values:
    the FLOP count depends on the architecture only."""
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    model = build_model(ModelConfig.from_dict(card.architecture), card.coordinates)
    if weights:
        from safetensors.torch import load_file

        path = model_dir / WEIGHTS
        if not path.is_file():
            raise FileNotFoundError(f"{model_dir}: no {WEIGHTS} (exported before it was written); export the "
                                    f"model again with `manifold export`")
        state = load_file(path)
        for name, module in list(model.named_modules()):
            for child_name, child in list(module.named_children()):
                full = f"{name}.{child_name}" if name else child_name
                if isinstance(child, nn.modules.batchnorm._BatchNorm) and f"{full}.weight" not in state:
                    setattr(module, child_name, nn.Identity())  # folded into the next layer by export
        model.load_state_dict(state)
    return model.eval()


def flop_model(model_dir: str | Path) -> Autoencoder:
    """The model whose `flops(in_h, in_w, out_h, out_w)` the bench reports: the exported function where
    weights.safetensors exists, else the architecture alone (the count does not depend on the values)."""
    try:
        return torch_model(model_dir)
    except FileNotFoundError:
        return torch_model(model_dir, weights=False)

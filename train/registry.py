"""The model kinds by name (ModelConfig.decoder): the trainer, export and bench build models here.

Data flow: config -> **registry** -> model (global_code.py, local_grid.py) -> trainer, export.

Adding a kind: one module with one `Autoencoder` subclass (see model.py for what it owns),
one line below, its name in config.DECODER_KINDS, and its tests.
"""

from __future__ import annotations

from .config import DECODER_KINDS, ModelConfig
from .global_code import GlobalCode
from .local_grid import LocalGrid
from .model import Autoencoder

KINDS: dict[str, type[Autoencoder]] = {"global": GlobalCode, "local": LocalGrid}
assert tuple(KINDS) == DECODER_KINDS, "config.DECODER_KINDS must name the registry's kinds"


def build_model(config: ModelConfig, coordinates: str = "center") -> Autoencoder:
    return KINDS[config.decoder](config, coordinates)

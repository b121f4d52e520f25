"""The model kinds by name: one module each in this folder, registered with `@register`.

Data flow: config -> **kinds** (global_code.py, local_grid.py, ...) -> trainer, export, bench.

A kind is one module holding its config (a `ModelConfig` subclass with its own fields and
checks), its presets and its `Autoencoder` subclass, decorated with `@register("name")`. Every
module here is imported when this package is, so adding a kind is adding its module (and its
name to the kind contract test's list, tests/train/test_kinds.py). Nothing outside a kind
asks which kind it is: the trainer, export and bench read the attributes of model.py's
`Autoencoder`, and the runtime reads model.json.
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import build_model, config_from_dict, get, names, parameter_counts, preset, presets, register

__all__ = ["build_model", "config_from_dict", "get", "names", "parameter_counts", "preset", "presets", "register"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")

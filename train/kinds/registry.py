"""The registry of model kinds: `@register`, lookups by name, presets, building a model.

Data flow: config -> **kinds** -> trainer, export, bench. The kind modules beside this one import
it to register themselves; the package's __init__ imports every kind module.
"""


from __future__ import annotations

import torch

from ..config import ModelConfig
from ..model import Autoencoder

_KINDS: dict[str, type[Autoencoder]] = {}


def register(name: str):
    """Class decorator: the kind `name`; a second kind under a name already taken is refused."""

    def add(cls: type[Autoencoder]) -> type[Autoencoder]:
        if name in _KINDS:
            raise ValueError(f"model kind {name!r} is registered twice ({_KINDS[name].__module__} and {cls.__module__})")
        if not (isinstance(cls, type) and issubclass(cls, Autoencoder)):
            raise TypeError(f"model kind {name!r}: {cls!r} is not an Autoencoder subclass")
        if cls.Config.kind != name:
            raise ValueError(f"model kind {name!r}: its config says kind {cls.Config.kind!r}")
        cls.kind = name
        _KINDS[name] = cls
        return cls

    return add


def names() -> tuple[str, ...]:
    return tuple(_KINDS)


def get(name: str) -> type[Autoencoder]:
    if name not in _KINDS:
        raise KeyError(f"unknown model kind {name!r}; this manifold knows: {', '.join(_KINDS)}")
    return _KINDS[name]


def build_model(config: ModelConfig, coordinates: str = "center") -> Autoencoder:
    return get(config.kind)(config, coordinates)


def presets() -> dict[str, ModelConfig]:
    """Every kind's named presets (a name belongs to one kind)."""
    found: dict[str, ModelConfig] = {}
    for cls in _KINDS.values():
        for name, config in cls.presets.items():
            if name in found:
                raise ValueError(f"preset {name!r} is declared by two kinds")
            found[name] = config
    return found


def preset(name: str, channels: int | None = None) -> ModelConfig:
    """A named preset; `channels` changes only the in/out channel counts."""
    every = presets()
    if name not in every:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(every)}")
    return every[name].replace(channels=channels) if channels else every[name]


def config_from_dict(d: dict) -> ModelConfig:
    """A saved config as its kind's config class. Old flat configs name the kind `decoder` (or not
    at all: the seed's global kind) and may hold every kind's fields: the other kinds' are dropped."""
    import dataclasses

    d = dict(d)
    kind = d.pop("kind", None) or d.pop("decoder", None) or "global"
    d.pop("decoder", None)
    config_class = get(kind).Config
    mine = {f.name for f in dataclasses.fields(config_class)}
    anyone = set().union(*({f.name for f in dataclasses.fields(c.Config)} for c in _KINDS.values()))
    unknown = set(d) - anyone - set(config_class.renamed)
    if unknown:
        raise ValueError(f"unknown model config keys: {sorted(unknown)}")
    for old, new in config_class.renamed.items():
        if old in d:
            d[new] = d.pop(old)
    return config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in mine})


def parameter_counts(config: ModelConfig) -> dict[str, int]:
    """Built on the meta device: no memory, no initialisation cost."""
    with torch.device("meta"):
        model = build_model(config)
    count = lambda m: sum(p.numel() for p in m.parameters())
    return {"encoder_params": count(model.encoder), "decoder_params": count(model.decoder)}


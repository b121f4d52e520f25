"""Every hyper-parameter of the autoencoder in one dataclass, and the named presets.

The presets reproduce the rows of the seed log's parameter table (DESIGN.md) exactly;
`tests/train/test_model.py` checks the counts. Pure Python: no torch, so the CLI can list
presets and read configs without the `[train]` extra.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ACTIVATIONS = ("gelu", "relu", "silu")


@dataclass(frozen=True)
class ModelConfig:
    # data
    channels: int = 1  # 1 grey, 3 RGB, 4 RGBA
    size: int = 32  # tiles are size x size at the encoder's input
    code_size: int = 128
    # encoder (DALL-E VQ-VAE encoder, small)
    vocab_size: int = 128  # channels of the encoder's last 1x1 conv, before the linear layer
    n_hid: int = 64
    group_count: int = 4
    n_blk_per_group: int = 1
    space_to_depth: bool = True  # False: 2x2 max-pool between groups
    activation: str = "gelu"
    # decoder ("manifold": code, x, y -> colour)
    decoder_n_hid: int = 128
    decoder_n_blk: int = 8
    decoder_n_layer: int = 2
    # one entry per block: "add" keeps the width, "concat" doubles it for the blocks after
    decoder_residual: tuple[str, ...] = ()
    pos_frequencies: tuple[float, ...] = (3.141592653589793,)
    batch_norm: bool = True

    def __post_init__(self):
        if not self.decoder_residual:
            object.__setattr__(self, "decoder_residual", ("add",) * self.decoder_n_blk)
        object.__setattr__(self, "decoder_residual", tuple(self.decoder_residual))
        object.__setattr__(self, "pos_frequencies", tuple(float(f) for f in self.pos_frequencies))
        if len(self.decoder_residual) != self.decoder_n_blk:
            raise ValueError(f"decoder_residual needs {self.decoder_n_blk} entries, got {len(self.decoder_residual)}")
        if set(self.decoder_residual) - {"add", "concat"}:
            raise ValueError(f"decoder_residual entries must be 'add' or 'concat': {self.decoder_residual}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.channels not in (1, 3, 4):
            raise ValueError(f"channels must be 1, 3 or 4, got {self.channels}")
        downsample = 2 ** (self.group_count - 1)
        if self.size % downsample:
            raise ValueError(f"size {self.size} must be a multiple of {downsample} for {self.group_count} groups")

    @property
    def pos_embedding_size(self) -> int:
        """x, y, then sin(f x), sin(f y), cos(f x), cos(f y) for each frequency f."""
        return 2 + 4 * len(self.pos_frequencies)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["decoder_residual"] = list(self.decoder_residual)
        d["pos_frequencies"] = list(self.pos_frequencies)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def replace(self, **changes) -> "ModelConfig":
        if "decoder_n_blk" in changes and "decoder_residual" not in changes:
            changes["decoder_residual"] = ()
        return dataclasses.replace(self, **changes)


def _seed(**decoder) -> ModelConfig:
    """The seed log's setup: 1-channel 32x32 tiles, the same encoder for every row."""
    return ModelConfig(channels=1, size=32, code_size=128, vocab_size=128, n_hid=64,
                       n_blk_per_group=1, activation="gelu", space_to_depth=True, **decoder)


PRESETS: dict[str, ModelConfig] = {
    "seed-b4-h64": _seed(decoder_n_blk=4, decoder_n_layer=2, decoder_n_hid=64),
    "seed-b8-h128": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=128),
    "seed-b8-l4-h128": _seed(decoder_n_blk=8, decoder_n_layer=4, decoder_n_hid=128),
    "seed-b16-l1-h128": _seed(decoder_n_blk=16, decoder_n_layer=1, decoder_n_hid=128),
    "seed-b16-h128": _seed(decoder_n_blk=16, decoder_n_layer=2, decoder_n_hid=128),
    "seed-b8-h300": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=300),
    "seed-b8-h256": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=256),
    "seed-b8-h64-concat": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=64,
                                decoder_residual=("concat", "add") * 4),
}


def preset(name: str, channels: int | None = None) -> ModelConfig:
    """A named preset; `channels` changes only the in/out channel counts."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    config = PRESETS[name]
    return config.replace(channels=channels) if channels else config

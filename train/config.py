"""Every hyper-parameter of the autoencoder in one dataclass, and the named presets.

Data flow: tiles -> dataset -> **model config** -> model (model.py and one module per kind)
-> trainer -> export -> runtime. `decoder` names the model kind (see DECODER_KINDS):

    global  the seed's autoencoder: one code per tile, decoder (code, x, y) -> colour
    local   a feature grid at the input's resolution, decoder (nearest cells, offset, cell size) -> colour

The seed presets reproduce the rows of the seed log's parameter table exactly (the table is
in docs/ARCHITECTURE.md; `tests/train/test_model.py` checks the counts). Pure Python: no
torch, so the CLI can list presets and read configs without the `[train]` extra.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ACTIVATIONS = ("gelu", "relu", "silu")
DECODER_KINDS = ("global", "local")  # the model registry's names (manifold_train.registry)
COORDINATES = ("center", "corner")  # pixel centres, or the seed's corner-aligned grid (model.py says why)
TRAIN_PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class ModelConfig:
    decoder: str = "global"  # the model kind: "global" (one code per tile) or "local" (a feature grid)
    # data
    channels: int = 1  # 1 grey, 3 RGB, 4 RGBA
    size: int = 32  # global: tiles are size x size at the encoder's input; local: the training tile size
    code_size: int = 128
    # global encoder (DALL-E VQ-VAE encoder, small)
    latent_channels: int = 128  # channels of the encoder's last 1x1 conv, before the linear layer
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
    # local kind (local_grid.py): conv encoder at the input's resolution, LIIF-style decoder
    local_width: int = 32  # encoder channels
    local_blocks: int = 2  # residual blocks (two 3x3 convs each) between the stem and the head
    local_latent: int = 48  # feature width per grid cell = decoder hidden width
    local_layers: int = 2  # hidden layers of the decoder's MLP
    local_pad: int = 7  # edge padding (clamp or wrap) around the input: the encoder's reach + 1, so wrap is exact

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
        if self.decoder not in DECODER_KINDS:
            raise ValueError(f"decoder must be one of {DECODER_KINDS}, got {self.decoder!r}")
        reach = 2 + 2 * self.local_blocks  # pixels the local encoder's 3x3 convs see beyond a cell
        if self.local_pad < reach + 1:  # + 1: the decoder reads one ring of cells beyond the tile
            raise ValueError(f"local_pad must be at least {reach + 1} for {self.local_blocks} blocks (so wrapped "
                             f"edges are exact), got {self.local_pad}")
        if self.channels not in (1, 3, 4):
            raise ValueError(f"channels must be 1, 3 or 4, got {self.channels}")
        downsample = 2 ** (self.group_count - 1)
        if self.decoder == "global" and self.size % downsample:
            raise ValueError(f"size {self.size} must be a multiple of {downsample} for {self.group_count} groups")

    @property
    def pos_embedding_size(self) -> int:
        """x, y, then sin(f x), sin(f y), cos(f x), cos(f y) for each frequency f."""
        return 2 + 4 * len(self.pos_frequencies)

    def to_dict(self) -> dict:
        """The fields this kind uses (from_dict fills the others with their defaults)."""
        d = dataclasses.asdict(self)
        d["decoder_residual"] = list(self.decoder_residual)
        d["pos_frequencies"] = list(self.pos_frequencies)
        unused = LOCAL_FIELDS if self.decoder == "global" else GLOBAL_FIELDS
        return {k: v for k, v in d.items() if k not in unused}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        if "vocab_size" in d:  # the name before 2026-11-28
            d["latent_channels"] = d.pop("vocab_size")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def replace(self, **changes) -> "ModelConfig":
        if "decoder_n_blk" in changes and "decoder_residual" not in changes:
            changes["decoder_residual"] = ()
        return dataclasses.replace(self, **changes)


LOCAL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig) if f.name.startswith("local_")}
GLOBAL_FIELDS = {"code_size", "latent_channels", "n_hid", "group_count", "n_blk_per_group", "space_to_depth",
                 "decoder_n_hid", "decoder_n_blk", "decoder_n_layer", "decoder_residual", "pos_frequencies",
                 "batch_norm"}


def _seed(**decoder) -> ModelConfig:
    """The seed log's setup: 1-channel 32x32 tiles, the same encoder for every row."""
    return ModelConfig(channels=1, size=32, code_size=128, latent_channels=128, n_hid=64,
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
    # the local kind: RGBA, trained for upscaling (see MODEL.md for what each size measured)
    "local-w32": ModelConfig(decoder="local", channels=4, size=32, activation="relu", local_blocks=3, local_pad=9),
}


def preset(name: str, channels: int | None = None) -> ModelConfig:
    """A named preset; `channels` changes only the in/out channel counts."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    config = PRESETS[name]
    return config.replace(channels=channels) if channels else config


@dataclass
class TrainConfig:
    """Every training setting; `manifold train`'s options and their defaults are read from here."""

    data: list[str]
    out: str
    model: ModelConfig = field(default_factory=ModelConfig)
    preset: str = ""
    tile_size: int = 0  # > 0: inputs are tileset sheets of this tile size
    margin: int = 0
    spacing: int = 0
    val_percent: int = 10  # share of tiles held out for validation (split by content hash)
    max_inputs: int = 1_000_000  # tiles shown to the model (the seed's unit)
    batch_size: int = 64
    lr: float = 3e-4  # AdamW, cosine-annealed to 0 over the run
    weight_decay: float = 0.01
    std_mean_factor: float = 1e-4  # weight of the seed's code std/mean constraint (global kind)
    augment: bool = True  # random flips (and, for the global kind, the seed's 1-pixel shifts)
    coordinates: str = "center"
    # speed levers, measured in BENCHMARKS.md: the defaults are the fast set, 13.7x the seed's plain
    # fp32 step for seed-b8-h128 on a 2-core CPU with as good a validation loss after the same inputs
    pixels_per_tile: int = 128  # decoder loss on this many random pixels per tile; 0: every pixel
    precision: str = "auto"  # "bf16" autocast, "fp32", or "auto": bf16 where the hardware has it
    channels_last: bool = True  # encoder tensors in NHWC memory layout (same numbers)
    compile: bool = False  # torch.compile the forward pass (about even on a 2-core CPU, plus compile time)
    cache_embedding: bool = True  # global kind: embed the pixel grid once per run (same numbers)
    eval_every: int = 0  # inputs between validations; 0: 50 per run
    checkpoint_minutes: float = 5.0  # also checkpoint after this much wall time without one
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # torch intra-op threads; 0: torch's default

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    def problems(self) -> list[str]:
        """What is wrong with the numbers, as `--option value: why` lines (empty when all is well)."""
        bad = []
        if self.batch_size < 1:
            bad.append(f"--batch-size {self.batch_size}: must be at least 1")
        if self.max_inputs < 1:
            bad.append(f"--max-inputs {self.max_inputs}: must be at least 1")
        if not (self.lr > 0 and self.lr < float("inf")):
            bad.append(f"--lr {self.lr}: must be a positive number")
        if not (self.weight_decay >= 0 and self.weight_decay < float("inf")):
            bad.append(f"--weight-decay {self.weight_decay}: must be 0 or more")
        if not (self.std_mean_factor >= 0 and self.std_mean_factor < float("inf")):
            bad.append(f"--std-mean-factor {self.std_mean_factor}: must be 0 or more")
        if not 0 < self.val_percent < 100:
            bad.append(f"--val-percent {self.val_percent}: must be between 1 and 99")
        if self.pixels_per_tile < 0 or self.eval_every < 0 or self.threads < 0:
            bad.append("--pixels-per-tile, --eval-every and --threads must be 0 or more")
        if self.tile_size < 0 or self.margin < 0 or self.spacing < 0:
            bad.append("--tile-size, --margin and --spacing must be 0 or more")
        if self.precision not in TRAIN_PRECISIONS:
            bad.append(f"--precision {self.precision}: auto, fp32 or bf16")
        if self.coordinates not in COORDINATES:
            bad.append(f"--coordinates {self.coordinates}: one of {', '.join(COORDINATES)}")
        if not (self.checkpoint_minutes > 0):
            bad.append(f"checkpoint_minutes {self.checkpoint_minutes}: must be positive")
        return bad


TRAIN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                  if f.default is not dataclasses.MISSING}

"""The training settings in dataclasses: what every model kind's config shares, the upscaling
task, and the run.

Data flow: tiles -> dataset -> **config** -> model (manifold_train.kinds: one module per kind,
each with its own config subclass and presets) -> trainer -> export -> runtime.

Pure Python, no torch: the CLI builds `manifold train`'s options from TrainConfig's fields
(their defaults and help texts below) without the `[train]` extra.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

ACTIVATIONS = ("gelu", "relu", "silu")
COORDINATES = ("center", "corner")  # pixel centres, or the seed's corner-aligned grid (model.py says why)
TRAIN_PRECISIONS = ("auto", "fp32", "bf16")
DEGRADATIONS = ("box", "nearest", "bicubic", "majority")  # how the upscaling task shrinks a tile (manifold_train.task)
PHASES = ("center", "random")  # where nearest shrinking samples each footprint


@dataclass(frozen=True)
class ModelConfig:
    """What every model kind's config has. Each kind declares its own subclass beside its network
    (manifold_train.kinds), with its own fields and checks; `from_dict` finds it by `kind`."""

    kind: str = ""  # the registered kind (manifold_train.kinds): set by each kind's subclass
    channels: int = 1  # 1 grey, 3 RGB, 4 RGBA
    size: int = 32  # the training tile size (a kind that resamples its input: the encoder's input size)
    activation: str = "gelu"
    renamed: ClassVar[dict[str, str]] = {}  # old field name -> new, for configs saved before a rename

    def __post_init__(self):
        if self.channels not in (1, 3, 4):
            raise ValueError(f"channels must be 1, 3 or 4, got {self.channels}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        self.check()

    def check(self) -> None:
        """The kind's own rules (raise ValueError); a kind's config overrides it."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @staticmethod
    def from_dict(d: dict) -> ModelConfig:
        """A config as saved in a checkpoint or in model.json's `architecture`, as its kind's class;
        also the flat configs of before 2026-12-01 (the kind under `decoder`, or none: global)."""
        from .kinds import config_from_dict  # the kinds need torch; this module does not

        return config_from_dict(d)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TaskConfig:
    """The upscaling task (manifold_train.task) for the kinds that learn to upscale: a shrunk,
    degraded copy of each tile goes in, the tile is asked for. One scale and degradation per batch."""

    round_trip: float = 0.2  # share of batches at scale 1 (the input given back at its own size)
    scale_two: float = 0.4  # share at exactly 2x; the rest at a scale drawn from 1 to max_scale (fractional too)
    max_scale: float = 4.0
    degradations: tuple[str, ...] = ("box", "nearest", "bicubic")  # one drawn per batch (DEGRADATIONS)
    # nearest shrinking: "center" takes the pixel at each footprint's centre (as Pillow's NEAREST);
    # "random" a random offset inside the footprint per batch and axis (real low-resolution art has no phase)
    phase: str = "center"
    wrap: float = 0.25  # share of batches whose edges are wrapped (else clamped)

    def __post_init__(self):
        object.__setattr__(self, "degradations", tuple(self.degradations))

    def problems(self) -> list[str]:
        bad = []
        if not (0 <= self.round_trip and 0 <= self.scale_two and self.round_trip + self.scale_two <= 1):
            bad.append("task round_trip and scale_two: shares from 0 to 1 that add up to at most 1")
        if not 1 <= self.max_scale <= 16:
            bad.append(f"task max_scale {self.max_scale}: from 1 to 16")
        if not self.degradations or set(self.degradations) - set(DEGRADATIONS):
            bad.append(f"task degradations {self.degradations}: some of {', '.join(DEGRADATIONS)}")
        if self.phase not in PHASES:
            bad.append(f"task phase {self.phase!r}: one of {', '.join(PHASES)}")
        if not 0 <= self.wrap <= 1:
            bad.append(f"task wrap {self.wrap}: a share from 0 to 1")
        return bad


def option(default, help: str, choices: tuple[str, ...] = (), flag: str = ""):
    """A TrainConfig field that is also a `manifold train` option (the CLI reads this metadata)."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


@dataclass
class TrainConfig:
    """Every training setting; `manifold train`'s options, defaults and help are generated from here."""

    data: list[str]
    out: str
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    preset: str = ""
    tile_size: int = option(0, "Inputs are sheets cut into tiles of this size (0: one tile per image).")
    margin: int = option(0, "Sheet margin in pixels.")
    spacing: int = option(0, "Sheet spacing between tiles in pixels.")
    val_percent: int = option(10, "Share of tiles held out for validation (split by content hash), 1 to 99.")
    max_inputs: int = option(1_000_000, "Tiles to show the model (the seed's unit: 1M).")
    batch_size: int = option(64, "Tiles per optimisation step.")
    lr: float = option(3e-4, "AdamW learning rate, cosine-annealed to 0 over the run.")
    weight_decay: float = option(0.01, "AdamW weight decay.")
    std_mean_factor: float = option(1e-4, "Weight of the seed's code std/mean constraint (global kind).")
    augment: bool = option(True, "Random flips (and the seed's 1-pixel shifts, global kind).")
    coordinates: str = option("center", "Pixel centres, or the seed's corner-aligned grid.", COORDINATES)
    # speed levers, measured in BENCHMARKS.md: the defaults are the fast set, 16.8x the seed's plain
    # fp32 step for seed-b8-h128 on a 2-core CPU with as good a validation loss after the same inputs
    pixels_per_tile: int = option(128, "Decoder loss on this many random pixels per tile (0: every pixel, the "
                                       "seed's recipe): as good per input and much faster.")
    precision: str = option("auto", "bf16 autocast; auto: bf16 on a CPU with AVX-512 BF16 or AMX and on GPUs "
                                    "that support it, else fp32.", TRAIN_PRECISIONS)
    channels_last: bool = option(True, "Encoder tensors in NHWC layout (same numbers, a little faster on the CPU).")
    compile: bool = option(False, "torch.compile the forward pass (about even on a 2-core CPU, plus compile time; "
                                  "see BENCHMARKS.md).", flag="--compile")
    cache_embedding: bool = option(True, "Embed the pixel grid once per run (global kind; same numbers).")
    eval_every: int = option(0, "Inputs between validations and checkpoints (0: 50 per run).")
    checkpoint_minutes: float = 5.0  # also checkpoint after this much wall time without one
    seed: int = option(0, "Seed of every random draw (same seed, same run on the same machine).")
    device: str = option("cpu", "cpu or cuda.")
    threads: int = option(0, "CPU threads for torch (0: all cores).")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        d["task"] = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.task).items()}
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
        return bad + self.task.problems()


TRAIN_OPTIONS = [f for f in dataclasses.fields(TrainConfig) if "help" in f.metadata]  # `manifold train`'s options
TRAIN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}

"""What `manifold variants` does: render variants of one tile and write them (a folder, or one strip).

Data flow: a tile (tile_refs.py) -> variant masks (manifold_core.variants) -> composite rendering
(manifold_core.regenerate) -> **PNG files**.

    job = plan_variants("floor.png", 8, None, None, seed=0, strength=0.5)
    summary = run_variants(job, model, RenderOptions(...), advance)   # floor-variants/floor-1.png ... floor-8.png

`-o NAME.png` writes one strip instead: the variants side by side, a tileset sheet one row high.
The plain rendering of the tile (no patch) is rendered with them, to say how far each variant
is from it: the share of pixels that differ and the PSNR against it. All files are written
together or not at all; no input is ever an output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from manifold_core.errors import UsageError, shown
from manifold_core.files import Staging, inputs_protected
from manifold_core.regenerate import COMPOSITE_BATCH, render_composite, source_edges
from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.seams import join_report
from manifold_core.tiles import write_png
from manifold_core.variants import rolled_copies, shuffle

from .options import Scale, size_for
from .tile_refs import TileRef, read_tile_ref
from .upscale import Summary, check_memory, render_memory

MAX_VARIANTS = 64


@dataclass
class VariantsJob:
    ref: TileRef
    count: int
    height: int
    width: int
    seed: int
    strength: float
    folder: Path | None  # one PNG per variant in it, or
    strip: Path | None  # one PNG with them side by side

    @property
    def files(self) -> list[Path]:
        if self.strip is not None:
            return [self.strip]
        return [self.folder / f"{self.ref.name}-{k}.png" for k in range(1, self.count + 1)]


def plan_variants(text: str, count: int, out: Path | None, size: tuple[int, int] | Scale | None, seed: int = 0,
                  strength: float = 0.5) -> VariantsJob:
    """Read and check everything; nothing is written. size: (height, width), a Scale of the tile's
    own, or None for the tile's own."""
    if not 1 <= count <= MAX_VARIANTS:
        raise UsageError(f"-n {count}: give 1 to {MAX_VARIANTS} variants")
    if not 0 <= strength <= 1:
        raise UsageError(f"--strength {strength}: give a share from 0 (the tile itself) to 1 (all of its inside)")
    ref = read_tile_ref(text)
    height, width = size_for(size, *ref.tile.shape[:2], shown(text)) if size is not None else ref.tile.shape[:2]
    if out is not None and out.suffix.lower() == ".png":
        job = VariantsJob(ref, count, height, width, seed, strength, None, out)
    else:
        job = VariantsJob(ref, count, height, width, seed, strength, out or ref.path.with_name(f"{ref.name}-variants"),
                          None)
        if job.folder.exists() and not job.folder.is_dir():
            raise UsageError(f"-o {shown(job.folder)} is a file; give a folder, or a name ending in .png for a strip")
    for path in job.files:
        if any(path.resolve() == p.resolve() for p in ref.files):
            raise UsageError(f"{shown(path)} is an input; inputs are never written, choose another -o")
    return job


@dataclass
class VariantsSummary(Summary):
    joins: dict = field(default_factory=dict)
    changed: float = 0.0  # mean share of pixels that differ from the plain rendering
    psnr: float = 0.0  # mean PSNR (dB, RGBA) against it
    files: list[Path] = field(default_factory=list)


def render_variants(job: VariantsJob, model: TileModel, options: RenderOptions,
                    advance: Callable[[int], None] = lambda n: None) -> np.ndarray:
    """[1 + count, height, width, 4]: the plain rendering, then the variants."""
    tile = job.ref.tile[None]
    copies = rolled_copies(tile, job.count, job.seed)
    wraps = [edge == "wrap" for edge in source_edges(tile, options.edges)]

    def labels(cells_h: int, cells_w: int) -> np.ndarray:
        base = np.zeros((cells_h + 2, cells_w + 2), np.int64)
        return np.stack([shuffle(base, copies, k, job.strength, job.seed, wraps) for k in range(job.count + 1)])

    return render_composite(model, copies.sources, labels, job.height, job.width, options, advance)


def distance(plain: np.ndarray, variants: np.ndarray) -> tuple[float, float]:
    """(mean share of pixels that differ from `plain`, mean PSNR against it in dB, RGBA; 100 when equal)."""
    differ = (variants != plain[None]).any(-1).mean(axis=(1, 2))
    mse = ((variants.astype(np.float64) - plain[None].astype(np.float64)) ** 2).mean(axis=(1, 2, 3))
    psnr = np.where(mse > 0, 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-12)), 100.0)
    return float(differ.mean()), float(psnr.mean())


def run_variants(job: VariantsJob, model: TileModel, options: RenderOptions,
                 advance: Callable[[int], None] = lambda n: None) -> VariantsSummary:
    t0 = time.perf_counter()
    tiles = job.count + 1
    check_memory(render_memory(model, min(tiles, COMPOSITE_BATCH), job.height, job.width, job.ref.tile.shape[:2])
                 + 2 * 4 * tiles * job.height * job.width, f"{job.count} variants at {job.width}x{job.height}",
                 "choose a smaller --res or fewer variants")
    root = job.strip.parent if job.strip is not None else job.folder
    with inputs_protected(job.ref.files), Staging(root=root) as stage:
        stage.refuse_foreign(job.files)  # any of them a user's own file: the whole run is refused
        for path in job.files:
            stage.reserve(path)
        rendered = render_variants(job, model, options, advance)
        variants = rendered[1:]
        if job.strip is not None:
            strip = np.concatenate(list(variants), axis=1)
            stage.write_stream(job.strip, lambda f: write_png(f, strip))
        else:
            for path, rgba in zip(job.files, variants):
                stage.write_stream(path, lambda f, rgba=rgba: write_png(f, rgba))
        stage.commit()
    n = job.count
    pairs = [(i, j, axis) for i in range(n) for j in range(n) for axis in ("x", "y")]
    joins = join_report(variants, pairs, job.ref.tile[None])
    changed, psnr = distance(rendered[0], variants)
    return VariantsSummary(n, time.perf_counter() - t0, model.provider, job.strip or job.folder, joins=joins,
                           changed=changed, psnr=psnr, files=job.files)

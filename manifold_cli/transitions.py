"""What `manifold transitions` does: read two terrains, render their Wang set, write a sheet and a .tsx.

Data flow: tiles (tile_refs.py) -> Wang masks (manifold_core.wang) -> composite rendering
(manifold_core.regenerate) -> **a sheet and a Tiled tileset with a Wang set** -> Tiled's terrain brush.

    job = plan_transitions("grass.png", "sand.png", None, (64, 64), "corner", variants=2, seed=0, boundary="noisy")
    summary = run_transitions(job, model, RenderOptions(...), advance)   # writes grass-sand.png + grass-sand.tsx

The sheet holds one block per copy of the set (the set itself, then each variant), each block
`wang.columns` tiles wide; the .tsx is Tiled 1.8's format (what Tiled 1.8.2 itself writes for a
Wang set: <wangsets><wangset type="corner|edge|mixed"> with two <wangcolor>s named after the
inputs and one <wangtile> per tile), with a <tile probability> for each tile when there are
variants, so the terrain brush picks among a tile's copies evenly. Both files are written
together or not at all (manifold_core.files); no input is ever an output.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from manifold_core.errors import UsageError, UserError, shown
from manifold_core.files import Staging, inputs_protected, xml_declaration
from manifold_core.regenerate import COMPOSITE_BATCH, grid_latent, render_composite, source_edges
from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.seams import join_report
from manifold_core.tiles import write_png
from manifold_core.variants import rolled_copies, shuffle
from manifold_core.wang import A, B, boundary_scale, min_cells, neighbours, tile_masks, wang_set

from .options import Scale, size_for
from .tile_refs import TileRef, read_tile_ref
from .upscale import Summary, check_memory, render_memory

MAX_VARIANTS = 15
VARIANT_STRENGTH = 0.5  # how much of a variant's inside comes from shifted copies (see manifold_core.variants)
TSX_VERSION = "1.8"  # the format version Tiled 1.8 writes (and 1.9 to 1.12 read)


@dataclass
class TransitionsJob:
    a: TileRef
    b: TileRef
    tsx: Path
    png: Path
    height: int
    width: int
    kind: str
    variants: int = 0
    seed: int = 0
    boundary: str = "noisy"
    inputs: set[Path] = field(default_factory=set)

    @property
    def copies(self) -> int:
        return self.variants + 1

    @property
    def tiles(self) -> int:
        return len(wang_set(self.kind)) * self.copies

    @property
    def name(self) -> str:
        return self.tsx.stem


def plan_transitions(a_text: str, b_text: str, out: Path | None, size: tuple[int, int] | Scale,
                     kind: str = "corner", variants: int = 0, seed: int = 0, boundary: str = "noisy") -> TransitionsJob:
    """Read and check everything; nothing is written. size: the new tiles' (height, width), or a
    Scale of the terrain tiles' own."""
    if not 0 <= variants <= MAX_VARIANTS:
        raise UsageError(f"--variants {variants}: give 0 to {MAX_VARIANTS} variants per Wang tile")
    a, b = read_tile_ref(a_text), read_tile_ref(b_text)
    if a.tile.shape != b.tile.shape:
        raise UserError(f"{shown(a_text)} is {a.tile.shape[1]}x{a.tile.shape[0]} px and {shown(b_text)} "
                        f"{b.tile.shape[1]}x{b.tile.shape[0]} px: give two terrain tiles of one size")
    height, width = size_for(size, *a.tile.shape[:2], "the terrain tile")
    try:
        boundary_scale(boundary, a.tile.shape[1])
    except ValueError:
        raise UsageError(f"--boundary {boundary!r}: give smooth, noisy or a bump size in source pixels "
                         f"(a number above 0, like 4)") from None
    tsx = out if out is not None else a.path.parent / f"{a.name}-{b.name}.tsx"
    if tsx.is_dir():
        tsx = tsx / f"{a.name}-{b.name}.tsx"
    if tsx.suffix.lower() != ".tsx":
        raise UsageError(f"-o {shown(tsx)}: name the tileset to write, ending in .tsx (its sheet is written "
                         f"beside it as .png)")
    png = tsx.with_suffix(".png")
    for path in (tsx, png):
        if any(path.resolve() == p.resolve() for p in a.files | b.files):
            raise UsageError(f"{shown(path)} is an input; inputs are never written, choose another -o")
    return TransitionsJob(a, b, tsx, png, height, width, kind, variants, seed, boundary, a.files | b.files)


def sheet_layout(count: int, columns: int, copies: int) -> tuple[int, int]:
    """(rows per copy's block, sheet rows): each copy starts on a new row."""
    block_rows = -(-count // columns)
    return block_rows, block_rows * copies


def tile_id(job: TransitionsJob, copy: int, index: int) -> int:
    wang = wang_set(job.kind)
    block_rows, _ = sheet_layout(len(wang), wang.columns, job.copies)
    return copy * block_rows * wang.columns + index


def render_transitions(job: TransitionsJob, model: TileModel, options: RenderOptions,
                       advance: Callable[[int], None] = lambda n: None) -> np.ndarray:
    """[copies * tiles, height, width, 4]: the set, then each variant of it, in sheet order."""
    wang = wang_set(job.kind)
    originals = np.stack([job.a.tile, job.b.tile])
    steps = model.passes(*originals.shape[1:3], job.height, job.width)
    cells = min(steps[-2] if len(steps) > 1 else originals.shape[1:3]) if grid_latent(model) \
        else min(job.height, job.width)
    if cells < min_cells():
        raise UsageError(f"the tiles are drawn on a grid of {cells} cells, too few for a Wang set's bands; give "
                         f"tiles or a --res of at least {min_cells()} px")
    copies = rolled_copies(originals, job.variants, job.seed)
    wraps = [edge == "wrap" for edge in source_edges(originals, options.edges)]

    def labels(cells_h: int, cells_w: int) -> np.ndarray:
        out = []
        for copy in range(job.copies):
            masks = tile_masks(wang, cells_h, cells_w, job.seed, job.boundary, originals.shape[2], variant=copy)
            out += [shuffle(np.where(m, 1, 0), copies, copy, VARIANT_STRENGTH, job.seed, wraps, key=(i,))
                    for i, m in enumerate(masks)]
        return np.stack(out)

    rendered = render_composite(model, copies.sources, labels, job.height, job.width, options, advance)
    return rendered


def sheet_image(job: TransitionsJob, rendered: np.ndarray) -> np.ndarray:
    wang = wang_set(job.kind)
    _, rows = sheet_layout(len(wang), wang.columns, job.copies)
    sheet = np.zeros((rows * job.height, wang.columns * job.width, 4), np.uint8)
    for copy in range(job.copies):
        for index in range(len(wang)):
            r, c = divmod(tile_id(job, copy, index), wang.columns)
            sheet[r * job.height:(r + 1) * job.height, c * job.width:(c + 1) * job.width] = \
                rendered[copy * len(wang) + index]
    return sheet


def hex_colour(tile: np.ndarray) -> str:
    """The mean colour of a tile's visible pixels, #rrggbb (what the Terrain Sets view shows)."""
    seen = tile[tile[..., 3] > 0][:, :3]
    mean = seen.mean(0) if len(seen) else np.zeros(3)
    return "#" + "".join(f"{int(round(c)):02x}" for c in mean)


def tsx_root(job: TransitionsJob) -> ET.Element:
    wang = wang_set(job.kind)
    block_rows, rows = sheet_layout(len(wang), wang.columns, job.copies)
    root = ET.Element("tileset", {"version": TSX_VERSION, "name": job.name, "tilewidth": str(job.width),
                                  "tileheight": str(job.height), "tilecount": str(rows * wang.columns),
                                  "columns": str(wang.columns)})
    ET.SubElement(root, "image", {"source": job.png.name, "width": str(wang.columns * job.width),
                                  "height": str(rows * job.height)})
    if job.variants:
        for copy in range(job.copies):
            for index in range(len(wang)):
                ET.SubElement(root, "tile", {"id": str(tile_id(job, copy, index)),
                                             "probability": f"{1 / job.copies:.4g}"})
    sets = ET.SubElement(root, "wangsets")
    mixed = next(i for i, wid in enumerate(wang.ids) if A in wid and B in wid)
    wangset = ET.SubElement(sets, "wangset", {"name": job.name, "type": wang.tiled_type, "tile": str(mixed)})
    for ref, colour in ((job.a, A), (job.b, B)):
        ET.SubElement(wangset, "wangcolor", {"name": ref.name, "color": hex_colour(ref.tile),
                                             "tile": str(wang.pure(colour)), "probability": "1"})
    for copy in range(job.copies):
        for index, wid in enumerate(wang.ids):
            ET.SubElement(wangset, "wangtile", {"tileid": str(tile_id(job, copy, index)),
                                                "wangid": ",".join(str(c) for c in wid)})
    ET.indent(root, " ")
    return root


def tsx_bytes(root: ET.Element) -> bytes:
    """The .tsx bytes, opening with manifold's mark (files.xml_declaration) so a rerun may replace it."""
    return xml_declaration() + ET.tostring(root, encoding="unicode").encode() + b"\n"


def all_pairs(job: TransitionsJob) -> list[tuple[int, int, str]]:
    """Every pair of rendered tiles (in render order) that Tiled may put side by side, copies included."""
    n = len(wang_set(job.kind))
    return [(ka * n + i, kb * n + j, axis) for i, j, axis in neighbours(wang_set(job.kind))
            for ka in range(job.copies) for kb in range(job.copies)]


@dataclass
class TransitionsSummary(Summary):
    joins: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def run_transitions(job: TransitionsJob, model: TileModel, options: RenderOptions,
                    advance: Callable[[int], None] = lambda n: None) -> TransitionsSummary:
    """Render the set and write the sheet and the .tsx, both or neither."""
    t0 = time.perf_counter()
    for ref in (job.a, job.b):
        try:
            ref.name.encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(f"{shown(ref.path)}: its name is not UTF-8 and cannot go into the .tsx; rename it") from None
    sheet_bytes = 2 * 4 * job.tiles * job.height * job.width
    check_memory(render_memory(model, min(job.tiles, COMPOSITE_BATCH), job.height, job.width, job.a.tile.shape[:2])
                 + sheet_bytes, f"{job.tiles} tiles at {job.width}x{job.height}", "choose a smaller --res or fewer "
                 "--variants")
    with inputs_protected(job.inputs), Staging(root=job.tsx.parent) as stage:
        stage.refuse_foreign([job.png, job.tsx])  # a user's own file at either name: refused before the work
        stage.reserve(job.png)  # an output that cannot be written fails before the work
        stage.reserve(job.tsx)
        rendered = render_transitions(job, model, options, advance)
        sheet = sheet_image(job, rendered)
        stage.write_stream(job.png, lambda f: write_png(f, sheet))
        stage.write_stream(job.tsx, lambda f: f.write(tsx_bytes(tsx_root(job))))
        stage.commit()
    joins = join_report(rendered, all_pairs(job), np.stack([job.a.tile, job.b.tile]))
    return TransitionsSummary(job.tiles, time.perf_counter() - t0, model.provider, job.tsx, joins=joins,
                              files=[job.tsx, job.png])

"""Tiled tilesets (.tsx) and maps (.tmx): upscale every tileset and write files Tiled opens.

Data flow: tiles (Tiled files, read by manifold_core.tiled) -> runtime -> **CLI output for Tiled**
-> plugins/tiled.

    plan = TiledPlan.make(Path("level.tmx"), None, (64, 64))   # reads and checks everything, writes nothing
    summary = plan.run(model, RenderOptions())               # renders, then writes all files at once

A tileset becomes a new .tsx beside a new sheet image (or a folder of images for an
image-collection tileset) with its tile size, margin, spacing, image size, tile offset,
per-tile sub-rectangles and collision shapes scaled; everything else in the XML is kept.
A map becomes a new .tmx whose tilesets point to the new files, with its tile size, layer
offsets and object coordinates scaled so it still lines up; tile layer data (GIDs) is
untouched, so every tile index stays the same.

Output names are built only from checked parts: the output folder, the relative folders of
paths that stay inside the input's folder, file stems, whole-number tile ids. No output may be
a file the Tiled files name (read or not: image layers, templates, file properties), and every
output lies under the output folder, reached without following a symlink. Outputs go to
temporary names (manifold_core.files) and are renamed only after every one of them was
written, with Ctrl-C and SIGTERM held back during the renames: all of them or none.
"""

from __future__ import annotations

import math
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from manifold_core.errors import OutputError, UsageError, UserError, shown
from manifold_core.files import Staging, xml_declaration
from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.tiled import (
    INT_LIMIT,
    TILED_SUFFIXES,
    Tileset,
    finite,
    inside,
    int_attr,
    is_plain_relative,
    read_tiled,
)
from manifold_core.tiles import Sheet, write_png

from .options import Scale, size_for
from .upscale import (
    Plan,
    Summary,
    check_memory,
    check_sheet_memory,
    render_memory,
    render_sheet,
    resolution_tag,
    scale_length,
    scaled_grid,
    size_tag,
)

LAYER_TAGS = ("layer", "objectgroup", "imagelayer", "group")
__all__ = ["TILED_SUFFIXES", "TiledPlan", "plan_tiled", "write_tiled"]


# ---------------------------------------------------------------- the plan
@dataclass
class SheetJob:
    sheet: Sheet
    target: Path
    height: int  # new tile size
    width: int


@dataclass
class ImageJob:
    """One tile of an image-collection tileset."""

    tile: np.ndarray
    target: Path
    height: int
    width: int


@dataclass
class TiledPlan(Plan):
    source: Path
    output: Path  # the new .tsx or .tmx
    root: Path = None  # the output folder: every file goes under it
    sheets: list[SheetJob] = field(default_factory=list)
    images: list[ImageJob] = field(default_factory=list)
    documents: list[tuple[ET.Element, Path]] = field(default_factory=list)
    inputs: set[Path] = field(default_factory=set)  # every file the Tiled files read or name
    height: int = 0  # the new tile size of the map (or tileset)
    width: int = 0

    @classmethod
    def make(cls, source: Path, out: Path | None, size: tuple[int, int] | Scale,
             allow_outside: bool = False) -> "TiledPlan":
        return plan_tiled(source, out, size, allow_outside)

    @property
    def tiles(self) -> int:
        return sum(len(job.sheet.tiles) for job in self.sheets) + len(self.images)

    @property
    def files(self) -> list[Path]:
        return ([job.target for job in self.sheets] + [job.target for job in self.images]
                + [target for _, target in self.documents])

    def render(self, model: TileModel, options: RenderOptions, advance: Callable[[int], None]) -> Summary:
        return write_tiled(model, self, advance, options)


# ---------------------------------------------------------------- scaling XML
def xml_bytes(root: ET.Element) -> bytes:
    """The file's bytes, opening with manifold's mark (files.xml_declaration): a rerun replaces it,
    and once Tiled has saved it again (dropping the comment) it is the user's."""
    return xml_declaration() + ET.tostring(root, encoding="unicode").encode() + b"\n"


def number(value: float) -> str:
    """Tiled's own style: whole numbers without a decimal point, others with up to 4 decimals.
    A ValueError for inf or nan (a coordinate near the float maximum, scaled)."""
    if not math.isfinite(value):
        raise ValueError(value)
    if abs(value - round(value)) < 1e-6:
        return str(int(round(value)))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def scale_attr(elem: ET.Element, name: str, factor: float, where: str, whole: bool = False) -> None:
    text = elem.get(name)
    if text is None or factor == 1:
        return
    try:
        value = finite(text)
    except ValueError:
        raise UserError(f"{where}: <{elem.tag} {name}={text[:40]!r}> is not a number") from None
    try:
        elem.set(name, str(scale_whole(value, factor)) if whole else number(value * factor))
    except (ValueError, OverflowError):
        raise UserError(f"{where}: <{elem.tag} {name}={text[:40]!r}> is too large to scale by {factor:g}") from None


def scale_whole(value: float, factor: float) -> int:
    """A whole-number attribute scaled, within Tiled's 32-bit numbers; a ValueError beyond them."""
    scaled = value * factor
    if not math.isfinite(scaled) or abs(scaled) > INT_LIMIT:
        raise ValueError(scaled)
    return scale_length(int(value), factor)


def scale_points(text: str, fx: float, fy: float, where: str) -> str:
    try:
        pairs = [tuple(finite(v) for v in point.split(",")) for point in text.split()]
        return " ".join(f"{number(x * fx)},{number(y * fy)}" for x, y in pairs)
    except (ValueError, OverflowError):
        raise UserError(f"{where}: polygon points {text[:40]!r} are not 'x,y x,y ...'") from None


def scale_objects(group: ET.Element, fx: float, fy: float, where: str) -> None:
    """Objects of one object group: position, size, polygon and polyline points, text size."""
    for obj in group.iter("object"):
        for name, factor in (("x", fx), ("y", fy), ("width", fx), ("height", fy)):
            scale_attr(obj, name, factor, where)
        for shape in obj:
            if shape.tag in ("polygon", "polyline") and shape.get("points"):
                shape.set("points", scale_points(shape.get("points"), fx, fy, where))
            elif shape.tag == "text" and min(fx, fy) != 1:
                size = int_attr(shape, "pixelsize", where, default=16)  # Tiled's default
                try:
                    shape.set("pixelsize", str(max(1, scale_whole(size, min(fx, fy)))))
                except ValueError:
                    raise UserError(f"{where}: <text pixelsize=\"{size}\"> is too large to scale") from None


def scale_layers(parent: ET.Element, fx: float, fy: float, where: str) -> None:
    """Layer offsets and objects, recursing into groups (not into tilesets: they scale on their own)."""
    for layer in parent:
        if layer.tag not in LAYER_TAGS:
            continue
        scale_attr(layer, "offsetx", fx, where)
        scale_attr(layer, "offsety", fy, where)
        if layer.tag == "objectgroup":
            scale_objects(layer, fx, fy, where)
        elif layer.tag == "group":
            scale_layers(layer, fx, fy, where)


def rebase(ref: str, old_dir: Path, new_dir: Path) -> str:
    """A relative path written in a file in old_dir, as written in a file in new_dir."""
    if not ref or not is_plain_relative(ref) or old_dir.absolute() == new_dir.absolute():
        return ref
    target = os.path.normpath(os.path.join(old_dir.absolute(), ref))
    try:
        return Path(os.path.relpath(target, new_dir.absolute())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(target).as_posix()


def rebase_file_properties(root: ET.Element, old_dir: Path, new_dir: Path) -> None:
    for prop in root.iter("property"):
        if prop.get("type") == "file" and prop.get("value"):
            prop.set("value", rebase(prop.get("value"), old_dir, new_dir))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "tileset"


# ---------------------------------------------------------------- planning
class Planner:
    """Turns what manifold_core.tiled read into the new files: scales the XML in place and claims
    an output name for every image."""

    def __init__(self, found, out_dir: Path):
        self.found = found
        self.out_dir = out_dir
        # a reference that is a folder (source=".") protects no file, and must not fence off the output folder
        self.inputs: set[Path] = {p for p in found.references if not os.path.isdir(p)}
        self.claimed: set[Path] = set()
        self.plan: TiledPlan | None = None

    def claim(self, path: Path, exact: bool = False) -> Path:
        """A unique output path: `name-2.ext`, `name-3.ext`... when taken by another output or by a file
        the Tiled files name. `exact`: the user named it; keep it (check_plan refuses it if it is one)."""
        if exact:
            self.claimed.add(path.resolve())
            return path
        candidate, n = path, 2
        while candidate.resolve() in self.claimed or candidate.resolve() in self.inputs:
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
        self.claimed.add(candidate.resolve())
        return candidate

    def tileset(self, tileset: Tileset, new_dir: Path, fx: float, fy: float, stem: Path) -> None:
        """Scale one tileset's element in place; its images are written relative to `new_dir`, the
        folder of the file that will hold the element. The new sheet image is `stem` + .png; an
        image collection goes into the folder `stem`."""
        elem, where, grid = tileset.element, tileset.where, tileset.grid
        new_tw, new_th = max(1, scale_length(tileset.tile_width, fx)), max(1, scale_length(tileset.tile_height, fy))
        new_grid = scaled_grid(grid, new_th, new_tw)
        elem.set("tilewidth", str(new_tw))
        elem.set("tileheight", str(new_th))
        for attr, value in (("margin", new_grid.margin), ("spacing", new_grid.spacing)):
            if elem.get(attr) is not None:
                elem.set(attr, str(value))
        for child in elem:
            if child.tag == "tileoffset":
                scale_attr(child, "x", fx, where, whole=True)
                scale_attr(child, "y", fy, where, whole=True)
            elif child.tag == "grid":
                scale_attr(child, "width", fx, where, whole=True)
                scale_attr(child, "height", fy, where, whole=True)
        for tile in elem.findall("tile"):
            for attr, factor in (("x", fx), ("y", fy), ("width", fx), ("height", fy)):
                scale_attr(tile, attr, factor, where, whole=True)
            for group in tile.findall("objectgroup"):
                scale_objects(group, fx, fy, where)
        if tileset.sheet is not None:
            found = tileset.sheet
            target = self.claim(stem.with_name(f"{stem.name}.png"))
            self.plan.sheets.append(SheetJob(found.sheet, target, new_th, new_tw))
            image = found.element
            image.set("source", Path(os.path.relpath(target, new_dir)).as_posix())
            image.set("width", str(new_grid.extent(found.sheet.cols, new_tw)))
            image.set("height", str(new_grid.extent(found.sheet.rows, new_th)))
            image.attrib.pop("trans", None)  # the new sheet has real transparency
        for found in tileset.images:
            under = inside(found.ref)
            relative = under.with_suffix(".png") if under else Path(f"{found.id}-{found.path.stem}.png")
            target = self.claim(stem / relative)
            height = max(1, scale_length(found.rgba.shape[0], fy))
            width = max(1, scale_length(found.rgba.shape[1], fx))
            self.plan.images.append(ImageJob(found.rgba, target, height, width))
            found.element.set("source", Path(os.path.relpath(target, new_dir)).as_posix())
            found.element.set("width", str(width))
            found.element.set("height", str(height))
            found.element.attrib.pop("trans", None)

    def external_tileset(self, tileset: Tileset, new_tsx: Path, fx: float, fy: float) -> Path:
        """Scale a .tsx file's tileset into the new tileset file `new_tsx`."""
        self.tileset(tileset, new_tsx.parent, fx, fy, new_tsx.with_name(new_tsx.stem))
        rebase_file_properties(tileset.element, tileset.base, new_tsx.parent)
        self.plan.documents.append((tileset.element, new_tsx))
        return new_tsx


def output_dir(source: Path, out: Path | None) -> tuple[Path, Path | None]:
    """(folder for the outputs, the main output file if -o named one)."""
    if out is None:
        return source.parent, None
    if out.suffix.lower() == source.suffix.lower():
        return out.parent, out
    if out.suffix.lower() in TILED_SUFFIXES:
        raise UsageError(f"-o {shown(out)}: a {source.suffix} makes a {source.suffix} (and its images); "
                         f"give a folder or a {source.suffix} file name")
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {shown(out)} is a file; give a folder, or a {source.suffix} file name")
    return out, None


def new_tag(tileset: Tileset, fx: float, fy: float) -> str:
    return resolution_tag(max(1, scale_length(tileset.tile_height, fy)), max(1, scale_length(tileset.tile_width, fx)))


def plan_tiled(source: Path, out: Path | None, size: tuple[int, int] | Scale,
               allow_outside: bool = False) -> TiledPlan:
    """Read and check a .tsx or .tmx and everything it uses (manifold_core.tiled); nothing is written.
    `size`: the new tile size (height, width) of the map or tileset, or a Scale of its own."""
    if source.suffix.lower() not in TILED_SUFFIXES:
        raise UserError(f"{shown(source)}: not a Tiled tileset (.tsx) or map (.tmx)")
    out_dir, named = output_dir(source, out)
    found = read_tiled(source, allow_outside)
    height, width = size_for(size, found.tile_height, found.tile_width, f"{shown(source)}'s tile")
    tag = size_tag(size)
    planner = Planner(found, out_dir)
    fx, fy = width / found.tile_width, height / found.tile_height
    if not found.is_map:
        target = planner.claim(named or out_dir / f"{source.stem}-{tag}.tsx", exact=named is not None)
        planner.plan = TiledPlan(source, target, out_dir, inputs=planner.inputs, height=height, width=width)
        planner.external_tileset(found.tilesets[0].tileset, target, fx, fy)
        return check_plan(planner)

    root, where, base = found.root, shown(source), source.parent
    target = planner.claim(named or out_dir / f"{source.stem}-{tag}.tmx", exact=named is not None)
    planner.plan = TiledPlan(source, target, out_dir, inputs=planner.inputs, height=height, width=width)
    root.set("tilewidth", str(width))
    root.set("tileheight", str(height))
    scale_attr(root, "hexsidelength", fx if root.get("staggeraxis") == "x" else fy, where, whole=True)
    scale_attr(root, "parallaxoriginx", fx, where)
    scale_attr(root, "parallaxoriginy", fy, where)
    done: dict[int, str] = {}
    for index, use in enumerate(found.tilesets):
        tileset = use.tileset
        if use.ref is None:  # embedded
            if tileset.sheet is not None:  # a sheet: named after its image, kept in its subfolder
                under = inside(tileset.sheet.ref)
                folder = out_dir / under.parent if under else out_dir
                stem = Path(tileset.sheet.ref).stem
            else:  # an image collection: a folder named after the tileset
                folder, stem = out_dir, safe_name(use.element.get("name") or f"tileset{index + 1}")
            planner.tileset(tileset, target.parent, fx, fy, folder / f"{stem}-{new_tag(tileset, fx, fy)}")
            continue
        if id(tileset) not in done:
            under = inside(use.ref)
            folder = out_dir / under.parent if under else out_dir
            new_tsx = planner.external_tileset(tileset, folder / f"{tileset.file.stem}-{new_tag(tileset, fx, fy)}.tsx",
                                               fx, fy)
            done[id(tileset)] = Path(os.path.relpath(new_tsx, target.parent)).as_posix()
        use.element.set("source", done[id(tileset)])
    scale_layers(root, fx, fy, where)
    for layer in root.iter("imagelayer"):
        for image in layer.findall("image"):
            if image.get("source"):
                image.set("source", rebase(image.get("source"), base, target.parent))
    for obj in root.iter("object"):
        if obj.get("template"):
            obj.set("template", rebase(obj.get("template"), base, target.parent))
    rebase_file_properties(root, base, target.parent)
    planner.plan.documents.append((root, target))
    return check_plan(planner)


def check_plan(planner: Planner) -> TiledPlan:
    plan = planner.plan
    for root, target in plan.documents:  # before rendering: a name that is not UTF-8 cannot go into the XML
        try:
            xml_bytes(root)
        except UnicodeEncodeError:
            names = [shown(v) for e in root.iter() for v in e.attrib.values() if not _utf8(v)]
            raise UserError(f"{shown(target)} would name {names[0] if names else 'a file'}, whose name is not "
                            f"UTF-8 text, which a Tiled file cannot hold; rename it (or choose another -o)") from None
    for path in plan.files:
        if path.resolve() in planner.inputs:
            raise UsageError(f"{shown(path)} is a file the Tiled files read or name; inputs are never "
                             f"overwritten, choose another -o")
        if os.path.normpath(path.parent.absolute()) != os.path.normpath(plan.root.absolute()) and \
                not Path(os.path.normpath(path.absolute())).is_relative_to(os.path.normpath(plan.root.absolute())):
            raise UserError(f"{shown(path)} would leave the output folder {shown(plan.root)}; refused")
        if path.exists() and path.is_dir():
            raise OutputError(f"{shown(path)} is a folder; cannot write a file there, choose another -o")
    return plan


# ---------------------------------------------------------------- writing
def write_tiled(model: TileModel, plan: TiledPlan, advance: Callable[[int], None] = lambda n: None,
                options: RenderOptions = RenderOptions()) -> Summary:
    """Render every tileset of the plan and write all its files; none of them if anything fails.

    Memory and the output locations are checked (every temporary is made) before rendering."""
    t0 = time.perf_counter()
    for job in plan.sheets:
        check_sheet_memory(model, job.sheet, job.height, job.width, shown(job.target))
    groups: dict[tuple, list[ImageJob]] = {}
    for job in plan.images:  # tiles of one size rendered at one size go together
        groups.setdefault((job.tile.shape, job.height, job.width), []).append(job)
    for (_, height, width), jobs in groups.items():
        check_memory(render_memory(model, len(jobs), height, width),
                     f"{len(jobs)} tiles of an image collection at {width}x{height}", "choose a smaller --res")
    with Staging(root=plan.root) as staging:
        staging.refuse_foreign(plan.files)  # a user's own file at any output name: nothing is rendered or written
        for path in plan.files:
            staging.reserve(path)
        for job in plan.sheets:
            image, _ = render_sheet(model, job.sheet, job.height, job.width, options, advance)
            staging.write_stream(job.target, lambda f, image=image: write_png(f, image))
        for (_, height, width), jobs in groups.items():
            rendered = np.concatenate(list(model.render(np.stack([j.tile for j in jobs]), height, width, options)))
            for job, rgba in zip(jobs, rendered):
                staging.write_stream(job.target, lambda f, rgba=rgba: write_png(f, rgba))
            advance(len(jobs))
        for root, target in plan.documents:
            staging.write_stream(target, lambda f, root=root: f.write(xml_bytes(root)))
        staging.commit()
    return Summary(plan.tiles, time.perf_counter() - t0, model.provider, plan.output)

"""Tiled tilesets (.tsx) and maps (.tmx): upscale every tileset and write files Tiled opens.

Data flow: tiles (Tiled files) -> runtime -> **CLI input/output for Tiled** -> plugins/tiled.

    plan = plan_tiled(Path("level.tmx"), None, 64, 64)   # reads and checks everything, writes nothing
    summary = write_tiled(model, plan)                   # renders, then writes all files at once

A tileset becomes a new .tsx beside a new sheet image (or a folder of images for an
image-collection tileset) with its tile size, margin, spacing, image size, tile offset,
per-tile sub-rectangles and collision shapes scaled; everything else in the XML is kept.
A map becomes a new .tmx whose tilesets point to the new files, with its tile size, layer
offsets and object coordinates scaled so it still lines up; tile layer data (GIDs) is
untouched, so every tile index stays the same.

Safety: XML is parsed with defusedxml and any DOCTYPE is refused (Tiled never writes one),
so no entity is ever expanded or fetched. Image and tileset paths that leave the folder of
the file naming them are refused unless `allow_outside`. Inputs are never written; outputs
go to temporary names (manifold_core.files) and are renamed only after every one of them was
written; an error or an interruption leaves none of them.
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
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from manifold_core.errors import OutputError, UsageError, UserError, shown
from manifold_core.files import Staging
from manifold_core.runtime import TileModel
from manifold_core.tiles import Grid, read_rgba, slice_sheet, write_png

from .upscale import (
    Sheet,
    Summary,
    check_memory,
    check_sheet_memory,
    render_memory,
    render_sheet,
    resolution_tag,
    scale_length,
    scaled_grid,
)

TILED_SUFFIXES = (".tsx", ".tmx")
LAYER_TAGS = ("layer", "objectgroup", "imagelayer", "group")


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
class TiledPlan:
    source: Path
    output: Path  # the new .tsx or .tmx
    sheets: list[SheetJob] = field(default_factory=list)
    images: list[ImageJob] = field(default_factory=list)
    documents: list[tuple[ET.Element, Path]] = field(default_factory=list)
    inputs: set[Path] = field(default_factory=set)  # every file it read, resolved (never an output)

    @property
    def tiles(self) -> int:
        return sum(len(job.sheet.tiles) for job in self.sheets) + len(self.images)

    @property
    def files(self) -> list[Path]:
        return ([job.target for job in self.sheets] + [job.target for job in self.images]
                + [target for _, target in self.documents])


# ---------------------------------------------------------------- reading XML
def parse_xml(path: Path, root_tag: str) -> ET.Element:
    """Parse a Tiled XML file safely: a UserError for broken XML, a DOCTYPE or entities, or the wrong root."""
    if not path.is_file():  # also refuses a FIFO or a device before opening it
        raise UserError(f"{shown(path)}: no such file" if not path.exists() else
                        f"{shown(path)}: not a regular file; give a .tsx or .tmx file")
    parser = DefusedXMLParser(target=ET.TreeBuilder(insert_comments=True), forbid_dtd=True)
    try:
        with open(path, "rb") as stream:
            while block := stream.read(1 << 16):
                parser.feed(block)
            root = parser.close()
    except ET.ParseError as exc:
        raise UserError(f"{shown(path)}: broken XML, {exc}") from None
    except DefusedXmlException:
        raise UserError(f"{shown(path)}: has a DOCTYPE or entity declarations, which Tiled never writes; "
                        f"refused (entities are never expanded or fetched)") from None
    except (OSError, UnicodeError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding=
        raise UserError(f"{shown(path)}: cannot be read as XML ({exc.__class__.__name__}: {exc})") from None
    if root.tag != root_tag:
        raise UserError(f"{shown(path)}: not a Tiled {'tileset' if root_tag == 'tileset' else 'map'} "
                        f"(its root element is <{root.tag}>, not <{root_tag}>)")
    return root


def xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode() + b"\n"


def int_attr(elem: ET.Element, name: str, where: str, default: int | None = None) -> int:
    text = elem.get(name)
    if text is None:
        if default is None:
            raise UserError(f"{where}: <{elem.tag}> has no {name}")
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{where}: <{elem.tag} {name}=\"{text}\"> is not a whole number") from None


def tile_size(elem: ET.Element, where: str) -> tuple[int, int]:
    """(tilewidth, tileheight) of a <map> or <tileset>, each at least 1."""
    tw, th = int_attr(elem, "tilewidth", where), int_attr(elem, "tileheight", where)
    if tw < 1 or th < 1:
        raise UserError(f"{where}: tile size {tw}x{th} must be at least 1x1")
    return tw, th


def number(value: float) -> str:
    """Tiled's own style: whole numbers without a decimal point, others with up to 4 decimals."""
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
    elem.set(name, str(scale_length(int(value), factor)) if whole else number(value * factor))


def finite(text: str) -> float:
    """A number as Tiled writes one; a ValueError for text, inf and nan (which no map holds)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def scale_points(text: str, fx: float, fy: float, where: str) -> str:
    try:
        pairs = [tuple(finite(v) for v in point.split(",")) for point in text.split()]
        return " ".join(f"{number(x * fx)},{number(y * fy)}" for x, y in pairs)
    except ValueError:
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
                shape.set("pixelsize", str(max(1, scale_length(size, min(fx, fy)))))


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


def is_plain_relative(ref: str) -> bool:
    return not (os.path.isabs(ref) or "://" in ref or ref.startswith(":") or re.match(r"^[A-Za-z]:[\\/]", ref))


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


def apply_trans(rgba: np.ndarray, trans: str | None, where: str) -> np.ndarray:
    """Tiled's `trans` colour key: pixels of that colour become transparent."""
    if not trans:
        return rgba
    text = trans.lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", text):
        raise UserError(f"{where}: trans=\"{trans}\" is not a colour like ff00ff")
    key = np.array([int(text[i:i + 2], 16) for i in (0, 2, 4)], np.uint8)
    rgba = rgba.copy()
    rgba[(rgba[..., :3] == key).all(axis=-1)] = 0
    return rgba


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "tileset"


# ---------------------------------------------------------------- planning
class Planner:
    def __init__(self, source: Path, allow_outside: bool):
        self.allow_outside = allow_outside
        self.inputs: set[Path] = {source.resolve()}
        self.claimed: set[Path] = set()
        self.plan: TiledPlan | None = None

    # paths
    def resolve_ref(self, base: Path, ref: str | None, what: str, where: str) -> Path:
        if not ref:
            raise UserError(f"{where}: an <{'image' if what == 'image' else 'tileset'}> without a source path")
        path = base / ref
        if not self.allow_outside and not path.resolve().is_relative_to(base.resolve()):
            raise UserError(f"{where}: {what} {ref!r} is outside the folder {shown(base)}; refused "
                            f"(pass --allow-outside to read it anyway)")
        if not path.is_file():
            raise UserError(f"{where}: {what} {ref!r} not found or not a regular file (looked for {shown(path)})")
        self.inputs.add(path.resolve())
        return path

    def inside(self, base: Path, ref: str) -> Path | None:
        """The relative path of ref under base, or None when it leaves base."""
        normal = Path(os.path.normpath(ref))
        if not is_plain_relative(ref) or normal.parts[:1] == ("..",):
            return None
        return normal

    def claim(self, path: Path, exact: bool = False) -> Path:
        """A unique output path: `name-2.ext`, `name-3.ext`... when taken by another output or an input.

        `exact`: the user named it; keep it (check_plan refuses it if it is an input).
        """
        candidate, n = path, 2
        if exact:
            self.claimed.add(path.resolve())
            return path
        while candidate.resolve() in self.claimed or candidate.resolve() in self.inputs:
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
        self.claimed.add(candidate.resolve())
        return candidate

    # tilesets
    def tileset(self, elem: ET.Element, base: Path, new_dir: Path, fx: float, fy: float, where: str,
                stem: Path) -> None:
        """Scale one <tileset> element in place: image paths are read relative to `base` and written
        relative to `new_dir`, the folder of the file that will hold the element.

        The new sheet image is `stem` + .png; an image collection goes into the folder `stem`.
        """
        tw, th = tile_size(elem, where)
        new_tw, new_th = max(1, scale_length(tw, fx)), max(1, scale_length(th, fy))
        grid = Grid(tw, th, int_attr(elem, "margin", where, 0), int_attr(elem, "spacing", where, 0))
        if grid.margin < 0 or grid.spacing < 0:
            raise UserError(f"{where}: margin {grid.margin} and spacing {grid.spacing} must not be negative")
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
        image = elem.find("image")
        if image is not None:
            self.sheet(image, grid, base, stem.with_name(f"{stem.name}.png"), new_dir, new_th, new_tw, where)
        for tile in elem.findall("tile"):
            for attr, factor in (("x", fx), ("y", fy), ("width", fx), ("height", fy)):
                scale_attr(tile, attr, factor, where, whole=True)
            for group in tile.findall("objectgroup"):
                scale_objects(group, fx, fy, where)
            tile_image = tile.find("image")
            if tile_image is not None and image is None:
                self.collection_image(tile, tile_image, base, stem, new_dir, fx, fy, where)

    def sheet(self, image: ET.Element, grid: Grid, base: Path, target: Path, new_dir: Path,
              new_th: int, new_tw: int, where: str) -> None:
        path = self.resolve_ref(base, image.get("source"), "image", where)
        rgba = apply_trans(read_rgba(path), image.get("trans"), where)
        height, width = rgba.shape[:2]
        # Tiled's own count: the margin on the far side may be missing, extra pixels are ignored.
        cols = (width - grid.margin + grid.spacing) // (grid.tile_width + grid.spacing)
        rows = (height - grid.margin + grid.spacing) // (grid.tile_height + grid.spacing)
        if cols < 1 or rows < 1:
            raise UserError(f"{where}: image {image.get('source')!r} is {width}x{height} px, too small for one "
                            f"{grid.tile_width}x{grid.tile_height} tile with margin {grid.margin} (at least "
                            f"{grid.margin + grid.tile_width}x{grid.margin + grid.tile_height} px)")
        full = np.zeros((grid.extent(rows, grid.tile_height), grid.extent(cols, grid.tile_width), 4), np.uint8)
        h, w = min(height, full.shape[0]), min(width, full.shape[1])
        full[:h, :w] = rgba[:h, :w]
        sheet = Sheet(slice_sheet(full, grid, where), cols, rows, grid)
        target = self.claim(target)
        self.plan.sheets.append(SheetJob(sheet, target, new_th, new_tw))
        new_grid = scaled_grid(grid, new_th, new_tw)
        image.set("source", Path(os.path.relpath(target, new_dir)).as_posix())
        image.set("width", str(new_grid.extent(cols, new_tw)))
        image.set("height", str(new_grid.extent(rows, new_th)))
        image.attrib.pop("trans", None)  # the new sheet has real transparency

    def collection_image(self, tile: ET.Element, image: ET.Element, base: Path, folder: Path, new_dir: Path,
                         fx: float, fy: float, where: str) -> None:
        ref = image.get("source")
        path = self.resolve_ref(base, ref, "image", where)
        rgba = apply_trans(read_rgba(path), image.get("trans"), where)
        inside = self.inside(base, ref)
        relative = inside.with_suffix(".png") if inside else Path(f"{tile.get('id', 'tile')}-{path.stem}.png")
        target = self.claim(folder / relative)
        height, width = max(1, scale_length(rgba.shape[0], fy)), max(1, scale_length(rgba.shape[1], fx))
        self.plan.images.append(ImageJob(rgba, target, height, width))
        image.set("source", Path(os.path.relpath(target, new_dir)).as_posix())
        image.set("width", str(width))
        image.set("height", str(height))
        image.attrib.pop("trans", None)

    def external_tileset(self, tsx: Path, root: ET.Element, new_tsx: Path, fx: float, fy: float) -> Path:
        """Scale a .tsx file's parsed `root` into the new tileset `new_tsx`."""
        self.tileset(root, tsx.parent, new_tsx.parent, fx, fy, str(tsx), new_tsx.with_name(new_tsx.stem))
        rebase_file_properties(root, tsx.parent, new_tsx.parent)
        self.plan.documents.append((root, new_tsx))
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


def plan_tiled(source: Path, out: Path | None, height: int, width: int, allow_outside: bool = False) -> TiledPlan:
    """Read and check a .tsx or .tmx and everything it uses; nothing is written."""
    suffix = source.suffix.lower()
    if suffix not in TILED_SUFFIXES:
        raise UserError(f"{shown(source)}: not a Tiled tileset (.tsx) or map (.tmx)")
    out_dir, named = output_dir(source, out)
    tag = resolution_tag(height, width)
    planner = Planner(source, allow_outside)
    if suffix == ".tsx":
        root = parse_xml(source, "tileset")
        tw, th = tile_size(root, shown(source))
        target = planner.claim(named or out_dir / f"{source.stem}-{tag}.tsx", exact=named is not None)
        planner.plan = TiledPlan(source, target)
        planner.external_tileset(source, root, target, width / tw, height / th)
        return check_plan(planner)

    root = parse_xml(source, "map")
    where = shown(source)
    tw, th = tile_size(root, where)
    fx, fy = width / tw, height / th
    target = planner.claim(named or out_dir / f"{source.stem}-{tag}.tmx", exact=named is not None)
    planner.plan = TiledPlan(source, target)
    base = source.parent
    root.set("tilewidth", str(width))
    root.set("tileheight", str(height))
    scale_attr(root, "hexsidelength", fx if root.get("staggeraxis") == "x" else fy, where, whole=True)
    scale_attr(root, "parallaxoriginx", fx, where)
    scale_attr(root, "parallaxoriginy", fy, where)
    done: dict[Path, str] = {}
    for index, tileset in enumerate(root.findall("tileset")):
        ref = tileset.get("source")
        if ref is None:  # embedded
            name = tileset.get("name") or f"tileset{index + 1}"
            ts_where = f"{where} (tileset {name!r})"
            image = tileset.find("image")
            if image is not None and image.get("source"):  # a sheet: named after its image, kept in its subfolder
                inside = planner.inside(base, image.get("source"))
                folder = out_dir / inside.parent if inside else out_dir
                stem = Path(image.get("source")).stem
            else:  # an image collection: a folder named after the tileset
                folder, stem = out_dir, safe_name(name)
            ts_tw, ts_th = tile_size(tileset, ts_where)
            new_tag = resolution_tag(max(1, scale_length(ts_th, fy)), max(1, scale_length(ts_tw, fx)))
            planner.tileset(tileset, base, target.parent, fx, fy, ts_where, folder / f"{stem}-{new_tag}")
            continue
        if not ref.lower().endswith(".tsx"):
            raise UserError(f"{where}: tileset {ref!r} is not a .tsx file; only XML tilesets can be upscaled "
                            f"(save it as .tsx in Tiled)")
        tsx = planner.resolve_ref(base, ref, "tileset", where)
        key = tsx.resolve()
        if key not in done:
            ts_root = parse_xml(tsx, "tileset")  # parsed once, scaled by external_tileset
            ts_tw, ts_th = tile_size(ts_root, shown(tsx))
            new_tag = resolution_tag(max(1, scale_length(ts_th, fy)), max(1, scale_length(ts_tw, fx)))
            inside = planner.inside(base, ref)
            folder = out_dir / inside.parent if inside else out_dir
            new_tsx = planner.external_tileset(tsx, ts_root, folder / f"{tsx.stem}-{new_tag}.tsx", fx, fy)
            done[key] = Path(os.path.relpath(new_tsx, target.parent)).as_posix()
        tileset.set("source", done[key])
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
    planner.plan.inputs = set(planner.inputs)
    for path in planner.plan.files:
        if path.resolve() in planner.inputs:
            raise UsageError(f"{shown(path)} is an input; inputs are never overwritten, choose another -o")
        if path.exists() and path.is_dir():
            raise OutputError(f"{shown(path)} is a folder; cannot write a file there, choose another -o")
    return planner.plan


# ---------------------------------------------------------------- writing
def write_tiled(model: TileModel, plan: TiledPlan, advance: Callable[[int], None] = lambda n: None) -> Summary:
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
    with Staging() as staging:
        for path in plan.files:
            staging.reserve(path)
        for job in plan.sheets:
            image, _ = render_sheet(model, job.sheet, job.height, job.width, advance)
            staging.write(job.target, lambda p, image=image: write_png(p, image))
        for (_, height, width), jobs in groups.items():
            rendered = np.concatenate(list(model.render(np.stack([j.tile for j in jobs]), height, width)))
            for job, rgba in zip(jobs, rendered):
                staging.write(job.target, lambda p, rgba=rgba: write_png(p, rgba))
            advance(len(jobs))
        for root, target in plan.documents:
            staging.write(target, lambda p, root=root: p.write_bytes(xml_bytes(root)))
        staging.commit()
    return Summary(plan.tiles, time.perf_counter() - t0, model.provider, plan.output)

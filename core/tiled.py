"""Reading Tiled tilesets (.tsx) and maps (.tmx): parsed, validated, their images read as tiles.

Data flow: **Tiled files** -> tiles for `manifold upscale` (manifold_cli/tiled.py writes the new
files) and for `manifold eval` (manifold_eval/inputs.py scores their tiles).

    found = read_tiled(Path("level.tmx"))     # reads every tileset and image it uses; writes nothing
    for use in found.tilesets: use.tileset.sheet, use.tileset.images ...
    found.references                           # every file it names, read or not (never an output)

Safety: XML is parsed with defusedxml and any DOCTYPE is refused (Tiled never writes one), so no
entity is ever expanded or fetched. Image and tileset paths that leave the folder of the file
naming them are refused unless `allow_outside`. Numbers are checked where they are read: whole
numbers are Tiled's 32-bit ones, tile ids are whole numbers (they become file names), and no
value is inf or nan.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .errors import UserError, shown
from .tiles import Grid, Sheet, read_rgba, slice_sheet

TILED_SUFFIXES = (".tsx", ".tmx")
INT_LIMIT = 2**31 - 1  # Tiled's whole numbers are 32-bit


# ---------------------------------------------------------------- what a Tiled file holds
@dataclass
class SheetImage:
    """A tileset's one image, cut into its cells (Tiled's own count: a missing far margin is fine)."""

    element: ET.Element  # the <image>
    ref: str  # its path as the file writes it
    path: Path
    sheet: Sheet


@dataclass
class CollectionImage:
    """One tile of an image-collection tileset."""

    tile: ET.Element  # the <tile>
    element: ET.Element  # its <image>
    ref: str
    path: Path
    id: int
    rgba: np.ndarray


@dataclass
class Tileset:
    element: ET.Element  # the <tileset>: a .tsx's root, or inside a map for an embedded one
    base: Path  # the folder its image paths are relative to
    where: str  # how error lines name it
    tile_width: int
    tile_height: int
    grid: Grid
    sheet: SheetImage | None = None
    images: list[CollectionImage] = field(default_factory=list)
    file: Path | None = None  # its .tsx, for an external tileset


@dataclass
class TilesetUse:
    """A <tileset> of a map (or the root of a .tsx): embedded, or naming a .tsx (shared when two
    name the same file)."""

    element: ET.Element
    tileset: Tileset
    ref: str | None = None  # the .tsx as the map names it; None: embedded (or the .tsx itself)


@dataclass
class TiledFile:
    source: Path
    root: ET.Element
    is_map: bool
    tile_width: int
    tile_height: int
    tilesets: list[TilesetUse] = field(default_factory=list)
    read: set[Path] = field(default_factory=set)  # every file read, resolved
    references: set[Path] = field(default_factory=set)  # every file any of them names, read or not, resolved


# ---------------------------------------------------------------- reading XML
def parse_xml(path: Path, root_tag: str) -> ET.Element:
    """Parse a Tiled XML file safely: a UserError for broken XML, a DOCTYPE or entities, or the wrong root."""
    try:
        regular = path.is_file()
    except OSError as exc:
        raise UserError(f"{shown(path)}: cannot be looked up ({exc.strerror})") from None
    if not regular:  # also refuses a FIFO or a device before opening it
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


def int_attr(elem: ET.Element, name: str, where: str, default: int | None = None) -> int:
    """A whole-number attribute within Tiled's 32-bit range; a UserError otherwise."""
    text = elem.get(name)
    if text is None:
        if default is None:
            raise UserError(f"{where}: <{elem.tag}> has no {name}")
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{where}: <{elem.tag} {name}=\"{text[:40]}\"> is not a whole number") from None
    if abs(value) > INT_LIMIT:
        raise UserError(f"{where}: <{elem.tag} {name}=\"{text[:40]}\"> is larger than Tiled's numbers go")
    return value


def tile_size(elem: ET.Element, where: str) -> tuple[int, int]:
    """(tilewidth, tileheight) of a <map> or <tileset>, each at least 1."""
    tw, th = int_attr(elem, "tilewidth", where), int_attr(elem, "tileheight", where)
    if tw < 1 or th < 1:
        raise UserError(f"{where}: tile size {tw}x{th} must be at least 1x1")
    return tw, th


def finite(text: str) -> float:
    """A number as Tiled writes one; a ValueError for text, inf and nan (which no map holds)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def is_plain_relative(ref: str) -> bool:
    return not (os.path.isabs(ref) or "://" in ref or ref.startswith(":") or re.match(r"^[A-Za-z]:[\\/]", ref))


def inside(ref: str) -> Path | None:
    """A relative path as a normalised path that stays under its folder, or None when it leaves it."""
    normal = Path(os.path.normpath(ref))
    if not is_plain_relative(ref) or normal.parts[:1] == ("..",) or str(normal) == ".":
        return None
    return normal


def apply_trans(rgba: np.ndarray, trans: str | None, where: str) -> np.ndarray:
    """Tiled's `trans` colour key: pixels of that colour become transparent."""
    if not trans:
        return rgba
    text = trans.lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", text):
        raise UserError(f"{where}: trans={trans[:40]!r} is not a colour like ff00ff")
    key = np.array([int(text[i:i + 2], 16) for i in (0, 2, 4)], np.uint8)
    rgba = rgba.copy()
    rgba[(rgba[..., :3] == key).all(axis=-1)] = 0
    return rgba


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a name the system cannot take
        return None


def named_files(root: ET.Element, base: Path) -> set[Path]:
    """Every file the document names, resolved: tilesets, images (image layers too), templates and
    file properties; whether manifold reads it or not, none of them may become an output."""
    refs = []
    for elem in root.iter():
        for attr in ("source", "template"):
            if elem.get(attr):
                refs.append(elem.get(attr))
        if elem.tag == "property" and elem.get("type") == "file" and elem.get("value"):
            refs.append(elem.get("value"))
    found = set()
    for ref in refs:
        if is_plain_relative(ref) or os.path.isabs(ref):
            path = _resolved(base / ref)
            if path is not None:
                found.add(path)
    return found


# ---------------------------------------------------------------- the reader
class _Reader:
    def __init__(self, source: Path, allow_outside: bool):
        self.allow_outside = allow_outside
        self.read: set[Path] = {source.resolve()}
        self.references: set[Path] = set()

    def resolve_ref(self, base: Path, ref: str | None, what: str, where: str) -> Path:
        if not ref:
            raise UserError(f"{where}: an <{'image' if what == 'image' else 'tileset'}> without a source path")
        path = base / ref
        resolved = _resolved(path)
        if resolved is None:
            raise UserError(f"{where}: {what} {ref[:80]!r} cannot be followed (a symbolic link loop?)")
        if not self.allow_outside and not resolved.is_relative_to(base.resolve()):
            raise UserError(f"{where}: {what} {ref[:80]!r} is outside the folder {shown(base)}; refused "
                            f"(pass --allow-outside to read it anyway)")
        try:
            regular = path.is_file()
        except OSError as exc:  # a name too long for the system, say
            raise UserError(f"{where}: {what} {ref[:80]!r} cannot be looked up ({exc.strerror})") from None
        if not regular:
            raise UserError(f"{where}: {what} {ref[:80]!r} not found or not a regular file (looked for {shown(path)})")
        self.read.add(resolved)
        return path

    def document(self, root: ET.Element, base: Path) -> None:
        self.references |= named_files(root, base)

    def tileset(self, elem: ET.Element, base: Path, where: str, file: Path | None = None) -> Tileset:
        tw, th = tile_size(elem, where)
        grid = Grid(tw, th, int_attr(elem, "margin", where, 0), int_attr(elem, "spacing", where, 0))
        if grid.margin < 0 or grid.spacing < 0:
            raise UserError(f"{where}: margin {grid.margin} and spacing {grid.spacing} must not be negative")
        found = Tileset(elem, base, where, tw, th, grid, file=file)
        image = elem.find("image")
        if image is not None:
            found.sheet = self.sheet(image, grid, base, where)
        for tile in elem.findall("tile"):
            tile_image = tile.find("image")
            if tile_image is not None and image is None:
                tile_id = int_attr(tile, "id", where)
                if tile_id < 0:
                    raise UserError(f"{where}: <tile id=\"{tile_id}\"> is negative; tile ids count from 0")
                ref = tile_image.get("source")
                path = self.resolve_ref(base, ref, "image", where)
                rgba = apply_trans(read_rgba(path), tile_image.get("trans"), where)
                found.images.append(CollectionImage(tile, tile_image, ref, path, tile_id, rgba))
        return found

    def sheet(self, image: ET.Element, grid: Grid, base: Path, where: str) -> SheetImage:
        ref = image.get("source")
        path = self.resolve_ref(base, ref, "image", where)
        rgba = apply_trans(read_rgba(path), image.get("trans"), where)
        height, width = rgba.shape[:2]
        # Tiled's own count: the margin on the far side may be missing, extra pixels are ignored.
        cols = (width - grid.margin + grid.spacing) // (grid.tile_width + grid.spacing)
        rows = (height - grid.margin + grid.spacing) // (grid.tile_height + grid.spacing)
        if cols < 1 or rows < 1:
            raise UserError(f"{where}: image {ref[:80]!r} is {width}x{height} px, too small for one "
                            f"{grid.tile_width}x{grid.tile_height} tile with margin {grid.margin} (at least "
                            f"{grid.margin + grid.tile_width}x{grid.margin + grid.tile_height} px)")
        full = np.zeros((grid.extent(rows, grid.tile_height), grid.extent(cols, grid.tile_width), 4), np.uint8)
        h, w = min(height, full.shape[0]), min(width, full.shape[1])
        full[:h, :w] = rgba[:h, :w]
        return SheetImage(image, ref, path, Sheet(slice_sheet(full, grid, where), cols, rows, grid))


def read_tiled(source: Path, allow_outside: bool = False) -> TiledFile:
    """Read and check a .tsx or .tmx and everything it uses (its .tsx tilesets and their images)."""
    source = Path(source)
    suffix = source.suffix.lower()
    if suffix not in TILED_SUFFIXES:
        raise UserError(f"{shown(source)}: not a Tiled tileset (.tsx) or map (.tmx)")
    reader = _Reader(source, allow_outside)
    where = shown(source)
    if suffix == ".tsx":
        root = parse_xml(source, "tileset")
        reader.document(root, source.parent)
        tileset = reader.tileset(root, source.parent, where, file=source)
        found = TiledFile(source, root, False, tileset.tile_width, tileset.tile_height, [TilesetUse(root, tileset)])
    else:
        root = parse_xml(source, "map")
        reader.document(root, source.parent)
        tw, th = tile_size(root, where)
        found = TiledFile(source, root, True, tw, th)
        external: dict[Path, Tileset] = {}
        for index, elem in enumerate(root.findall("tileset")):
            ref = elem.get("source")
            if ref is None:  # embedded
                name = elem.get("name") or f"tileset{index + 1}"
                found.tilesets.append(TilesetUse(elem, reader.tileset(elem, source.parent, f"{where} (tileset {name!r})")))
                continue
            if not ref.lower().endswith(".tsx"):
                raise UserError(f"{where}: tileset {ref[:80]!r} is not a .tsx file; only XML tilesets can be "
                                f"upscaled (save it as .tsx in Tiled)")
            tsx = reader.resolve_ref(source.parent, ref, "tileset", where)
            key = tsx.resolve()
            if key not in external:
                ts_root = parse_xml(tsx, "tileset")
                reader.document(ts_root, tsx.parent)
                external[key] = reader.tileset(ts_root, tsx.parent, shown(tsx), file=tsx)
            found.tilesets.append(TilesetUse(elem, external[key], ref))
    found.read = reader.read
    found.references = reader.references | reader.read
    return found


def tiled_tiles(source: Path) -> tuple[list[str], list[np.ndarray], set[Path]]:
    """(names, RGBA tiles, files) of a .tsx (or of each tileset a .tmx uses, once each): every
    sheet's cells, then every collection image; and every file the Tiled files read or name."""
    document = read_tiled(source)
    tilesets = list({id(use.tileset): use.tileset for use in document.tilesets}.values())
    names, tiles = [], []
    for tileset in tilesets:
        if tileset.sheet is not None:
            stem = tileset.sheet.path.stem
            names += [f"{stem}#{i}" for i in range(len(tileset.sheet.sheet.tiles))]
            tiles += list(tileset.sheet.sheet.tiles)
    for tileset in tilesets:
        names += [f"{image.id}-{image.path.stem}" for image in tileset.images]
        tiles += [image.rgba for image in tileset.images]
    return names, tiles, document.read | document.references

"""Where each game keeps its tiles, and how they are cut (for scripts/tile_sets.py).

For every set two functions of the unpacked package's root: `<name>(root)` yields
(group, where, tile) in a fixed order (group: a sheet or tileset, over which the set's cap is
spread; where: a name that says where the tile came from), and `<name>_paths(root)` lists the
package paths used. Tiles are RGBA arrays at their native size; scripts/tile_sets.py drops
duplicates and nearly empty tiles, caps, and writes them.
"""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from game_formats import (
    berusky_frames,
    dink_sequences,
    fastfile,
    lgeneral_icons,
    lua_flat,
    lua_number,
    lua_tables,
    pak_image,
    pak_nodes,
)
from PIL import Image
from tile_cutting import MIN_COVER, border_key, colour_key, grid_cells, has_alpha, rgba, sprite_boxes, sprites

LARGEST = 128  # new sets: sprites and tiles larger than this each way are backgrounds, portraits or big buildings


def fits(tile: np.ndarray, smallest: int = 8, largest: int = LARGEST) -> bool:
    h, w = tile.shape[:2]
    return smallest <= max(h, w) and max(h, w) <= largest and min(h, w) >= 4


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


# ================================================================ the first sets
def crawl(root: Path):
    tiles = root / "usr/share/crawl/dat/tiles"
    for name in ("wall", "floor", "feat"):
        for r, c, t in grid_cells(rgba(tiles / f"{name}.png"), 32, 32):
            yield name, f"{name}-r{r}c{c}", t
    for name in ("main", "player", "gui", "icons"):
        for y, x, t in sprites(rgba(tiles / f"{name}.png"), 32):
            yield name, f"{name}-y{y}x{x}", t


def crawl_paths(root: Path) -> list[str]:
    return [f"usr/share/crawl/dat/tiles/{n}.png" for n in ("wall", "floor", "feat", "main", "player", "gui", "icons")]


CATACLYSM_SKIP = {"ASCIITileset", "HitButton_iso"}


def cataclysm_sheets(root: Path):
    gfx = root / "usr/share/games/cataclysm-dda/gfx"
    for config in sorted(gfx.glob("*/tile_config.json")):
        tileset = config.parent.name
        if tileset in CATACLYSM_SKIP:
            continue
        info = json.loads(config.read_text())
        base = info.get("tile_info", [{}])[0]
        if base.get("iso"):
            continue
        for entry in info.get("tiles-new", []):
            w = entry.get("sprite_width", base.get("width"))
            h = entry.get("sprite_height", base.get("height"))
            sheet = config.parent / entry["file"]
            if w == h and w and 8 <= w <= 64 and sheet.exists() and "fallback" not in entry["file"]:
                yield tileset, sheet, int(w)


def cataclysm(root: Path):
    for tileset, sheet, size in cataclysm_sheets(root):
        for r, c, t in grid_cells(rgba(sheet), size, size):
            yield tileset, f"{tileset}-{sheet.stem}-r{r}c{c}", t


def cataclysm_paths(root: Path) -> list[str]:
    return [f"{s.relative_to(root)} ({n}x{n})" for _, s, n in cataclysm_sheets(root)]


SUPERTUX_SKIP = {"auxiliary", "test", "lightmap"}  # editor markers, test tiles, light gradients


def supertux_sheets(root: Path):
    base = root / "usr/share/games/supertux2/images/tiles"
    for path in sorted(base.rglob("*.png")):
        if path.relative_to(base).parts[0] in SUPERTUX_SKIP:
            continue
        w, h = image_size(path)
        if w % 32 == 0 and h % 32 == 0:
            yield path


def supertux(root: Path):
    for path in supertux_sheets(root):
        rel_path = path.relative_to(root / "usr/share/games/supertux2/images/tiles")
        group = rel_path.parts[0] if len(rel_path.parts) > 1 else "misc"
        for r, c, t in grid_cells(rgba(path), 32, 32):
            yield group, f"{str(rel_path.with_suffix('')).replace('/', '-')}-r{r}c{c}", t


def supertux_paths(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in supertux_sheets(root)]


FREECIV = "usr/share/games/freeciv"
FREECIV_SKIP = {"fog", "grid", "select"}  # dither masks, grid lines and the selection outline: not art


def spec_grids(text: str):
    """(x_top_left, y_top_left, dx, dy, pixel_border, [(row, col), ...]) of each [grid_*] of a .spec."""
    for section in re.split(r"^\[", text, flags=re.M):
        if not section.startswith("grid"):
            continue
        num = lambda key, default=None, section=section: (int(m.group(1)) if (m := re.search(
            rf"^\s*{key}\s*=\s*(-?\d+)", section, re.M)) else default)
        body = re.search(r"tiles\s*=\s*\{(.*?)\}", section, re.S)
        cells = [(int(a), int(b)) for a, b in re.findall(r"^\s*(\d+)\s*,\s*(\d+)\s*,", body.group(1), re.M)] if body else []
        yield num("x_top_left", 0), num("y_top_left", 0), num("dx"), num("dy"), num("pixel_border", 0), cells


def freeciv_specs(root: Path):
    for spec in sorted((root / FREECIV / "trident").glob("*.spec")):
        if spec.stem in FREECIV_SKIP:
            continue
        text = spec.read_text(errors="replace")
        gfx = re.search(r'^\s*gfx\s*=\s*"([^"]+)"', text, re.M)
        if gfx:
            yield spec, root / FREECIV / f"{gfx.group(1)}.png", text


def freeciv(root: Path):
    for spec, png, text in freeciv_specs(root):
        sheet = rgba(png)
        for x0, y0, dx, dy, border, cells in spec_grids(text):
            if dx != 30 or dy != 30:
                continue
            for r, c in sorted(set(cells)):
                x, y = x0 + c * (dx + border), y0 + r * (dy + border)
                if y + dy <= sheet.shape[0] and x + dx <= sheet.shape[1]:
                    yield spec.stem, f"{png.stem}-r{r}c{c}", sheet[y:y + dy, x:x + dx]


def freeciv_paths(root: Path) -> list[str]:
    return [f"{spec.relative_to(root)} -> {png.relative_to(root)}" for spec, png, _ in freeciv_specs(root)]


PINGUS = "usr/share/games/pingus/data/images"


def pingus_sprites(root: Path):
    for spec in sorted((root / PINGUS).rglob("*.sprite")):
        text = spec.read_text(errors="replace")
        image = re.search(r'\(image\s+"([^"]+)"', text)
        array = re.search(r"\(array\s+(\d+)\s+(\d+)\)", text)
        size = re.search(r"\(size\s+(\d+)\s+(\d+)\)", text)
        if not (image and array and size):
            continue
        cols, rows, w, h = int(array.group(1)), int(array.group(2)), int(size.group(1)), int(size.group(2))
        png = spec.parent / image.group(1)
        if png.exists() and 8 <= w <= 64 and 8 <= h <= 64:
            yield spec, png, cols, rows, w, h


def pingus(root: Path):
    for spec, png, cols, rows, w, h in pingus_sprites(root):
        sheet = rgba(png)
        if sheet.shape[0] < rows * h or sheet.shape[1] < cols * w:
            continue
        group = spec.relative_to(root / PINGUS).parts[0]
        for r, c, t in grid_cells(sheet[:rows * h, :cols * w], w, h):
            yield group, f"{str(spec.relative_to(root / PINGUS).with_suffix('')).replace('/', '-')}-{r * cols + c}", t


def pingus_paths(root: Path) -> list[str]:
    return [f"{s.relative_to(root)} -> {p.name} ({c}x{r} frames of {w}x{h})" for s, p, c, r, w, h in pingus_sprites(root)]


ANGBAND = "usr/share/angband/xtra/graf/16x16.png"


def angband(root: Path):
    for r, c, t in grid_cells(rgba(root / ANGBAND), 16, 16):
        yield "16x16", f"r{r}c{c}", t


def angband_paths(root: Path) -> list[str]:
    return [ANGBAND]


# ================================================================ the sets added for pixel-art quality
# ---------------------------------------------------------------- flare-game
FLARE = "usr/share/games/flare/mods"


def flare_tilesets(root: Path):
    """(tilesetdef, sheet, [(id, x, y, w, h)]) of every tileset definition of every mod."""
    base = root / FLARE
    for defs in sorted(base.glob("*/tilesetdefs/*.txt")):
        text = defs.read_text(errors="replace")
        img = re.search(r"^img=(\S+)", text, re.M)
        if not img:
            continue
        candidates = [defs.parents[1] / img.group(1)] + sorted(base.glob(f"*/{img.group(1)}"))
        sheet = next((c for c in candidates if c.exists()), None)
        tiles = [tuple(map(int, m)) for m in re.findall(r"^tile=(\d+),(\d+),(\d+),(\d+),(\d+)", text, re.M)]
        if sheet is not None:
            yield defs, sheet, tiles


def flare_icons(root: Path) -> list[Path]:
    return [p for p in sorted((root / FLARE).glob("*/images/icons/*.png")) if "overlay" not in p.stem]


def flare(root: Path):
    for path in flare_icons(root):
        for r, c, t in grid_cells(rgba(path), 32, 32):
            yield "icons", f"{path.parents[2].name}-{path.stem}-r{r}c{c}", t
    for defs, sheet, tiles in flare_tilesets(root):
        image = rgba(sheet)
        for tid, x, y, w, h in tiles:
            t = image[y:y + h, x:x + w]
            if t.shape[:2] == (h, w) and fits(t):
                yield defs.stem, f"{defs.stem}-{tid}", t


def flare_paths(root: Path) -> list[str]:
    return ([f"{rel(p, root)} (32x32 grid)" for p in flare_icons(root)] +
            [f"{rel(d, root)} -> {rel(s, root)} ({len(t)} tiles)" for d, s, t in flare_tilesets(root)])


# ---------------------------------------------------------------- mrrescue
MRRESCUE = "usr/share/games/mrrescue/mrrescue.love"


def mrrescue_animations(love: zipfile.ZipFile) -> list[tuple[str, int, int]]:
    """(image file in the .love, frame width, frame height) of every newAnimation(img.X, w, h, ...)
    call of the game's Lua; img.human_run[id] stands for human_1_run.png, human_2_run.png, ..."""
    names = set(love.namelist())
    out = set()
    for name in sorted(n for n in names if n.endswith(".lua")):
        text = love.read(name).decode("utf-8", "replace")
        for image, indexed, w, h in re.findall(r"newAnimation\(\s*img\.(\w+)(\[[^\]]*\])?\s*,\s*(\d+)\s*,\s*(\d+)", text):
            if indexed:
                head, _, tail = image.partition("_")
                pattern = re.compile(rf"data/{head}_\d+_{tail}\.png$")
                files = sorted(n for n in names if pattern.match(n))
            else:
                files = [f"data/{image}.png"] if f"data/{image}.png" in names else []
            out.update((f, int(w), int(h)) for f in files)
    return sorted(out)


def mrrescue(root: Path):
    with zipfile.ZipFile(root / MRRESCUE) as love:
        for r, c, t in grid_cells(rgba(love.read("data/tiles.png")), 16, 16):
            yield "tiles", f"tiles-r{r}c{c}", t
        for name, w, h in mrrescue_animations(love):
            for r, c, t in grid_cells(rgba(love.read(name)), w, h):
                yield "sprites", f"{Path(name).stem}-r{r}c{c}", t


def mrrescue_paths(root: Path) -> list[str]:
    with zipfile.ZipFile(root / MRRESCUE) as love:
        return ([f"{MRRESCUE}: data/tiles.png (16x16 grid)"] +
                [f"{MRRESCUE}: {n} ({w}x{h} frames)" for n, w, h in mrrescue_animations(love)])


# ---------------------------------------------------------------- widelands-data
WIDELANDS = "usr/share/games/widelands/data"
WIDELANDS_DIRECTIONS = "e|ne|nw|se|sw|w"


def widelands_sheets(root: Path):
    """(init.lua, sheet at scale 1, columns, rows, frames) of every spritesheet animation."""
    base = root / WIDELANDS
    for init in sorted(base.rglob("init.lua")):
        text = init.read_text(errors="replace")
        if "spritesheets" not in text:
            continue
        files = sorted(p.name for p in init.parent.glob("*_1.png"))
        for name, body in lua_tables(text):
            flat = lua_flat(body)
            frames, cols, rows = (lua_number(flat, k) for k in ("frames", "columns", "rows"))
            if not (frames and cols and rows):
                continue
            pattern = re.compile(rf"{re.escape(name)}(_({WIDELANDS_DIRECTIONS}))?_1\.png$")
            for f in files:
                if pattern.match(f):
                    yield init, init.parent / f, cols, rows, frames


def widelands_singles(root: Path):
    base = root / WIDELANDS
    terrains = sorted(base.glob("world/terrains/*/*/idle.png"))
    icons = sorted(p for p in base.rglob("menu.png"))
    return terrains, icons


def widelands(root: Path):
    base = root / WIDELANDS
    terrains, icons = widelands_singles(root)
    for path in terrains:
        yield "terrains", f"{path.parents[1].name}-{path.parent.name}", rgba(path)
    for path in icons:
        t = rgba(path)
        if fits(t):
            yield "icons", f"{str(path.parent.relative_to(base)).replace('/', '-')}", t
    for init, sheet, cols, rows, frames in widelands_sheets(root):
        image = rgba(sheet)
        w, h = image.shape[1] // cols, image.shape[0] // rows
        group = "-".join(init.relative_to(base).parts[:2])
        for r, c, t in grid_cells(image, w, h):
            if r * cols + c < frames and fits(t):
                yield group, f"{str(sheet.relative_to(base).with_suffix('')).replace('/', '-')}-{r * cols + c}", t


def widelands_paths(root: Path) -> list[str]:
    terrains, icons = widelands_singles(root)
    sheets = list(widelands_sheets(root))
    return [f"{WIDELANDS}/world/terrains/*/*/idle.png ({len(terrains)} terrain textures)",
            f"{WIDELANDS}/**/menu.png ({len(icons)} icons of wares, workers, buildings)",
            f"{WIDELANDS}/**/<animation>[_<direction>]_1.png ({len(sheets)} spritesheets at scale 1, "
            "cut by the frames, columns and rows of their init.lua)"]


# ---------------------------------------------------------------- freedroidrpg-data
FREEDROID = "usr/share/freedroidrpg/data/graphics"


def freedroid_files(root: Path) -> list[tuple[str, Path]]:
    base = root / FREEDROID
    return ([("items", p) for p in sorted(base.glob("items/**/inv_image.png"))] +
            [("skills", p) for p in sorted(base.glob("skill_icons/*.png"))])


def freedroid(root: Path):
    for group, path in freedroid_files(root):
        t = rgba(path)
        if fits(t):
            yield group, str(path.relative_to(root / FREEDROID).with_suffix("")).replace("/", "-"), t


def freedroid_paths(root: Path) -> list[str]:
    return [f"{FREEDROID}/items/**/inv_image.png (inventory pictures)", f"{FREEDROID}/skill_icons/*.png"]


# ---------------------------------------------------------------- lincity-ng-data
LINCITY = "usr/share/games/lincity-ng/images"


def lincity_files(root: Path) -> list[tuple[str, Path]]:
    base = root / LINCITY
    return ([("tiles", p) for p in sorted(base.glob("tiles/*.png"))] +
            [("icons", p) for p in sorted(base.glob("gui/buttonpanel/**/*.png"))])


def lincity(root: Path):
    for group, path in lincity_files(root):
        t = rgba(path)
        if fits(t):
            yield group, str(path.relative_to(root / LINCITY).with_suffix("")).replace("/", "-"), t


def lincity_paths(root: Path) -> list[str]:
    return [f"{LINCITY}/tiles/*.png (buildings and ground, up to {LARGEST} px)", f"{LINCITY}/gui/buttonpanel/**/*.png"]


# ---------------------------------------------------------------- simutrans-pak64
SIMUTRANS = "usr/share/games/simutrans/pak"
SIMUTRANS_SKIP = {"symbol", "menu", "cursor", "misc"}  # user interface: tool symbols, menu bars, cursors
# Ground paks that are not pictures: shading and transition masks, grid lines, the map's edge.
SIMUTRANS_MASKS = {"ground.LightTexture", "ground.ShoreTrans", "ground.SlopeTrans", "ground.Marker",
                   "ground.Borders", "ground.Outside"}


def simutrans_paks(root: Path) -> list[Path]:
    return [p for p in sorted((root / SIMUTRANS).glob("*.pak"))
            if p.name.split(".")[0] not in SIMUTRANS_SKIP and p.stem not in SIMUTRANS_MASKS]


def simutrans(root: Path):
    for pak in simutrans_paks(root):
        index = 0
        for path, payload in pak_nodes(pak.read_bytes()):
            if path[-1] != "IMG":
                continue
            t = pak_image(payload)
            if t is not None:
                yield pak.name.split(".")[0], f"{pak.stem}-{index}", t
            index += 1


def simutrans_paths(root: Path) -> list[str]:
    kinds = sorted({p.name.split(".")[0] for p in simutrans_paks(root)})
    return [f"{SIMUTRANS}/<{'|'.join(kinds)}>.*.pak: every IMG node (64x64 canvas, RGB555 runs); "
            f"not {', '.join(sorted(SIMUTRANS_MASKS))} (masks)"]


# ---------------------------------------------------------------- freedink-data
DINK = "usr/share/games/dink/dink"
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def dink_frames(root: Path):
    """(group, name, bmp bytes, black is transparent) of every frame of every sequence of Dink.ini."""
    base = root / DINK
    archives: dict[Path, dict[str, bytes]] = {}
    seen = set()
    for prefix, black in dink_sequences((base / "Dink.ini").read_text(errors="replace")):
        parts = prefix.split("/")
        if parts[0].lower() != "graphics" or len(parts) < 3:
            continue
        folder = base
        for p in parts[:-1]:  # the package keeps the paths' letter case; Dink.ini does not
            match = [c for c in folder.iterdir() if c.name.lower() == p.lower()] if folder.is_dir() else []
            folder = match[0] if match else folder / p
        if folder not in archives:
            files = {}
            ff = folder / "dir.ff"
            if ff.exists():
                files.update(fastfile(ff.read_bytes()))
            if folder.is_dir():
                files.update({p.name.upper(): p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix.lower() == ".bmp"})
            archives[folder] = files
        stem = parts[-1].upper()
        for name in sorted(archives[folder]):
            if re.fullmatch(re.escape(stem) + r"\d+\.BMP", name) and (folder, name) not in seen:
                seen.add((folder, name))
                yield parts[1].lower(), f"{'-'.join(parts[1:-1]).lower()}-{name[:-4].lower()}", archives[folder][name], black


def dink_tile_screens(root: Path) -> list[Path]:
    return sorted(p for p in (root / DINK / "Tiles").iterdir() if re.fullmatch(r"ts\d+\.bmp", p.name.lower()))


def freedink(root: Path):
    for path in dink_tile_screens(root):
        for r, c, t in grid_cells(rgba(path), 50, 50):
            yield "tiles", f"{path.stem.lower()}-r{r}c{c}", t
    for group, name, data, black in dink_frames(root):
        t = colour_key(rgba(data), BLACK if black else WHITE)
        if fits(t):
            yield group, name, t


def freedink_paths(root: Path) -> list[str]:
    return [f"{DINK}/Tiles/ts*.bmp (tile screens, 50x50 grid)",
            f"{DINK}/graphics/**/dir.ff and *.bmp: the frames of every load_sequence of Dink.ini "
            "(white transparent, black for sequences marked BLACK)"]


# ---------------------------------------------------------------- lgeneral-data
LGENERAL = "usr/share/games/lgeneral"
LGENERAL_TERRAIN_SKIP = {"fog", "grid", "select_frame", "crosshair", "damage_bars", "danger", "explosion"}


def lgeneral_hex(root: Path) -> tuple[int, int]:
    text = next((root / LGENERAL / "maps").glob("*.tdb")).read_text(errors="replace")
    return tuple(int(re.search(rf"{k}\W+(\d+)", text).group(1)) for k in ("hex_width", "hex_height"))


def lgeneral_files(root: Path) -> tuple[list[Path], list[Path]]:
    gfx = root / LGENERAL / "gfx"
    units = sorted(p for p in gfx.glob("units/*.bmp") if "_" not in p.stem)  # name_move/_attack/...: map markers
    terrain = sorted(p for p in gfx.glob("terrain/*/*.bmp") if p.stem not in LGENERAL_TERRAIN_SKIP)
    return units, terrain


def lgeneral(root: Path):
    units, terrain = lgeneral_files(root)
    for path in units:
        sheet = rgba(path)
        for top, bottom, right, key in lgeneral_icons(sheet):
            t = colour_key(sheet[top + 1:bottom, 1:right], key)
            if fits(t):
                yield "units", f"{path.stem}-y{top}", t
    w, h = lgeneral_hex(root)
    for path in terrain:
        for _r, c, t in grid_cells(rgba(path), w, h):
            yield "terrain", f"{path.stem}-{c}", border_key(t, tuple(int(v) for v in t[0, 0, :3]))


def lgeneral_paths(root: Path) -> list[str]:
    units, terrain = lgeneral_files(root)
    w, h = lgeneral_hex(root)
    return ([f"{rel(p, root)} (unit icons between corner marks)" for p in units] +
            [f"{LGENERAL}/gfx/terrain/*/*.bmp ({len(terrain)} strips of {w}x{h} hexes; the corner colour "
             "around each hexagon made transparent)"])


# ---------------------------------------------------------------- tecnoballz-data
TECNOBALLZ = "usr/share/games/tecnoballz"
TECNOBALLZ_SPRITES = ("all_sprites", "paddles_1", "paddles_2", "gigablitz", "head_animation")


def tecnoballz_indices(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(palette indices, RGBA) of a palette sheet, index 0 transparent (the game's colour key)."""
    with Image.open(path) as image:
        index = np.array(image)
        out = np.array(image.convert("RGBA"))
    out[index == 0, 3] = 0
    return index, out


def tecnoballz_pairs(root: Path):
    """(group, where, low-res tile, high-res tile): the sprites (regions of the low-resolution
    sheets, twice as large in the high-resolution ones, kept where both agree on the sprite's
    shape) and the 16 px / 32 px map tiles. A pair is dropped when either side repeats an earlier
    tile or is nearly empty, so both sets keep the same pairs (and file names)."""
    base = root / TECNOBALLZ
    seen: set[bytes] = set()

    def fresh(lo: np.ndarray, hi: np.ndarray) -> bool:
        keys = [t[..., 3].tobytes() + np.where(t[..., 3:] > 0, t, 0).tobytes() + bytes(str(t.shape), "ascii")
                for t in (lo, hi)]
        if seen.intersection(keys) or min((t[..., 3] > 0).mean() for t in (lo, hi)) < MIN_COVER:
            return False
        seen.update(keys)
        return True

    for name in TECNOBALLZ_SPRITES:
        lo_index, lo = tecnoballz_indices(base / "lores" / f"{name}.png")
        hi_index, hi = tecnoballz_indices(base / "hires" / f"{name}.png")
        for y0, x0, y1, x1 in sprite_boxes(lo_index != 0, 8, 64):
            lo_mask = lo_index[y0:y1, x0:x1] != 0
            hi_mask = hi_index[2 * y0:2 * y1, 2 * x0:2 * x1] != 0
            if hi_mask.shape != (2 * lo_mask.shape[0], 2 * lo_mask.shape[1]) or min(lo_mask.shape) < 4:
                continue
            if (hi_mask.reshape(y1 - y0, 2, x1 - x0, 2).any((1, 3)) == lo_mask).mean() < 0.9:
                continue
            pair = lo[y0:y1, x0:x1], hi[2 * y0:2 * y1, 2 * x0:2 * x1]
            if fresh(*pair):
                yield name, f"{name}-y{y0}x{x0}", *pair
    _, lo_tiles = tecnoballz_indices(base / "lores" / "tilesmap.png")
    _, hi_tiles = tecnoballz_indices(base / "hires" / "tilesmap.png")
    lo_tiles[..., 3] = hi_tiles[..., 3] = 255  # map tiles are drawn opaque
    for (r, c, lo_t), (_, _, hi_t) in zip(grid_cells(lo_tiles, 16, 16), grid_cells(hi_tiles, 32, 32)):
        if fresh(lo_t, hi_t):
            yield "tilesmap", f"tilesmap-r{r}c{c}", lo_t, hi_t


def tecnoballz(root: Path):
    return ((group, where, lo) for group, where, lo, _ in tecnoballz_pairs(root))


def tecnoballz_hires(root: Path):
    return ((group, where, hi) for group, where, _, hi in tecnoballz_pairs(root))


def tecnoballz_paths(root: Path, res: str = "lores") -> list[str]:
    return ([f"{TECNOBALLZ}/{res}/{n}.png (sprites: regions of non-zero palette index)" for n in TECNOBALLZ_SPRITES] +
            [f"{TECNOBALLZ}/{res}/tilesmap.png ({16 if res == 'lores' else 32} px grid)"])


def tecnoballz_hires_paths(root: Path) -> list[str]:
    return tecnoballz_paths(root, "hires")


# ---------------------------------------------------------------- lbreakout2-data
LBREAKOUT = "usr/share/games/lbreakout2/gfx"


def lbreakout_files(root: Path) -> list[tuple[Path, int, int]]:
    base = root / LBREAKOUT
    themes = [base] + sorted(p for p in base.iterdir() if p.is_dir())
    out = []
    for theme in themes:
        for name, w, h in (("bricks", 40, 20), ("extras", 40, 20), ("ball", 12, 12)):
            if (theme / f"{name}.png").exists():
                out.append((theme / f"{name}.png", w, h))
    return out


def lbreakout(root: Path):
    for path, w, h in lbreakout_files(root):
        theme = path.parent.name if path.parent.name != "gfx" else "default"
        sheet = rgba(path)
        for _r, c, t in grid_cells(sheet, w, h):
            if path.stem == "ball":  # balls sit on a key colour: the sheet's corner pixel
                t = border_key(t, tuple(int(v) for v in sheet[0, 0, :3]))
            yield theme, f"{theme}-{path.stem}-{c}", t


def lbreakout_paths(root: Path) -> list[str]:
    return [f"{rel(p, root)} ({w}x{h} grid)" for p, w, h in lbreakout_files(root)]


# ---------------------------------------------------------------- lordsawar-data
LORDSAWAR = "usr/share/games/lordsawar"
LORDSAWAR_SKIP = {"fog", "selector", "small_selector", "flags"}  # fog masks, selection frames, team flags


def lordsawar_archives(root: Path) -> list[Path]:
    # The big* sets are mostly the 40 px pictures scaled 2x by a machine (pixels doubled, or
    # interpolated: every even pixel is the 40 px tile's); a few pictures differ. Not drawn at
    # 80 px, so they are left out.
    base = root / LORDSAWAR
    return [p for kind in ("tilesets/*.lwt", "army/*.lwa", "citysets/*.lwc")
            for p in sorted(base.glob(kind)) if not p.stem.startswith("big")]


def lordsawar(root: Path):
    for archive in lordsawar_archives(root):
        with tarfile.open(archive) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
            xml = next(tar.extractfile(m).read().decode("utf-8", "replace") for m in members
                       if m.name.endswith(archive.suffix))
            size = int(re.search(r"<d_tilesize>(\d+)", xml).group(1))
            for m in members:
                stem = Path(m.name).stem
                if not m.name.endswith(".png") or stem in LORDSAWAR_SKIP:
                    continue
                sheet = rgba(tar.extractfile(m).read())
                side = sheet.shape[0]
                if side not in (size, 2 * size) or sheet.shape[1] % side:
                    continue
                for _, c, t in grid_cells(sheet, side, side):
                    if archive.suffix == ".lwa" and c % 2:  # army pictures: picture, then its mask
                        continue
                    yield archive.stem, f"{archive.stem}-{stem}-{c}", t


def lordsawar_paths(root: Path) -> list[str]:
    return [f"{rel(p, root)} (tar: every sheet one tile (40 px) or two (80 px) high, cut in squares)"
            for p in lordsawar_archives(root)]


# ---------------------------------------------------------------- boswars-data
BOSWARS = "usr/share/games/boswars"


def boswars_images(root: Path) -> list[tuple[Path, int, int]]:
    """(sheet, frame width, frame height) of every `Image = {"file", ..., "size", {w, h}}` of the units' Lua."""
    base = root / BOSWARS
    out = set()
    for lua in sorted(base.glob("units/**/*.lua")):
        text = lua.read_text(errors="replace")
        for expr, w, h in re.findall(r'Image\s*=\s*\{\s*"file"\s*,\s*([^,]+?)\s*,\s*"size"\s*,\s*\{\s*(\d+)\s*,\s*(\d+)', text):
            local = re.fullmatch(r'GetCurrentLuaPath\(\)\s*\.\.\s*"/?([^"]+)"', expr)
            plain = re.fullmatch(r'"([^"]+)"', expr)
            path = lua.parent / local.group(1) if local else base / plain.group(1) if plain else None
            if path is not None and path.exists():
                out.add((path, int(w), int(h)))
    return sorted(out)


def boswars_icons(root: Path) -> list[Path]:
    return sorted((root / BOSWARS).glob("units/*/ico_*.png"))


def boswars(root: Path):
    base = root / BOSWARS
    for path, w, h in boswars_images(root):
        for r, c, t in grid_cells(rgba(path), w, h):
            if fits(t):
                yield path.parent.name, f"{str(path.relative_to(base).with_suffix('')).replace('/', '-')}-r{r}c{c}", t
    for path in boswars_icons(root):
        for _, c, t in grid_cells(rgba(path), 46, 38):
            yield "icons", f"{path.stem}-{c}", t


def boswars_paths(root: Path) -> list[str]:
    return ([f"{rel(p, root)} ({w}x{h} frames)" for p, w, h in boswars_images(root)] +
            [f"{BOSWARS}/units/*/ico_*.png (46x38 icons)"])


# ---------------------------------------------------------------- berusky-data
BERUSKY = "usr/share/berusky/Graphics"
BERUSKY_KEY = (165, 106, 106)  # the sheets' background colour, not drawn where a frame is keyed
BERUSKY_SKIP = ("back", "background", "end", "logo", "menu", "font", "slide", "mask", "game_cur", "controls", "herni")


def berusky_sheets(root: Path) -> list[Path]:
    """The .spr files of the game's sprites and textures; of the four turned copies of the player
    and item sheets (klasik1..4, ...) only the first."""
    out = []
    for spr in sorted((root / BERUSKY).glob("*.spr")):
        if spr.stem.startswith(BERUSKY_SKIP) or not spr.with_suffix(".png").exists():
            continue
        m = re.fullmatch(r"(\D+)([2-4])", spr.stem)
        if m and (spr.parent / f"{m.group(1)}1.spr").exists():
            continue
        out.append(spr)
    return out


def berusky(root: Path):
    for spr in berusky_sheets(root):
        sheet = rgba(spr.with_suffix(".png"))
        for i, (x, y, w, h, keyed) in enumerate(berusky_frames(spr.read_text(errors="replace"))):
            t = sheet[y:y + h, x:x + w]
            if t.shape[:2] == (h, w):
                yield spr.stem, f"{spr.stem}-{i}", colour_key(t, BERUSKY_KEY) if keyed else t


def berusky_paths(root: Path) -> list[str]:
    return [f"{rel(p, root)} -> {p.with_suffix('.png').name}" for p in berusky_sheets(root)]


# ---------------------------------------------------------------- blobwars-data
BLOBWARS = "usr/share/games/blobwars/gfx"
BLOBWARS_DECORATION = 120  # map tiles from here on are drawn with black transparent (src/defs.h MAP_DECORATION)


def blobwars_files(root: Path) -> tuple[list[Path], list[Path]]:
    base = root / BLOBWARS
    sprite_files = sorted(base.glob("sprites/*.png"))
    # gfx/common's tiles are drawn translucent over the others (water, slime, lava): left out
    tiles = sorted((p for p in base.glob("*/*.png") if p.stem.isdigit() and p.parent.name != "common"),
                   key=lambda p: (p.parent.name, int(p.stem)))
    return sprite_files, tiles


def blobwars(root: Path):
    sprite_files, tiles = blobwars_files(root)
    for path in sprite_files:
        t = colour_key(rgba(path), BLACK)  # every sprite is drawn with black transparent
        if fits(t, smallest=6):
            yield "sprites", path.stem, t
    for path in tiles:
        t = rgba(path)
        if int(path.stem) >= BLOBWARS_DECORATION and not has_alpha(path):
            t = colour_key(t, BLACK)
        if t.shape[:2] == (32, 32):
            yield path.parent.name, f"{path.parent.name}-{path.stem}", t


def blobwars_paths(root: Path) -> list[str]:
    return [f"{BLOBWARS}/sprites/*.png (black transparent)",
            f"{BLOBWARS}/<world>/<n>.png (32x32 map tiles; n >= {BLOBWARS_DECORATION}: black transparent; not gfx/common)"]


# ---------------------------------------------------------------- hedgewars-data
HEDGEWARS = "usr/share/games/hedgewars/Data/Graphics"


def hedgewars_files(root: Path) -> list[tuple[str, Path]]:
    base = root / HEDGEWARS
    out = []
    for group in ("Hats", "Graves", "Hedgehog"):
        for p in sorted(base.glob(f"{group}/*.png")):
            w, h = image_size(p)
            if "@2x" not in p.stem and w % 32 == 0 and h % 32 == 0:
                out.append((group, p))
    out += [("AmmoMenu", base / "AmmoMenu/Ammos_base.png")]
    out += [("Flags", p) for p in sorted(base.glob("Flags/*.png"))]
    return out


def hedgewars(root: Path):
    for group, path in hedgewars_files(root):
        sheet = rgba(path)
        if group == "Flags":
            yield group, f"flag-{path.stem}", sheet
            continue
        for r, c, t in grid_cells(sheet, 32, 32):
            yield group, f"{group}-{path.stem}-r{r}c{c}", t


def hedgewars_paths(root: Path) -> list[str]:
    return [f"{HEDGEWARS}/{{Hats,Graves,Hedgehog}}/*.png (32x32 grid; not the @2x copies)",
            f"{HEDGEWARS}/AmmoMenu/Ammos_base.png (32x32 grid)", f"{HEDGEWARS}/Flags/*.png (22x15, whole)"]


# ================================================================ held-out originals
ANGBAND_32 = "usr/share/angband/xtra/graf/32x32.png"


def angband_originals(root: Path):
    """(family, where, tile): Adam Bolt's 16x16 and David Gervais's 32x32 tiles."""
    for r, c, t in grid_cells(rgba(root / ANGBAND), 16, 16):
        yield f"16-r{r}c{c}", f"16x16-r{r}c{c}", t
    for r, c, t in grid_cells(rgba(root / ANGBAND_32), 32, 32):
        yield f"32-r{r}c{c}", f"32x32-r{r}c{c}", t


def freeciv_originals(root: Path):
    """(family, where, tile): the trident tileset's 30x30 sprites and terrain; a sheet's row is one
    family (a terrain's variants, a unit's neighbours), so no two choices are variants of each other."""
    for group, where, t in freeciv(root):
        yield f"{group}-{where.rsplit('c', 1)[0]}", f"{group}-{where}", t


def pingus_originals(root: Path):
    """(family, where, tile): the 16 and 32 px sprite frames, one family per action (its left- and
    right-facing copies together). Pingus's ground pieces are painted (soft gradients), so no
    opaque textures come from this game."""
    for spec, png, cols, rows, w, h in pingus_sprites(root):
        if (w, h) not in ((16, 16), (32, 32)):
            continue
        sheet = rgba(png)
        name = str(spec.relative_to(root / PINGUS).with_suffix("")).replace("/", "-")
        family = re.sub(r"-(left|right)$", "", name)
        for r, c, t in grid_cells(sheet[:rows * h, :cols * w], w, h):
            yield family, f"{name}-{r * cols + c}", t

"""Readers of the containers and sprite definitions some games keep their art in (for
scripts/tile_sets.py): Simutrans .pak images, Dink Smallwood fast files, LGeneral's marked
unit icons, Berusky's .spr frame lists and Lua/INI tables that give sprite sizes.

Each reader turns bytes or text into plain data (arrays, tuples); none of them touches the disk
beyond what it is given, so they are tested on small hand-made inputs.
"""

from __future__ import annotations

import re
import struct

import numpy as np

# ---------------------------------------------------------------- Simutrans .pak
# Simutrans's special colours (descriptor/image.cc, image_t::rgbtab): player colours and lights,
# stored as 0x8000 + index; drawn here in their default (first player, daylight) colours.
SIMUTRANS_SPECIAL = (
    0x244B67, 0x395E7C, 0x4C7191, 0x6084A7, 0x7497BD, 0x88ABD3, 0x9CBEE9, 0xB0D2FF,
    0x7B5803, 0x8E6F04, 0xA18605, 0xB49D07, 0xC6B408, 0xD9CB0A, 0xECE20B, 0xFFF90D,
    0x57656F, 0x7F9BF1, 0xFFFF53, 0xFF211D, 0x01DD01, 0x6B6B6B, 0x9B9B9B, 0xB3B3B3,
    0xC9C9C9, 0xDFDFDF, 0xE3E3FF, 0xC1B1D1, 0x4D4D4D, 0xFF017F, 0x0101FF,
)


def pak_nodes(data: bytes) -> list[tuple[tuple[str, ...], bytes]]:
    """(path of node types from the root, payload) of every node of a Simutrans object file.

    The file is a text header ending in 0x1A, a uint32 version, then a tree of nodes: a 4-byte
    type, uint16 child count, uint16 size (0xFFFF: a uint32 size follows), the payload, the children.
    """
    pos = data.index(b"\x1a") + 1 + 4
    out: list[tuple[tuple[str, ...], bytes]] = []
    stack = [((), 1)]  # (parent path, children still to read)
    while stack:
        path, left = stack.pop()
        if left == 0:
            continue
        stack.append((path, left - 1))
        kind = data[pos:pos + 4].rstrip(b"\0").decode("latin-1")
        children, size = struct.unpack_from("<HH", data, pos + 4)
        pos += 8
        if size == 0xFFFF:
            size, = struct.unpack_from("<I", data, pos)
            pos += 4
        out.append((path + (kind,), data[pos:pos + size]))
        pos += size
        stack.append((path + (kind,), children))
    if pos != len(data):
        raise ValueError(f"pak: {len(data) - pos} bytes left after the node tree")
    return out


def pak_image(payload: bytes, tile: int = 64) -> np.ndarray | None:
    """A Simutrans IMG node (version 3) as an RGBA array of at least tile x tile; None when empty.

    Payload: x, y, w (int16), version (uint8), h (int16), zoomable (uint8), then uint16 words:
    per row a transparent run, then (coloured run length, that many pixels, next transparent run)
    until a transparent run of 0. Pixels are RGB555, or 0x8000 + index of a special colour.
    The x offset is the first transparent run; y says on which row the image starts. Images
    with translucent runs (the high bit of a run length) are not decoded: None.
    """
    if len(payload) < 10 or payload[6] != 3:
        return None
    x, y, w = struct.unpack_from("<hhh", payload, 0)
    h, = struct.unpack_from("<h", payload, 7)
    if w <= 0 or h <= 0 or y < 0:
        return None
    words = np.frombuffer(payload[10:10 + (len(payload) - 10) // 2 * 2], "<u2")
    width, height = max(tile, x + w), max(tile, y + h)
    out = np.zeros((height, width, 4), np.uint8)
    special = np.array([[c >> 16, (c >> 8) & 255, c & 255] for c in SIMUTRANS_SPECIAL], np.uint8)
    i = 0
    for row in range(y, y + h):
        col = int(words[i])
        i += 1
        while True:
            n = int(words[i])
            if n & 0x8000:  # a translucent run (later paks): its pixels carry alpha, not decoded here
                return None
            px = words[i + 1:i + 1 + n].astype(np.uint32)
            i += 1 + n
            rgb = np.stack([((px >> 10) & 31) << 3, ((px >> 5) & 31) << 3, (px & 31) << 3], -1).astype(np.uint8)
            marked = px >= 0x8000
            rgb[marked] = special[np.minimum(px[marked] & 0x1F, len(special) - 1)]
            end = min(col + n, width)
            out[row, col:end, :3] = rgb[:end - col]
            out[row, col:end, 3] = 255
            col += n
            gap = int(words[i])
            i += 1
            if gap == 0:
                break
            col += gap
    return out


# ---------------------------------------------------------------- Dink Smallwood fast files
def fastfile(data: bytes) -> dict[str, bytes]:
    """{upper-case name: bytes} of a Dink 'dir.ff': a uint32 count n, n entries of (uint32 offset,
    13-byte name), the last entry marking the end of the data."""
    n, = struct.unpack_from("<I", data, 0)
    entries = [struct.unpack_from("<I13s", data, 4 + 17 * k) for k in range(n)]
    out = {}
    for (start, name), (end, _) in zip(entries, entries[1:]):
        out[name.split(b"\0")[0].decode("latin-1").upper()] = data[start:end]
    return out


def dink_sequences(ini: str) -> list[tuple[str, bool]]:
    """(path prefix with '/' separators, black is transparent) of each load_sequence line of Dink.ini.

    White is Dink's transparent colour; a sequence marked BLACK uses black instead.
    """
    out = []
    for line in ini.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].lower() in ("load_sequence", "load_sequence_now"):
            out.append((parts[1].replace("\\", "/"), any(p.upper() == "BLACK" for p in parts[2:])))
    return out


# ---------------------------------------------------------------- LGeneral unit icons
def lgeneral_icons(sheet: np.ndarray) -> list[tuple[int, int, int, tuple[int, int, int]]]:
    """(top, bottom, right, key colour) of each icon of an LGeneral unit sheet (its
    unit_get_icon_geometry): icons are stacked in one column; the colour of pixel (0, 0) marks
    each icon's top-left, top-right and bottom-left corners, so column 0 holds two marks per icon
    and the top row's second mark gives the width; the pixel beside the top-left mark is the
    icon's transparent colour. The icon is what lies between the marks."""
    mark = (sheet[..., :3] == sheet[0, 0, :3]).all(-1)
    rows = [int(y) for y in np.flatnonzero(mark[:, 0])]
    out = []
    for top, bottom in zip(rows[::2], rows[1::2]):
        right = np.flatnonzero(mark[top, 1:])
        if len(right) and bottom - top > 2:
            out.append((top, bottom, int(right[0]) + 1, tuple(int(v) for v in sheet[top, 1, :3])))
    return out


# ---------------------------------------------------------------- Berusky .spr
def berusky_frames(spr: str) -> list[tuple[int, int, int, int, bool]]:
    """(x, y, w, h, keyed) of each frame of a Berusky .spr file.

    's x y w h [key]' is one frame (key 1: colour-keyed); 'f dx dy a b n' repeats the previous
    frame n times more, each dx, dy further on.
    """
    out: list[tuple[int, int, int, int, bool]] = []
    for line in spr.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "s" and len(parts) >= 5:
            x, y, w, h = map(int, parts[1:5])
            out.append((x, y, w, h, len(parts) > 5 and parts[5] == "1"))
        elif parts[0] == "f" and len(parts) >= 6 and out:
            dx, dy, n = int(parts[1]), int(parts[2]), int(parts[5])
            x, y, w, h, keyed = out[-1]
            out += [(x + k * dx, y + k * dy, w, h, keyed) for k in range(1, n)]
    return out


# ---------------------------------------------------------------- Lua tables
def lua_tables(text: str) -> list[tuple[str, str]]:
    """(name, body) of every 'name = { ... }' in Lua source, nested ones too; body without the braces."""
    out = []
    for m in re.finditer(r"(\w+)\s*=\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append((m.group(1), text[m.end():i - 1]))
    return out


def lua_flat(body: str) -> str:
    """A table body without its nested tables: the keys that belong to this table only."""
    while True:
        flat = re.sub(r"\{[^{}]*\}", "", body)
        if flat == body:
            return flat
        body = flat


def lua_number(body: str, key: str) -> int | None:
    m = re.search(rf"\b{key}\s*=\s*(\d+)", body)
    return int(m.group(1)) if m else None

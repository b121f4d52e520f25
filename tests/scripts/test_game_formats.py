"""scripts/game_formats.py on small hand-made files whose decoding the formats fix."""

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

# The scripts run as files (python scripts/tile_sets.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from game_formats import (
    SIMUTRANS_SPECIAL,
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


def node(kind: bytes, payload: bytes, children: list[bytes] = ()) -> bytes:
    return kind.ljust(4, b"\0") + struct.pack("<HH", len(children), len(payload)) + payload + b"".join(children)


def img_v3(x: int, y: int, w: int, h: int, words: list[int]) -> bytes:
    return struct.pack("<hhhBhB", x, y, w, 3, h, 0) + struct.pack(f"<{len(words)}H", *words)


def pak(*nodes: bytes) -> bytes:
    return b"Simutrans object file\nCompiled with SimObjects 0.1.3exp\n\x1a" + struct.pack("<I", 1003) + \
        node(b"ROOT", b"", list(nodes))


RED555, GREEN555 = 31 << 10, 31 << 5


def test_pak_nodes_walks_the_tree_depth_first():
    data = pak(node(b"GRND", b"ab", [node(b"IMG", b"c"), node(b"TEXT", b"d")]), node(b"XREF", b"e"))
    assert pak_nodes(data) == [(("ROOT",), b""), (("ROOT", "GRND"), b"ab"), (("ROOT", "GRND", "IMG"), b"c"),
                               (("ROOT", "GRND", "TEXT"), b"d"), (("ROOT", "XREF"), b"e")]


def test_pak_nodes_reads_large_sizes_and_refuses_trailing_bytes():
    big = b"x" * 70000
    kind = b"IMG\0" + struct.pack("<HH", 0, 0xFFFF) + struct.pack("<I", len(big)) + big
    data = b"hdr\x1a" + struct.pack("<I", 1) + kind
    assert pak_nodes(data)[0][1] == big
    with pytest.raises(ValueError):
        pak_nodes(data + b"junk")


def test_pak_image_places_runs_and_special_colours():
    # row 1: 2 clear, 2 pixels (red, special 3), end; row 2: 0 clear, 1 green, 1 clear, 1 red, end
    words = [2, 2, RED555, 0x8003, 0,
             0, 1, GREEN555, 1, 1, RED555, 0]
    t = pak_image(img_v3(2, 1, 4, 2, words))
    assert t.shape == (64, 64, 4)
    assert t[..., 3].sum() == 4 * 255
    assert t[1, 2].tolist() == [248, 0, 0, 255]
    c = SIMUTRANS_SPECIAL[3]
    assert t[1, 3].tolist() == [c >> 16, (c >> 8) & 255, c & 255, 255]
    assert t[2, 0].tolist() == [0, 248, 0, 255] and t[2, 1, 3] == 0 and t[2, 2].tolist() == [248, 0, 0, 255]


def test_pak_image_grows_the_canvas_and_skips_what_it_cannot_draw():
    assert pak_image(img_v3(0, 70, 1, 1, [0, 1, RED555, 0])).shape == (71, 64, 4)
    assert pak_image(img_v3(0, 0, 0, 0, [])) is None  # empty
    assert pak_image(img_v3(0, 0, 1, 1, [0, 0x8001, 0x1234, 0])) is None  # translucent run
    assert pak_image(b"\0" * 6 + b"\x02" + b"\0" * 5) is None  # an older version


def test_fastfile_splits_at_the_offsets():
    names = [b"A-01.BMP", b"a-02.bmp", b""]
    header = 4 + 17 * len(names)
    blobs = [b"first", b"second!"]
    offsets = [header, header + len(blobs[0]), header + len(blobs[0]) + len(blobs[1])]
    data = struct.pack("<I", len(names)) + b"".join(struct.pack("<I13s", o, n) for o, n in zip(offsets, names))
    assert fastfile(data + b"".join(blobs)) == {"A-01.BMP": b"first", "A-02.BMP": b"second!"}


def test_dink_sequences_reads_paths_and_the_black_flag():
    ini = ("// comment\nload_sequence_now graphics\\dink\\walk\\ds-w1- 71 43 38 72 -14 -9 14 9\n"
           "LOAD_SEQUENCE graphics\\effects\\fire\\f- 5 BLACK\nset_sprite_info 1 2 3\n")
    assert dink_sequences(ini) == [("graphics/dink/walk/ds-w1-", False), ("graphics/effects/fire/f-", True)]


def test_lgeneral_icons_between_marks():
    mark, key = (0, 192, 248), (0, 0, 0)
    sheet = np.zeros((12, 8, 4), np.uint8)
    sheet[..., 3] = 255
    for top, bottom, right in ((0, 4, 6), (5, 11, 7)):
        sheet[top, 0, :3] = sheet[top, right, :3] = sheet[bottom, 0, :3] = mark
        sheet[top, 1, :3] = key
    assert lgeneral_icons(sheet) == [(0, 4, 6, key), (5, 11, 7, key)]


def test_berusky_frames_repeat_the_previous_frame():
    spr = "s 0 0 20 20 1\nf 20 0 0 0 3\ns 5 40 10 12\n"
    assert berusky_frames(spr) == [(0, 0, 20, 20, True), (20, 0, 20, 20, True), (40, 0, 20, 20, True),
                                   (5, 40, 10, 12, False)]


def test_lua_tables_see_nested_tables_and_their_own_keys():
    lua = "spritesheets = {\n idle = { hotspot = { 1, 2 }, frames = 10, columns = 5, rows = 2 },\n" \
          " walk = { frames = 4, columns = 2, rows = 2 } }"
    tables = dict(lua_tables(lua))
    assert set(tables) == {"spritesheets", "idle", "hotspot", "walk"}
    assert lua_number(lua_flat(tables["idle"]), "frames") == 10
    assert lua_number(lua_flat(tables["spritesheets"]), "frames") is None  # the keys of its children only
    assert lua_number(tables["walk"], "rows") == 2

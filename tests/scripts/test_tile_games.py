"""scripts/tile_games.py: each game's cutting, on tiny package trees made here (no download)."""

import io
import struct
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The scripts run as files (python scripts/tile_sets.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import tile_games as games


def solid(h, w, colour, alpha=255):
    t = np.zeros((h, w, 4), np.uint8)
    t[..., :3], t[..., 3] = colour, alpha
    return t


def save(path: Path, array: np.ndarray, mode: str = "RGBA") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array[..., :3] if mode == "RGB" else array, mode)
    image.save(path)
    return path


def png_bytes(array: np.ndarray, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.fromarray(array[..., :3] if mode == "RGB" else array, mode).save(out, format="PNG")
    return out.getvalue()


def indexed(path: Path, index: np.ndarray) -> Path:
    """A palette PNG: index i is colour (i, 2i, 3i) (mod 256); index 0 black."""
    image = Image.fromarray(index.astype(np.uint8), "P")
    image.putpalette([(i * k) % 256 for i in range(256) for k in (1, 2, 3)])
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def wheres(items):
    return [where for _, where, _ in items]


def test_mrrescue_cuts_the_tile_grid_and_the_animations_named_in_the_lua(tmp_path):
    love = tmp_path / games.MRRESCUE
    love.parent.mkdir(parents=True)
    with zipfile.ZipFile(love, "w") as z:
        z.writestr("data/tiles.png", png_bytes(np.concatenate([solid(16, 16, (1, 1, 1)), solid(16, 16, (2, 2, 2))], 1)))
        z.writestr("data/human_1_run.png", png_bytes(solid(32, 40, (3, 3, 3))))
        z.writestr("data/human_2_run.png", png_bytes(solid(32, 20, (4, 4, 4))))
        z.writestr("human.lua", "self.anim = newAnimation(img.human_run[self.id], 20,32, 0.22, 4)\n"
                                "door = newAnimation(img.door, 8, 8, 1, 1)\n")  # no door.png: left out
    items = list(games.mrrescue(tmp_path))
    assert wheres(items) == ["tiles-r0c0", "tiles-r0c1", "human_1_run-r0c0", "human_1_run-r0c1", "human_2_run-r0c0"]
    assert all(t.shape == (32, 20, 4) for g, _, t in items if g == "sprites")


def test_berusky_keys_the_background_and_skips_turned_copies_and_menus(tmp_path):
    base = tmp_path / games.BERUSKY
    sheet = solid(20, 40, games.BERUSKY_KEY)
    sheet[5:15, 5:15, :3] = (200, 0, 0)
    for stem in ("klasik1", "klasik2", "menu1"):
        save(base / f"{stem}.png", sheet, "RGB")
        (base / f"{stem}.spr").write_text("s 0 0 20 20 1\nf 20 0 0 0 2\n")
    save(base / "wall1.png", sheet, "RGB")
    (base / "wall1.spr").write_text("s 0 0 40 20 0\n")
    items = list(games.berusky(tmp_path))
    assert wheres(items) == ["klasik1-0", "klasik1-1", "wall1-0"]
    keyed = items[0][2]
    assert keyed[0, 0, 3] == 0 and keyed[10, 10, 3] == 255 and (keyed[..., 3] == 255).sum() == 100
    assert items[2][2][..., 3].min() == 255  # not keyed: drawn as it is


def test_blobwars_black_is_transparent_on_sprites_and_decorations_only(tmp_path):
    base = tmp_path / games.BLOBWARS
    art = solid(32, 32, (0, 0, 0))
    art[8:24, 8:24, :3] = (0, 200, 0)
    save(base / "sprites/bob.png", art, "RGB")
    save(base / "grasslands/5.png", art, "RGB")
    save(base / "grasslands/130.png", art, "RGB")
    save(base / "common/130.png", art, "RGB")  # translucent overlays: left out
    save(base / "grasslands/day.png", art, "RGB")  # a background, not a numbered tile
    items = {w: t for _, w, t in games.blobwars(tmp_path)}
    assert set(items) == {"bob", "grasslands-5", "grasslands-130"}
    assert items["bob"][0, 0, 3] == 0 and items["grasslands-130"][0, 0, 3] == 0
    assert items["grasslands-5"][..., 3].min() == 255


def lordsawar_archive(path: Path, xml_name: str, size: int, sheets: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        files = {xml_name: f"<tileset><d_tilesize>{size}</d_tilesize></tileset>".encode()}
        files.update({f"{k}.png": png_bytes(v) for k, v in sheets.items()})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_lordsawar_cuts_squares_skips_masks_fog_and_the_interpolated_big_sets(tmp_path):
    base = tmp_path / games.LORDSAWAR
    strip = np.concatenate([solid(4, 4, (i * 10, 0, 0)) for i in range(3)], 1)
    lordsawar_archive(base / "tilesets/default.lwt", "default.lwt", 4, {"grass": strip, "fog": strip})
    lordsawar_archive(base / "tilesets/bigdefault.lwt", "bigdefault.lwt", 8, {"grass": np.repeat(strip, 2, 0)})
    lordsawar_archive(base / "army/default.lwa", "default.lwa", 4, {"archers": strip[:, :8]})
    lordsawar_archive(base / "citysets/default.lwc", "default.lwc", 4, {"castles": solid(8, 16, (5, 5, 5))})
    items = list(games.lordsawar(tmp_path))
    assert wheres(items) == ["default-grass-0", "default-grass-1", "default-grass-2",  # tilesets
                             "default-archers-0",  # army: the picture, not its mask
                             "default-castles-0", "default-castles-1"]  # cities: two tiles high
    assert items[-1][2].shape == (8, 8, 4)


def test_tecnoballz_pairs_share_names_and_are_twice_as_large(tmp_path):
    base = tmp_path / games.TECNOBALLZ
    lo = np.zeros((16, 40), np.uint8)
    lo[2:10, 2:10] = 3  # a sprite
    lo[2:10, 20:28] = 3  # the same sprite again: a duplicate pair
    lo[2:10, 30:38] = 5  # a sprite the hires sheet draws elsewhere: its pair is dropped
    hi = np.repeat(np.repeat(lo, 2, 0), 2, 1)
    hi[:, 60:] = 0
    hi[0:4, 60:76] = 5
    tiles_lo = np.arange(16 * 32).reshape(16, 32) % 7 + 1
    for name in games.TECNOBALLZ_SPRITES:
        indexed(base / "lores" / f"{name}.png", lo)
        indexed(base / "hires" / f"{name}.png", hi)
    indexed(base / "lores/tilesmap.png", tiles_lo)
    indexed(base / "hires/tilesmap.png", np.repeat(np.repeat(tiles_lo, 2, 0), 2, 1))
    pairs = list(games.tecnoballz_pairs(tmp_path))
    names = [w for _, w, _, _ in pairs]
    assert names == ["all_sprites-y2x2", "tilesmap-r0c0", "tilesmap-r0c1"]  # other sheets repeat all_sprites
    for _, _, small, large in pairs:
        assert large.shape[:2] == (2 * small.shape[0], 2 * small.shape[1])
    assert wheres(games.tecnoballz(tmp_path)) == wheres(games.tecnoballz_hires(tmp_path)) == names
    sprite = pairs[0][2]
    assert sprite.shape == (8, 8, 4) and sprite[..., 3].min() == 255  # index 0 is transparent: the box is all sprite


def test_simutrans_decodes_images_of_art_paks_only(tmp_path):
    def pak_file(path, payload):
        img = b"IMG\0" + struct.pack("<HH", 0, len(payload)) + payload
        root_node = b"ROOT" + struct.pack("<HH", 1, 0) + img
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"hdr\n\x1a" + struct.pack("<I", 1003) + root_node)
    payload = struct.pack("<hhhBhB", 0, 0, 1, 3, 1, 0) + struct.pack("<4H", 0, 1, 31 << 10, 0)
    base = tmp_path / games.SIMUTRANS
    for name in ("vehicle.Bus.pak", "menu.Bar.pak", "ground.LightTexture.pak", "ground.Water.pak"):
        pak_file(base / name, payload)
    items = list(games.simutrans(tmp_path))
    assert [(g, w) for g, w, _ in items] == [("ground", "ground.Water-0"), ("vehicle", "vehicle.Bus-0")]
    assert items[0][2][0, 0].tolist() == [248, 0, 0, 255]


def test_lgeneral_units_between_marks_and_hexes_with_their_corners_clear(tmp_path):
    base = tmp_path / games.LGENERAL
    (base / "maps").mkdir(parents=True)
    (base / "maps/x.tdb").write_bytes(b"hex_width\xbb6\nhex_height\xbb6\n")  # the byte LGeneral's files use
    sheet = solid(12, 12, (0, 0, 0))
    sheet[0, 0, :3] = sheet[0, 11, :3] = sheet[11, 0, :3] = (0, 192, 248)
    sheet[3:8, 3:8, :3] = (90, 90, 90)
    save(base / "gfx/units/pg.bmp", sheet, "RGB")
    save(base / "gfx/units/pg_move.bmp", sheet, "RGB")  # a map marker, not units
    hexes = solid(6, 12, (0, 0, 0))
    hexes[1:5, 1:5, :3] = hexes[1:5, 7:11, :3] = (50, 150, 50)
    hexes[2, 2, :3] = (0, 0, 0)  # black inside a hexagon stays
    save(base / "gfx/terrain/x/clear.bmp", hexes, "RGB")
    save(base / "gfx/terrain/x/fog.bmp", hexes, "RGB")
    items = list(games.lgeneral(tmp_path))
    assert wheres(items) == ["pg-y0", "clear-0", "clear-1"]
    unit = items[0][2]
    assert unit.shape == (10, 10, 4) and (unit[..., 3] == 255).sum() == 25
    assert items[1][2][0, 0, 3] == 0 and items[1][2][2, 2, 3] == 255


def test_hedgewars_grids_of_32_whole_flags_and_no_2x_copies(tmp_path):
    base = tmp_path / games.HEDGEWARS
    save(base / "Hats/Cap.png", solid(64, 32, (1, 2, 3)))
    save(base / "Hats/Cap@2x.png", solid(64, 64, (1, 2, 3)))
    save(base / "Graves/Odd.png", solid(30, 30, (1, 2, 3)))  # not a 32 grid
    save(base / "AmmoMenu/Ammos_base.png", solid(32, 32, (9, 9, 9)))
    save(base / "Flags/nl.png", solid(15, 22, (4, 5, 6)))
    items = list(games.hedgewars(tmp_path))
    assert wheres(items) == ["Hats-Cap-r0c0", "Hats-Cap-r1c0", "AmmoMenu-Ammos_base-r0c0", "flag-nl"]
    assert items[-1][2].shape == (15, 22, 4)


def test_widelands_spritesheet_frames_terrains_and_icons(tmp_path):
    base = tmp_path / games.WIDELANDS
    worker = base / "tribes/workers/x/carrier"
    worker.mkdir(parents=True)
    (worker / "init.lua").write_text("spritesheets = { walk = { frames = 3, columns = 2, rows = 2, "
                                     "directional = true, hotspot = { 1, 2 } } }")
    save(worker / "walk_e_1.png", solid(20, 20, (7, 7, 7)))
    save(worker / "walk_e_1_pc.png", solid(20, 20, (8, 8, 8)))  # player colour mask
    save(worker / "walk_e_2.png", solid(40, 40, (7, 7, 7)))  # another scale
    save(worker / "menu.png", solid(24, 24, (3, 3, 3)))
    save(base / "world/terrains/summer/meadow/idle.png", solid(64, 64, (0, 90, 0)))
    items = list(games.widelands(tmp_path))
    groups = [g for g, _, _ in items]
    assert groups == ["terrains", "icons", "tribes-workers", "tribes-workers", "tribes-workers"]  # 3 of 4 cells
    assert all(t.shape == (10, 10, 4) for g, _, t in items if g == "tribes-workers")


def test_freedink_sequences_from_fast_files_white_or_black_transparent(tmp_path):
    base = tmp_path / games.DINK
    (base / "Tiles").mkdir(parents=True)
    save(base / "Tiles/Ts01.bmp", solid(50, 100, (10, 20, 30)), "RGB")
    save(base / "Tiles/Splash.bmp", solid(50, 100, (10, 20, 30)), "RGB")
    white = solid(10, 10, (255, 255, 255))
    white[2:8, 2:8, :3] = (0, 0, 0)
    bmp = io.BytesIO()
    Image.fromarray(white[..., :3]).save(bmp, format="BMP")
    blobs = [bmp.getvalue()] * 2
    names = [b"W-01.BMP", b"F-01.BMP", b""]
    header = 4 + 17 * len(names)
    offsets = [header, header + len(blobs[0]), header + 2 * len(blobs[0])]
    ff = struct.pack("<I", 3) + b"".join(struct.pack("<I13s", o, n) for o, n in zip(offsets, names)) + b"".join(blobs)
    (base / "graphics/Dink/walk").mkdir(parents=True)
    (base / "graphics/Dink/walk/dir.ff").write_bytes(ff)
    (base / "Dink.ini").write_text("load_sequence_now graphics\\dink\\walk\\w- 1 43\n"
                                   "load_sequence graphics\\dink\\walk\\f- 2 BLACK\n")
    items = {w: t for _, w, t in games.freedink(tmp_path)}
    assert set(items) == {"ts01-r0c0", "ts01-r0c1", "dink-walk-w-01", "dink-walk-f-01"}
    assert items["dink-walk-w-01"][0, 0, 3] == 0 and items["dink-walk-w-01"][5, 5, 3] == 255
    assert items["dink-walk-f-01"][0, 0, 3] == 255 and items["dink-walk-f-01"][5, 5, 3] == 0


def test_boswars_frames_from_the_units_lua(tmp_path):
    base = tmp_path / games.BOSWARS
    unit = base / "units/tank"
    unit.mkdir(parents=True)
    (unit / "tank.lua").write_text('Image = {"file", GetCurrentLuaPath().."/tank.png", "size", {16, 8}},\n'
                                   'Shadow = {"file", GetCurrentLuaPath().."/tank_s.png", "size", {16, 8}},\n')
    save(unit / "tank.png", solid(16, 32, (5, 5, 5)))
    save(unit / "tank_s.png", solid(16, 32, (1, 1, 1)))
    save(unit / "ico_tank.png", solid(38, 92, (6, 6, 6)))
    items = list(games.boswars(tmp_path))
    assert wheres(items) == ["units-tank-tank-r0c0", "units-tank-tank-r0c1", "units-tank-tank-r1c0",
                             "units-tank-tank-r1c1", "ico_tank-0", "ico_tank-1"]


def test_flare_icons_and_tileset_rectangles(tmp_path):
    mod = tmp_path / games.FLARE / "core"
    save(mod / "images/icons/icons.png", solid(32, 64, (1, 1, 1)))
    save(mod / "images/icons/icons_overlay.png", solid(32, 64, (1, 1, 1)))
    save(mod / "images/tilesets/t.png", solid(40, 200, (2, 2, 2)))
    (mod / "tilesetdefs").mkdir()
    (mod / "tilesetdefs/tileset_t.txt").write_text("img=images/tilesets/t.png\ntile=16,0,0,64,32,32,16\n"
                                                  "tile=17,190,0,64,32,0,0\n")  # past the edge: left out
    items = list(games.flare(tmp_path))
    assert wheres(items) == ["core-icons-r0c0", "core-icons-r0c1", "tileset_t-16"]
    assert items[-1][2].shape == (32, 64, 4)


def test_new_sets_leave_out_big_pictures(tmp_path):
    base = tmp_path / games.LINCITY
    save(base / "tiles/house.png", solid(64, 128, (1, 1, 1)))
    save(base / "tiles/monument.png", solid(350, 512, (1, 1, 1)))
    assert wheres(games.lincity(tmp_path)) == ["tiles-house"]


def test_originals_candidates_group_the_frames_of_an_action(tmp_path):
    sprite = tmp_path / games.PINGUS / "pingus/walker"
    sprite.mkdir(parents=True)
    for side in ("left", "right"):
        (sprite / f"{side}.sprite").write_text(f'(image "{side}.png") (array 2 1) (size 32 32)')
        save(sprite / f"{side}.png", solid(32, 64, (1, 1, 1)))
    families = {f for f, _, _ in games.pingus_originals(tmp_path)}
    assert families == {"pingus-walker"}


REAL_DEBS = Path(__file__).resolve().parents[2] / "data/debs"


@pytest.mark.slow
def test_real_tecnoballz_pairs_when_the_package_is_here(tmp_path):
    debs = sorted(REAL_DEBS.glob("tecnoballz-data_*.deb"))
    if not debs:
        pytest.skip(f"no tecnoballz-data .deb in {REAL_DEBS} (scripts/tile_sets.py --debs; not downloaded by tests)")
    import subprocess
    subprocess.run(["dpkg", "-x", str(debs[0]), str(tmp_path)], check=True)
    pairs = list(games.tecnoballz_pairs(tmp_path))
    assert len(pairs) > 800
    assert all(hi.shape[:2] == (2 * lo.shape[0], 2 * lo.shape[1]) for _, _, lo, hi in pairs)
    assert [w for _, w, _, _ in pairs] == [w for _, w, _, _ in games.tecnoballz_pairs(tmp_path)]  # deterministic

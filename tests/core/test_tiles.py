import numpy as np
import pytest
from PIL import Image

from manifold_core.errors import UserError
from manifold_core.tiles import (
    Grid,
    channels_to_rgba,
    checkerboard,
    collect_tiles,
    find_images,
    read_rgba,
    resize_tile,
    rgba_to_channels,
    slice_sheet,
)


def test_reads_every_pil_mode_as_rgba(tmp_path):
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    cases = {
        "L.png": Image.fromarray(grey, "L"),
        "LA.png": Image.merge("LA", [Image.fromarray(grey), Image.fromarray(255 - grey)]),
        "RGB.bmp": Image.fromarray(np.stack([grey] * 3, -1), "RGB"),
        "RGBA.webp": Image.fromarray(np.dstack([grey] * 3 + [np.full_like(grey, 255)]), "RGBA"),
        "I16.png": Image.fromarray(grey.astype(np.uint16) * 257),
    }
    palette = Image.fromarray(grey // 16, "P")
    palette.putpalette([v for i in range(16) for v in (i * 16,) * 3])
    palette.info["transparency"] = 0
    cases["P.gif"] = palette
    for name, image in cases.items():
        image.save(tmp_path / name, lossless=True) if name.endswith("webp") else image.save(tmp_path / name)
        rgba = read_rgba(tmp_path / name)
        assert rgba.shape == (4, 4, 4) and rgba.dtype == np.uint8, name
        np.testing.assert_array_equal(rgba[..., 0], grey, err_msg=name)
    assert read_rgba(tmp_path / "LA.png")[0, 0, 3] == 255
    assert read_rgba(tmp_path / "P.gif")[0, 0, 3] == 0  # palette index 0 is transparent
    assert read_rgba(tmp_path / "P.gif")[0, 1, 3] == 255


def test_unreadable_and_missing_files_say_so(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="not an image"):
        read_rgba(tmp_path / "bad.png")
    with pytest.raises(UserError, match="no such file"):
        read_rgba(tmp_path / "missing.png")


def test_sheet_that_does_not_fit_names_the_sizes_that_would():
    with pytest.raises(UserError) as err:
        Grid(32, 32, margin=1, spacing=2).shape(100, 70, "sheet.png")
    msg = str(err.value)
    assert "sheet.png is 100x70" in msg
    # 2 or 3 tiles across: 1 + 2*32 + 1*2 + 1 = 68, 1 + 3*32 + 2*2 + 1 = 102
    assert "widths that fit: 68 or 102" in msg and "heights that fit: 68 or 102" in msg


def test_grid_round_trip_and_tiled_numbering():
    sheet = np.zeros((2 * 10 + 1, 3 * 10 + 2, 4), np.uint8)
    grid = Grid(10, 10, margin=0, spacing=1)
    for i in range(6):
        x, y = grid.origin(i % 3, i // 3)
        sheet[y:y + 10, x:x + 10] = i
    tiles = slice_sheet(sheet, grid)
    assert [int(t[0, 0, 0]) for t in tiles] == [0, 1, 2, 3, 4, 5]


def test_resize_nearest_for_integer_factors_and_filtered_otherwise():
    tile = np.random.default_rng(0).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    up = resize_tile(tile, 32)
    np.testing.assert_array_equal(up[::2, ::2], tile)
    np.testing.assert_array_equal(resize_tile(up, 16), tile)
    assert resize_tile(tile, 24).shape == (24, 24, 4)


def test_channel_conversions():
    rgba = np.array([[[[200, 100, 50, 255], [10, 20, 30, 0]]]], np.uint8)  # [1, 1, 2, 4]
    four = rgba_to_channels(rgba, 4)
    assert four.shape == (1, 4, 1, 2) and four[0, :, 0, 1].tolist() == [0, 0, 0, 0]
    assert rgba_to_channels(rgba, 3)[0, :, 0, 0].tolist() == [200, 100, 50]
    assert rgba_to_channels(rgba, 1)[0, 0, 0, 0] == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    back = channels_to_rgba(four.astype(np.float32) / 255)
    np.testing.assert_array_equal(back[0, 0, 0], rgba[0, 0, 0])
    grey = channels_to_rgba(np.full((1, 1, 2, 2), 0.5, np.float32), alpha=np.zeros((1, 2, 2), np.uint8))
    assert grey[0, 0, 0].tolist() == [128, 128, 128, 0]


def test_collect_tiles_from_folders_and_sheets(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(tmp_path / "a.png")
    Image.new("RGBA", (16, 8), (0, 255, 0, 255)).save(tmp_path / "sheet.png")
    names, tiles = collect_tiles([tmp_path / "sheet.png"], Grid(8, 8))
    assert names == [f"{tmp_path / 'sheet.png'}#0,0", f"{tmp_path / 'sheet.png'}#0,1"] and len(tiles) == 2
    names, tiles = collect_tiles([tmp_path])
    assert len(names) == 2
    with pytest.raises(UserError, match="no images"):
        (tmp_path / "empty").mkdir()
        collect_tiles([tmp_path / "empty"])


def test_an_image_too_large_to_open_safely_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.new("RGBA", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses above twice this
    with pytest.raises(UserError, match="larger than Pillow opens safely"):
        read_rgba(path)


def test_find_images_walks_in_order_skipping_temporaries_and_symlinked_folders(tmp_path):
    for rel in ("b.png", "a/c.PNG", "a/z/d.gif", ".manifold-tmp-1-abc.png", ".manifold-tmp-1-x/e.png", "f.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGBA", (2, 2)).save(tmp_path / rel, format="PNG")
    (tmp_path / "loop").symlink_to(tmp_path)  # followed, it would never end
    assert find_images(tmp_path) == [tmp_path / "a/c.PNG", tmp_path / "a/z/d.gif", tmp_path / "b.png"]


def test_checkerboard_is_two_greys_in_cells():
    board = checkerboard(4, 6, cell=2)
    assert board.shape == (4, 6, 3) and np.unique(board).tolist() == pytest.approx([0.75, 0.9])
    assert (board[0, 0] == board[1, 1]).all() and (board[0, 0] != board[0, 2]).all() and (board[0, 0] == board[2, 2]).all()

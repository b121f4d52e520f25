import numpy as np
import torch
from PIL import Image

from manifold_core.synthetic import make_tiles
from manifold_core.tiles import Grid, rgba_to_channels, slice_sheet
from manifold_train.data import augment, load_tileset


def sheet_of(tiles, cols, margin, spacing):
    n, t = len(tiles), tiles.shape[1]
    rows = -(-n // cols)
    g = Grid(t, t, margin, spacing)
    sheet = np.zeros((g.extent(rows, t), g.extent(cols, t), 4), np.uint8)
    for i, tile in enumerate(tiles):
        x, y = g.origin(i % cols, i // cols)
        sheet[y:y + t, x:x + t] = tile
    return sheet, g


def test_sheet_with_margin_and_spacing_slices_back_to_the_tiles():
    tiles = make_tiles(12, 8, seed=3)
    sheet, grid = sheet_of(tiles, cols=4, margin=2, spacing=1)
    assert sheet.shape[:2] == (2 * 2 + 3 * 8 + 2, 2 * 2 + 4 * 8 + 3)
    np.testing.assert_array_equal(slice_sheet(sheet, grid), tiles)


def test_load_tileset_skips_empty_and_duplicate_tiles(tmp_path):
    tiles = make_tiles(10, 16, seed=1)
    for i, t in enumerate(tiles):
        Image.fromarray(t).save(tmp_path / f"t{i}.png")
    Image.fromarray(tiles[3]).save(tmp_path / "copy_of_3.png")
    Image.fromarray(np.zeros((16, 16, 4), np.uint8)).save(tmp_path / "empty.png")
    ts = load_tileset([tmp_path], channels=4, size=16, val_percent=30)
    assert ts.stats == {"found": 12, "empty": 1, "duplicates": 1, "too_small": 0, "train": len(ts.train),
                        "val": len(ts.val)}
    assert len(ts.train) + len(ts.val) == 10
    assert ts.train.dtype == torch.uint8 and ts.train.shape[1:] == (4, 16, 16)


def test_split_depends_on_content_only(tmp_path):
    tiles = make_tiles(40, 16, seed=2)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for i, t in enumerate(tiles):
        Image.fromarray(t).save(a / f"{i:02d}.png")
        Image.fromarray(t).save(b / f"{39 - i:02d}.png")  # same tiles, other names and order
    sa, sb = load_tileset([a], 4, 16, val_percent=25), load_tileset([b], 4, 16, val_percent=25)
    key = lambda t: sorted(x.numpy().tobytes() for x in t)
    assert key(sa.val) == key(sb.val) and 0 < len(sa.val) < 40


def test_sheets_and_other_tile_sizes_come_to_the_model_size(tmp_path):
    sheet, grid = sheet_of(make_tiles(6, 8, seed=4, transparent_share=0), cols=3, margin=1, spacing=2)
    Image.fromarray(sheet).save(tmp_path / "sheet.png")
    ts = load_tileset([tmp_path / "sheet.png"], channels=3, size=16, grid=grid, val_percent=0)
    assert ts.train.shape == (6, 3, 16, 16)
    # nearest 2x: every 2x2 block is one source pixel
    t = ts.train[0]
    assert torch.equal(t[:, 0::2, 0::2], t[:, 1::2, 1::2])


def test_augment_flips_and_shifts_each_tile_on_its_own():
    batch = torch.arange(64 * 16, dtype=torch.float32).reshape(64, 1, 4, 4)
    out = augment(batch, torch.Generator().manual_seed(0), max_shift=1)
    # every output tile is a permutation of its own input's pixels
    assert torch.equal(out.flatten(1).sort(dim=1).values, batch.flatten(1).sort(dim=1).values)
    assert (out != batch).flatten(1).any(dim=1).sum() > 32


def test_augment_without_shift_only_flips():
    batch = torch.arange(32 * 16, dtype=torch.float32).reshape(32, 1, 4, 4)
    out = augment(batch, torch.Generator().manual_seed(1), max_shift=0)
    variants = lambda t: [t, t.flip(-1), t.flip(-2), t.flip(-1).flip(-2)]
    kinds = [next(k for k, v in enumerate(variants(b)) if torch.equal(o, v)) for o, b in zip(out, batch)]
    assert len(set(kinds)) == 4  # all four flip combinations drawn


def test_without_resampling_tiles_keep_their_pixels(tmp_path):
    """The local kind's dataset: a 32 px tile is four 16 px squares, an 8 px tile is left out."""
    rng = np.random.default_rng(0)
    noise = lambda n: np.concatenate([rng.integers(0, 256, (n, n, 3)), np.full((n, n, 1), 255)], -1).astype(np.uint8)
    big = noise(32)
    Image.fromarray(big).save(tmp_path / "big.png")
    Image.fromarray(noise(8)).save(tmp_path / "small.png")
    ts = load_tileset([tmp_path], channels=4, size=16, val_percent=50, resample=False)
    assert ts.stats["too_small"] == 1 and len(ts.train) + len(ts.val) == 4
    big = rgba_to_channels(big[None], 4)[0]
    squares = {bytes(t.numpy().tobytes()) for t in torch.cat([ts.train, ts.val])}
    assert bytes(big[:, :16, 16:].tobytes()) in squares  # the top-right square, pixel for pixel

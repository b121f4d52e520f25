import numpy as np
import pytest

from manifold_eval.mmpx import luma, magnify, mmpx2x, pack, unpack

BACKGROUND = (250, 250, 250, 255)
INK = (20, 20, 60, 255)
CLEAR = (0, 0, 0, 0)


def canvas(rows: list[str], colours: dict[str, tuple]) -> np.ndarray:
    """A [1, h, w, 4] tile from a picture in letters."""
    return np.array([[colours[c] for c in row] for row in rows], np.uint8)[None]


def is_ink(out: np.ndarray) -> np.ndarray:
    return (out[0] == INK).all(axis=-1)


def runs(row: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True in a row."""
    found, start = [], None
    for x, v in enumerate(list(row) + [False]):
        if v and start is None:
            start = x
        elif not v and start is not None:
            found.append((start, x - start))
            start = None
    return found


# ---------------------------------------------------------------- a per-pixel reference
def reference_mmpx(tile: np.ndarray) -> np.ndarray:
    """The paper's rules, one source pixel at a time (slow; the test's independent reading of them)."""
    h, w = tile.shape[:2]
    p = pack(tile[None])[0]
    lum = luma(p)

    def src(x, y):
        return int(p[min(max(y, 0), h - 1), min(max(x, 0), w - 1)])

    def lu(x, y):
        return int(lum[min(max(y, 0), h - 1), min(max(x, 0), w - 1)])

    out = np.zeros((2 * h, 2 * w), np.uint32)
    for y in range(h):
        for x in range(w):
            A, B, C = src(x - 1, y - 1), src(x, y - 1), src(x + 1, y - 1)
            D, E, F = src(x - 1, y), src(x, y), src(x + 1, y)
            G, H, I = src(x - 1, y + 1), src(x, y + 1), src(x + 1, y + 1)  # noqa: E741
            P, Q, R, S = src(x, y - 2), src(x - 2, y), src(x + 2, y), src(x, y + 2)
            Bl, Dl, El, Fl, Hl = lu(x, y - 1), lu(x - 1, y), lu(x, y), lu(x + 1, y), lu(x, y + 1)
            J = K = L = M = E
            if D == B and D != H and D != F and (El >= Dl or E == A) and E in (A, C, G) and (
                    El < Dl or A != D or E != P or E != Q):
                J = D
            if B == F and B != D and B != H and (El >= Bl or E == C) and E in (A, C, I) and (
                    El < Bl or C != B or E != P or E != R):
                K = B
            if H == D and H != F and H != B and (El >= Hl or E == G) and E in (A, G, I) and (
                    El < Hl or G != H or E != S or E != Q):
                L = H
            if F == H and F != B and F != D and (El >= Fl or E == I) and E in (C, G, I) and (
                    El < Fl or I != H or E != R or E != S):
                M = F
            if E != F and E == C == I == D == Q and F == B == H and F != src(x + 3, y):
                K = M = F
            if E != D and E == A == G == F == R and D == B == H and D != src(x - 3, y):
                J = L = D
            if E != H and E == G == I == B == P and H == D == F and H != src(x, y + 3):
                L = M = H
            if E != B and E == A == C == H == S and B == D == F and B != src(x, y - 3):
                J = K = B
            if Bl < El and E == G == H == I == S and E not in (A, D, C, F):
                J = K = B
            if Hl < El and E == A == B == C == P and E not in (D, G, I, F):
                L = M = H
            if Fl < El and E == A == D == G == Q and E not in (B, C, I, H):
                K = M = F
            if Dl < El and E == C == F == I == R and E not in (B, A, G, H):
                J = L = D
            if H != B:
                if H not in (A, E, C):
                    if H == G == F == R and H not in (D, src(x + 2, y - 1)):
                        L = M
                    if H == I == D == Q and H not in (F, src(x - 2, y - 1)):
                        M = L
                if B not in (I, G, E):
                    if B == A == F == R and B not in (D, src(x + 2, y + 1)):
                        J = K
                    if B == C == D == Q and B not in (F, src(x - 2, y + 1)):
                        K = J
            if F != D:
                if D not in (I, E, C):
                    if D == A == H == S and D not in (B, src(x + 1, y + 2)):
                        J = L
                    if D == G == B == P and D not in (H, src(x + 1, y - 2)):
                        L = J
                if F not in (E, A, G):
                    if F == C == H == S and F not in (B, src(x - 1, y + 2)):
                        K = M
                    if F == I == B == P and F not in (H, src(x - 1, y - 2)):
                        M = K
            out[2 * y, 2 * x], out[2 * y, 2 * x + 1], out[2 * y + 1, 2 * x], out[2 * y + 1, 2 * x + 1] = J, K, L, M
    return unpack(out)


def palette_tiles(count: int, size: int, colours: int, seed: int) -> np.ndarray:
    """Blocky random tiles from a few colours (transparent among them), so the rules fire often."""
    rng = np.random.default_rng(seed)
    palette = np.concatenate([rng.integers(0, 256, (colours - 1, 4)), [[0, 0, 0, 0]]]).astype(np.uint8)
    palette[:-1, 3] = rng.choice([255, 255, 128], colours - 1)
    small = rng.integers(0, colours, (count, size // 2 + 1, size // 2 + 1))
    index = small.repeat(2, axis=1).repeat(2, axis=2)[:, :size, :size]
    noise = rng.random((count, size, size)) < 0.25  # single pixels and thin features too
    index = np.where(noise, rng.integers(0, colours, index.shape), index)
    return palette[index]


@pytest.mark.parametrize("colours, seed", [(4, 1), (3, 2), (2, 5)])
def test_vectorised_rules_equal_the_per_pixel_reading_of_the_paper(colours, seed):
    tiles = palette_tiles(6, 12, colours, seed=seed)
    out = mmpx2x(tiles)
    for tile, result in zip(tiles, out):
        assert (result == reference_mmpx(tile)).all()


def test_rules_fire_on_those_tiles():
    tiles = palette_tiles(6, 12, 4, seed=1)  # else the comparison above would prove little
    nearest = tiles.repeat(2, axis=1).repeat(2, axis=2)
    assert (mmpx2x(tiles) != nearest).any(axis=-1).sum() > 50  # of 3456 output pixels


# ---------------------------------------------------------------- cases the rules fix
def test_a_flat_tile_stays_flat_at_any_size():
    for h, w in ((1, 1), (1, 5), (4, 3), (9, 9)):
        flat = np.zeros((2, h, w, 4), np.uint8) + np.array([10, 200, 30, 255], np.uint8)
        for factor in (2, 4):
            out = magnify(flat, factor)
            assert out.shape == (2, h * factor, w * factor, 4) and (out == flat[0, 0, 0]).all()


def test_a_lone_pixel_stays_a_2x2_block():
    tile = canvas(["....."] * 2 + ["..#.."] + ["....."] * 2, {".": BACKGROUND, "#": INK})
    expected = np.zeros((10, 10), bool)
    expected[4:6, 4:6] = True
    assert (is_ink(mmpx2x(tile)) == expected).all()
    out = mmpx2x(canvas(["....."] * 2 + ["..#.."] + ["....."] * 2, {".": CLEAR, "#": INK}))  # on transparency too
    assert ((out[0] == INK).all(axis=-1) == expected).all()


def test_a_one_pixel_diagonal_line_stays_one_unbroken_line():
    size = 10
    rows = ["".join("#" if x == y else "." for x in range(size)) for y in range(size)]
    for background in (BACKGROUND, CLEAR):
        ink = is_ink(mmpx2x(canvas(rows, {".": background, "#": INK})))
        # Away from the clamped border: every output row holds one run of 3 ink pixels, one pixel on
        # from the row above: a smooth diagonal one source pixel across, where nearest makes stairs of 2.
        starts = []
        for y in range(3, 2 * size - 3):
            (run,) = runs(ink[y])
            assert run[1] == 3
            starts.append(run[0])
        assert np.diff(starts).tolist() == [1] * (len(starts) - 1)


@pytest.mark.parametrize("fill_is_darker", [True, False])
def test_a_thick_1to1_edge_is_smoothed_on_one_side_only(fill_is_darker):
    light, dark = (230, 230, 210, 255), (40, 30, 30, 255)
    fill, background = (dark, light) if fill_is_darker else (light, dark)
    size = 10
    rows = ["".join("#" if x <= y else "." for x in range(size)) for y in range(size)]
    out = mmpx2x(canvas(rows, {"#": fill, ".": background}))
    filled = (out[0] == fill).all(axis=-1)
    lengths = [runs(filled[y])[0][1] for y in range(3, 2 * size - 3)]  # one run from the left edge a row
    assert all(runs(filled[y])[0][0] == 0 for y in range(3, 2 * size - 3))
    # the luma tie-break fills the stair on one side only: the edge moves one output pixel a row
    assert np.diff(lengths).tolist() == [1] * (len(lengths) - 1)


def test_square_corners_stay_square():
    tile = canvas(["......", ".####.", ".####.", ".####.", ".####.", "......"], {".": BACKGROUND, "#": INK})
    nearest = tile.repeat(2, axis=1).repeat(2, axis=2)
    assert (mmpx2x(tile) == nearest).all()


def test_no_new_colour_or_alpha_ever():
    tiles = palette_tiles(20, 16, 5, seed=4)
    for factor in (2, 4):
        out = magnify(tiles, factor)
        for tile, result in zip(tiles, out):
            source = {tuple(c) for c in tile.reshape(-1, 4)}
            assert {tuple(c) for c in result.reshape(-1, 4)} <= source
            assert set(np.unique(result[..., 3])) <= set(np.unique(tile[..., 3]))


def test_transparency_is_kept():
    tile = canvas(["........", "...##...", "..####..", "..####..", "...##...", "........", "........",
                   "........"], {".": CLEAR, "#": INK})
    out = mmpx2x(tile)
    # a pixel whose whole 5x5 neighbourhood is transparent stays four transparent pixels
    clear = (tile[0, ..., 3] == 0)
    padded = np.pad(clear, 2, constant_values=True)
    quiet = np.array([[padded[y:y + 5, x:x + 5].all() for x in range(8)] for y in range(8)])
    assert (out[0, ..., 3].reshape(8, 2, 8, 2).max(axis=(1, 3))[quiet] == 0).all()
    assert set(np.unique(out[..., 3])) == {0, 255}


def test_4x_is_two_passes_and_3x_is_refused():
    tiles = palette_tiles(3, 8, 4, seed=2)
    assert (magnify(tiles, 4) == mmpx2x(mmpx2x(tiles))).all()
    with pytest.raises(ValueError, match="2 or 4"):
        magnify(tiles, 3)


def test_pack_round_trip_and_luma_order():
    tiles = palette_tiles(2, 6, 4, seed=3)
    assert (unpack(pack(tiles)) == tiles).all()
    black, grey, clear, white = pack(np.array([[[[0, 0, 0, 255], [80, 80, 80, 255], [0, 0, 0, 0],
                                                 [255, 255, 255, 255]]]], np.uint8))[0, 0]
    # dark lines win over light backgrounds, and over transparency, which counts as a light grey
    assert luma(black) < luma(grey) < luma(clear) < luma(white)

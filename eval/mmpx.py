"""MMPX: style-preserving 2x pixel-art magnification (McGuire and Gagiu, "MMPX Style-Preserving
Pixel-Art Magnification", Journal of Computer Graphics Techniques 10(2), 2021), written here
from the paper's rules as whole-array numpy operations (every tile and pixel at once).

Data flow: tiles -> degrade -> **scalers: MMPX** -> metrics.

    magnify(tiles, 2)   # [N, h, w, 4] uint8 RGBA -> [N, 2h, 2w, 4]; 4: MMPX twice

Each source pixel E becomes four output pixels J K / L M, each a copy of E or of a neighbour,
so the output holds only colours of the input (exact palette, exact alpha). Neighbours, with
the edge clamped (each tile is its own image):

          P
        A B C
      Q D E F R
        G H I
          S

Pixels are compared whole (RGBA as one 32-bit value). Ties are broken by the paper's luma
(R + G + B + 1) * (256 - alpha), so dark lines win over light backgrounds, and transparency
(colour 0 under it) counts as 256, as light as an opaque grey of 85: dark outlines win over it.
The rules, applied in the paper's order (later ones overwrite earlier ones, and the 2:1 rules
copy what earlier rules put in J..M):

1. 1:1 slopes: a corner output takes the colour of the two neighbours that meet there when they
   form a diagonal edge (EPX's test), with the luma tie-break against doubling a thick edge, the
   centre's own colour on the corner (square corners stay square), and the bump exception.
2. Line intersections: a single pixel bridging a line that passes beside it joins that line;
   a notch at the edge of a checkerboard does not.
3. Triangle tips: the tip of a bright triangle on a darker background is squared off.
4. 2:1 slopes: along a line two pixels across for one up (or its seven symmetric variants) one
   more output pixel is extended from its neighbour.

A flat area stays flat, a lone pixel stays a 2x2 block, a one-pixel diagonal line stays one
unbroken diagonal, and no colour is ever made up (tests/eval/test_mmpx.py).
"""

from __future__ import annotations

import numpy as np

SCALES = (2, 4)  # 2x, and 4x as MMPX twice; 3x is not a power of 2: no MMPX for it
REACH = 3  # the rules look at most 3 pixels away (the intersection rules' second clause)


def pack(tiles: np.ndarray) -> np.ndarray:
    """[N, h, w, 4] uint8 RGBA -> [N, h, w] uint32, one value per pixel (R in the low byte, A on top)."""
    t = np.ascontiguousarray(tiles, dtype=np.uint8)
    return t.view(np.dtype("<u4"))[..., 0]


def unpack(pixels: np.ndarray) -> np.ndarray:
    """The inverse of pack."""
    return np.ascontiguousarray(pixels, dtype="<u4")[..., None].view(np.uint8)


def luma(pixels: np.ndarray) -> np.ndarray:
    """The paper's tie-break brightness: (R + G + B + 1) * (256 - alpha); opaque colours 1..766,
    transparent black 256."""
    p = pixels.astype(np.int64)
    return ((p & 0xFF) + ((p >> 8) & 0xFF) + ((p >> 16) & 0xFF) + 1) * (256 - ((p >> 24) & 0xFF))


def mmpx2x(tiles: np.ndarray) -> np.ndarray:
    """[N, h, w, 4] uint8 RGBA -> [N, 2h, 2w, 4] uint8: one MMPX pass."""
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, h, w, _ = tiles.shape
    padded = np.pad(pack(tiles), ((0, 0), (REACH, REACH), (REACH, REACH)), mode="edge")

    def at(dy: int, dx: int) -> np.ndarray:
        return padded[:, REACH + dy:REACH + dy + h, REACH + dx:REACH + dx + w]

    A, B, C = at(-1, -1), at(-1, 0), at(-1, 1)
    D, E, F = at(0, -1), at(0, 0), at(0, 1)
    G, H, I = at(1, -1), at(1, 0), at(1, 1)  # noqa: E741 - the paper's names
    P, Q, R, S = at(-2, 0), at(0, -2), at(0, 2), at(2, 0)
    Bl, Dl, El, Fl, Hl = luma(B), luma(D), luma(E), luma(F), luma(H)

    def eq(x, *others):
        out = x == others[0]
        for o in others[1:]:
            out &= x == o
        return out

    def none(x, *others):
        out = x != others[0]
        for o in others[1:]:
            out &= x != o
        return out

    J, K, L, M = E.copy(), E.copy(), E.copy(), E.copy()

    # 1. 1:1 slopes: EPX's corner test | the luma tie-break (thin or transparent features always
    # pass) | the centre's colour on the corner (keeps square corners) | not a 1-pixel bump.
    J = np.where(eq(D, B) & none(D, H, F) & ((El >= Dl) | (E == A)) & ~none(E, A, C, G)
                 & ((El < Dl) | (A != D) | (E != P) | (E != Q)), D, J)
    K = np.where(eq(B, F) & none(B, D, H) & ((El >= Bl) | (E == C)) & ~none(E, A, C, I)
                 & ((El < Bl) | (C != B) | (E != P) | (E != R)), B, K)
    L = np.where(eq(H, D) & none(H, F, B) & ((El >= Hl) | (E == G)) & ~none(E, A, G, I)
                 & ((El < Hl) | (G != H) | (E != S) | (E != Q)), H, L)
    M = np.where(eq(F, H) & none(F, B, D) & ((El >= Fl) | (E == I)) & ~none(E, C, G, I)
                 & ((El < Fl) | (I != H) | (E != R) | (E != S)), F, M)

    # 2. Disconnected line intersections: the centre sits inside a diagonal corner of its own
    # colour and the other colour runs on past it | not a notch at a checkerboard's edge.
    right = (E != F) & eq(E, C, I, D, Q) & eq(F, B, H) & (F != at(0, 3))
    K, M = np.where(right, F, K), np.where(right, F, M)
    left = (E != D) & eq(E, A, G, F, R) & eq(D, B, H) & (D != at(0, -3))
    J, L = np.where(left, D, J), np.where(left, D, L)
    down = (E != H) & eq(E, G, I, B, P) & eq(H, D, F) & (H != at(3, 0))
    L, M = np.where(down, H, L), np.where(down, H, M)
    up = (E != B) & eq(E, A, C, H, S) & eq(B, D, F) & (B != at(-3, 0))
    J, K = np.where(up, B, J), np.where(up, B, K)

    # 3. Tips of bright triangles on dark backgrounds, squared off.
    tip = (Bl < El) & eq(E, G, H, I, S) & none(E, A, D, C, F)
    J, K = np.where(tip, B, J), np.where(tip, B, K)
    tip = (Hl < El) & eq(E, A, B, C, P) & none(E, D, G, I, F)
    L, M = np.where(tip, H, L), np.where(tip, H, M)
    tip = (Fl < El) & eq(E, A, D, G, Q) & none(E, B, C, I, H)
    K, M = np.where(tip, F, K), np.where(tip, F, M)
    tip = (Dl < El) & eq(E, C, F, I, R) & none(E, B, A, G, H)
    J, L = np.where(tip, D, J), np.where(tip, D, L)

    # 4. 2:1 slopes of one colour, apart from everything on one side: extend an output pixel
    # from its neighbour (what the rules above left there, not the source).
    across = H != B
    above = across & none(H, A, E, C)
    L = np.where(above & eq(H, G, F, R) & none(H, D, at(-1, 2)), M, L)
    M = np.where(above & eq(H, I, D, Q) & none(H, F, at(-1, -2)), L, M)
    below = across & none(B, I, G, E)
    J = np.where(below & eq(B, A, F, R) & none(B, D, at(1, 2)), K, J)
    K = np.where(below & eq(B, C, D, Q) & none(B, F, at(1, -2)), J, K)
    across = F != D
    right_of = across & none(D, I, E, C)
    J = np.where(right_of & eq(D, A, H, S) & none(D, B, at(2, 1)), L, J)
    L = np.where(right_of & eq(D, G, B, P) & none(D, H, at(-2, 1)), J, L)
    left_of = across & none(F, E, A, G)
    K = np.where(left_of & eq(F, C, H, S) & none(F, B, at(2, -1)), M, K)
    M = np.where(left_of & eq(F, I, B, P) & none(F, H, at(-2, -1)), K, M)

    out = np.empty((n, 2 * h, 2 * w), np.uint32)
    out[:, 0::2, 0::2], out[:, 0::2, 1::2], out[:, 1::2, 0::2], out[:, 1::2, 1::2] = J, K, L, M
    return unpack(out)


def magnify(tiles: np.ndarray, factor: int) -> np.ndarray:
    """MMPX at 2x, or 4x as two passes; any other factor is a ValueError (MMPX is a 2x filter)."""
    if factor not in SCALES:
        raise ValueError(f"MMPX magnifies by {' or '.join(map(str, SCALES))}, not {factor}")
    out = mmpx2x(tiles)
    return mmpx2x(out) if factor == 4 else out

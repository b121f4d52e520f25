"""Render new tiles that mix several source tiles under masks, in the model's latent space.

Data flow: tiles -> masks (core/wang.py, core/variants.py) -> **composite rendering** -> the CLI
(`manifold transitions`, `manifold variants`) -> files.

    tiles = render_composite(model, sources, labels, 64, 64, RenderOptions(edges="auto", palette="auto", alpha="auto"))
    # sources [K, h, w, 4] uint8 (one size); labels(cells_h, cells_w) -> [N, cells_h + 2, cells_w + 2] ints in 0..K-1
    # -> [N, 64, 64, 4] uint8: tile n drawn from source labels[n, y, x] at every cell

**How the sources are mixed** depends on what the model's latent is (its card):

- *a grid* (the local and mixture kinds, the default model): every source is encoded on its own
  (wrapped edges for a seamless source, so its latent is periodic), and each new tile's latent
  grid takes, cell by cell, the cell of the source its label names; the decoder then renders
  that grid. The grid carries each cell's own colour beside its features, so the mixture
  decoder draws a boundary from the 3x3 real colours around each output pixel (the pixel style:
  the exact colour of one of them): an A pixel, a B pixel, or a soft step between the two, never
  a cross-fade of the two textures, and every cell away from a boundary renders exactly as the
  plain upscale of its source. A mask of whole cells (never a fraction) keeps it so; a
  fractional mix of two latents would be a mixed colour. Because the decoder reads one ring of
  cells around a point, two tiles whose labels agree in the two cells on each side of their
  shared edge join exactly as one picture would (what core/wang.py's bands guarantee). Encoding
  the composited image instead would let the encoder's 9-pixel reach carry a neighbour's
  unknown content into the edge: no longer exact.
- *one code per tile* (the seed model): one code cannot hold two terrains, so each source is
  rendered at the output size and the pictures are composited under the labels drawn at that
  size. The joins follow the same masks, but the seed model's pictures of a source do not tile
  themselves, so its seams are the seed model's.

Models that render in steps (the card's scale_step: 32 -> 64 -> 128) composite in the last step:
the sources are first rendered to its input size as upscale renders them (each on its own, the
same edges), then mixed there, so the masks are drawn at that finer grid of cells.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import ModelError
from .pixelart import finish, snaps
from .runtime import RenderOptions, TileModel, edge_mode, nearest
from .tiles import channels_to_rgba, unpremultiply

Labels = Callable[[int, int], np.ndarray]  # (cells_h, cells_w) -> [N, cells_h + 2, cells_w + 2] source indexes
COMPOSITE_BATCH = 32  # new tiles whose latents are held and decoded together (memory: 52 x 66 x 66 floats each at 64)


def grid_latent(model: TileModel) -> bool:
    """Whether the model's latent is a grid of cells over the tile (local and mixture kinds)."""
    return model.card.input_size is None and model.card.pad > 0


def source_edges(sources: np.ndarray, edges: str) -> list[str]:
    """clamp or wrap for each source, decided once on the source itself (auto: wrap the seamless ones)."""
    return [edge_mode(tile, edges) for tile in sources]


def last_input(model: TileModel, sources: np.ndarray, height: int, width: int, edges: list[str],
               exact: np.ndarray) -> np.ndarray:
    """The sources rendered to the size the last pass starts from, each as upscale renders it."""
    steps = model.passes(sources.shape[1], sources.shape[2], height, width)
    current = sources
    for size in steps[:-1]:
        current = np.concatenate([model.render_pass(current[k:k + 1], *size, edges[k], exact[k:k + 1])
                                  for k in range(len(current))])
    return current


def pixel_cells(size: int, cells: int) -> np.ndarray:
    """The cell (counting the ring as cell 0) each of `size` output pixels falls in, on one axis."""
    return np.minimum(((np.arange(size) + 0.5) * cells / size).astype(np.int64), cells - 1) + 1


def render_composite(model: TileModel, sources: np.ndarray, labels: Labels, height: int, width: int,
                     options: RenderOptions = RenderOptions(), advance: Callable[[int], None] = lambda n: None,
                     ) -> np.ndarray:
    """[N, height, width, 4] uint8: new tile n drawn from source labels(...)[n] cell by cell (see the
    module's docstring); finished with options.palette and .alpha as one picture of all the sources
    (their colours together are the palette kept)."""
    together = np.concatenate(list(sources), axis=1)  # the sources side by side: one palette, one alpha rule
    # each source in the style upscale gives it: the exact colours of the pixel style where its palette is kept
    exact = np.array([model.exact is not None and snaps(tile, options.palette) for tile in sources])
    edges = source_edges(sources, options.edges)
    if grid_latent(model):
        rendered = _grid_composite(model, sources, labels, height, width, edges, exact, advance)
    else:
        rendered = _image_composite(model, sources, labels, height, width, edges, options, advance)
    return finish(rendered, [together] * len(rendered), options.palette, options.alpha)


def _grid_composite(model, sources, labels, height, width, edges, exact, advance) -> np.ndarray:
    current = last_input(model, sources, height, width, edges, exact)
    cells_h, cells_w = current.shape[1:3]
    latents = np.concatenate([model.encode(model.encoder_input(current[k:k + 1], edges[k]))
                              for k in range(len(current))])
    if latents.ndim != 4 or latents.shape[2:] != (cells_h + 2, cells_w + 2):
        raise ModelError(f"{model.encoder.name}: its latent is not a grid of {cells_h + 2}x{cells_w + 2} cells "
                         f"for a {cells_w}x{cells_h} input, as model.json's pad says; export the model again")
    chosen = labels(cells_h, cells_w)
    yy, xx = np.mgrid[:cells_h + 2, :cells_w + 2]
    out = np.empty((len(chosen), height, width, 4), np.uint8)
    for start in range(0, len(chosen), COMPOSITE_BATCH):
        part = chosen[start:start + COMPOSITE_BATCH]
        grid = np.ascontiguousarray(latents[part, :, yy, xx].transpose(0, 3, 1, 2))  # [n, D, cells_h + 2, cells_w + 2]
        if exact.all() or not exact.any():
            images = model.decode(grid, height, width, model.exact if exact.all() else None)
        else:  # each output pixel in the style of the source of the cell it falls in
            smooth, crisp = model.decode(grid, height, width), model.decode(grid, height, width, model.exact)
            own = exact[part[:, pixel_cells(height, cells_h)[:, None], pixel_cells(width, cells_w)[None, :]]]
            images = np.where(own[:, None], crisp, smooth)
        if model.card.premultiplied:
            unpremultiply(images)
        alpha = None
        if model.channels < 4:  # the model draws no alpha: the sources' own, composited the same way
            alpha = np.stack([nearest(current[p[1:-1, 1:-1], yy[1:-1, 1:-1] - 1, xx[1:-1, 1:-1] - 1, 3], height, width)
                              for p in part])
        out[start:start + len(part)] = channels_to_rgba(images, alpha)
        advance(len(part))
    return out


def _image_composite(model, sources, labels, height, width, edges, options, advance) -> np.ndarray:
    plain = RenderOptions(palette="off", alpha="smooth")
    renders = np.concatenate([np.concatenate(list(model.render(sources[k:k + 1], height, width,
                                                               RenderOptions(edges[k], plain.palette, plain.alpha))))
                              for k in range(len(sources))])
    chosen = labels(height, width)[:, 1:-1, 1:-1]
    yy, xx = np.mgrid[:height, :width]
    out = renders[chosen, yy, xx]
    advance(len(out))
    return out

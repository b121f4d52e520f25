"""`manifold upscale --style`: auto (the default) finishes crisp pixel art as pixel art and leaves
soft art as rendered; --palette and --alpha override the style's choice."""

import numpy as np
from conftest import run_cli
from PIL import Image

from manifold_core.pixelart import palette_of


def sprite(path, soft=False):
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    tile = colours[rng.integers(0, 5, (16, 16))]
    tile[..., 3] = np.where(rng.random((16, 16)) < 0.3, 0, 255)
    if soft:
        tile[..., 3] = np.where(tile[..., 3] == 0, 60, 200)
    Image.fromarray(tile).save(path)
    return tile


def rendered(tmp_path, name, *options):
    out = tmp_path / f"{name}-out.png"
    result = run_cli("upscale", tmp_path / f"{name}.png", "--res", 32, "-o", out, "-q", *options)
    assert result.exit_code == 0, result.output
    return np.array(Image.open(out).convert("RGBA"))


def test_auto_keeps_a_crisp_tiles_palette_and_hard_alpha(tmp_path):
    source = sprite(tmp_path / "crisp.png")
    out = rendered(tmp_path, "crisp")
    assert set(np.unique(out[..., 3])) <= {0, 255}
    visible = {tuple(c) for c in out[out[..., 3] > 0].reshape(-1, 4)}
    assert visible <= {tuple(c) for c in palette_of(source)}
    smooth = rendered(tmp_path, "crisp", "--style", "smooth")
    assert len(np.unique(smooth[..., 3])) > 2  # as rendered: soft edges


def test_auto_leaves_soft_alpha_soft_and_options_override_the_style(tmp_path):
    sprite(tmp_path / "soft.png", soft=True)
    assert not set(np.unique(rendered(tmp_path, "soft")[..., 3])) <= {0, 255}  # its own soft alpha stays
    assert set(np.unique(rendered(tmp_path, "soft", "--alpha", "cut")[..., 3])) <= {0, 255}
    assert set(np.unique(rendered(tmp_path, "soft", "--style", "pixel")[..., 3])) <= {0, 255}

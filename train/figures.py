"""A run's figures (written by the trainer at the end): loss curves over inputs, and validation previews.

Data flow: tiles -> dataset -> model -> **trainer** (figures at the end of a run) -> checkpoint.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from manifold_core.files import atomic_write_stream
from manifold_core.tiles import checkerboard


def plot_losses(log_csv: str | Path, out_png: str | Path, title: str = "") -> None:
    rows = list(csv.DictReader(Path(log_csv).open()))
    inputs = [int(r["inputs"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(inputs, [float(r["train_mse"]) for r in rows], label="train MSE (augmented)")
    ax.plot(inputs, [float(r["val_mse"]) for r in rows], label="validation MSE", marker=".")
    ax.set_yscale("log")
    ax.set_xlabel("inputs (tiles seen)")
    ax.set_ylabel("reconstruction MSE")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(title or "training")
    fig.tight_layout()
    atomic_write_stream(out_png, lambda f: fig.savefig(f, format="png"), durable=False,
                        replace_unmarked=True)  # into the run folder, whose files are the run's
    plt.close(fig)


def to_display(image: np.ndarray) -> np.ndarray:
    """[C, H, W] in [0, 1] -> [H, W, 3] for imshow: grey as grey, RGBA over a checkerboard."""
    c, h, w = image.shape
    if c == 1:
        return np.repeat(image[0][..., None], 3, axis=-1)
    rgb = image[:3].transpose(1, 2, 0)
    if c == 4:
        alpha = image[3][..., None]
        rgb = rgb * alpha + checkerboard(h, w, max(1, h // 8)) * (1 - alpha)
    return np.clip(rgb, 0, 1)


@torch.no_grad()
def plot_repros(model, tiles: torch.Tensor, out_png: str | Path, count: int = 8) -> None:
    """Rows of validation tiles, one column per picture the model kind previews (`preview`):
    original | reconstruction | rendered at 2x for the global kind; original | 2x from shrunk
    tiles | rendered at 2x for the local kind."""
    model.eval()
    tiles = tiles[:count].float().cpu() / 255
    model = model.cpu()
    columns = [(label, images.numpy()) for label, images in model.preview(tiles)]
    n = len(tiles)
    fig, axes = plt.subplots(n, len(columns), figsize=(2 * len(columns), 2 * n), dpi=110, squeeze=False)
    for i in range(n):
        for j, (label, images) in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(to_display(images[i]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label, fontsize=8)
    fig.tight_layout()
    atomic_write_stream(out_png, lambda f: fig.savefig(f, format="png"), durable=False,
                        replace_unmarked=True)  # into the run folder, whose files are the run's
    plt.close(fig)

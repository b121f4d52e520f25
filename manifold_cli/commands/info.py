"""`manifold info`: the embedded models, the presets, a model's card."""

from __future__ import annotations

import json
from typing import Optional

import typer

from manifold_core.errors import UserError

from ..app import (
    app,
    fail,
    need_torch,
)


def preset_names() -> list[str] | str:
    """Every kind's presets; the kinds are PyTorch modules, so without torch a note says how to get them."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "install the [train] extra (PyTorch) to list and train presets: pip install 'manifold-tiles[train]'"
    from manifold_train.kinds import presets

    return list(presets())


@app.command()
def info(
    preset: Optional[str] = typer.Option(None, help="A named preset, e.g. seed-b8-h128."),
    model: Optional[str] = typer.Option(None, help="A model folder (from `manifold export`) or an embedded "
                                        "model's name (default, seed)."),
    channels: Optional[int] = typer.Option(None, help="With --preset: 1, 3 or 4 channels instead of the preset's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
):
    """Parameter counts and configuration of a preset or a model; without options the embedded
    models (default and seed) and the list of presets."""
    if preset:
        need_torch("info --preset")
        from manifold_train.kinds import parameter_counts
        from manifold_train.kinds import preset as get_preset

        try:
            config = get_preset(preset, channels)
        except (KeyError, ValueError) as exc:  # an unknown preset, --channels 2
            fail(str(exc.args[0]), 2)
        result = {"preset": preset, **parameter_counts(config), "config": config.to_dict()}
    else:
        from manifold_core.runtime import load_model_info

        try:
            result = load_model_info(model)
        except UserError as exc:
            fail(exc)
        if not model:
            try:
                seed = load_model_info("seed")
            except UserError as exc:
                fail(exc)
            result = {"default_model": result, "seed_model": seed, "presets": preset_names()}
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        from rich.pretty import pprint

        pprint(result, expand_all=True)


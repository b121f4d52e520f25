"""manifold eval: how well does each upscaler bring back tiles that were shrunk? (issue 10)

Data flow: tiles -> runtime (and other scalers) -> **eval**: scores, tables, contact sheets.

    from manifold_eval.evaluate import evaluate
    from manifold_eval.scalers import make_methods
    result = evaluate(tiles, make_methods(["nearest", "lanczos", "manifold"]), scale=2,
                      degradations=["box", "nearest"])

Modules, one job each: `degrade` (shrink tiles: box, nearest), `scalers` (the upscalers
compared: Pillow, Scale2x, hqx, xBRZ, Real-ESRGAN, manifold models), `metrics` (PSNR, SSIM),
`evaluate` (the loop, timing, the result rows), `inputs` (read TILES: folders, sheets, .tsx),
`sheet` (the contact sheet), `report` (the Rich table). Needs the `[eval]` extra:
pip install 'manifold-tiles[eval]'.
"""

"""manifold eval: how well does each upscaler bring back tiles that were shrunk, and how well
does it upscale crisp originals?

Data flow: tiles -> runtime (and other scalers) -> **eval**: scores, tables, contact sheets,
blind sheets.

    from manifold_eval.evaluate import evaluate
    from manifold_eval.scalers import make_methods
    result = evaluate(tiles, make_methods(["nearest", "mmpx", "manifold:default+pixel"]), scale=2,
                      degradations=["box", "nearest"])   # nearest: pooled over every sampling phase

Modules, one job each: `degrade` (shrink tiles: box, nearest at a sampling phase), `scalers`
(the registry of upscalers compared: Pillow, Scale2x, hqx, xBRZ, MMPX, Real-ESRGAN, manifold
models), `mmpx` (the MMPX filter), `metrics` (PSNR, SSIM; consistency, palette fidelity, alpha
hardness), `evaluate` (the shrink-and-restore loop, timing, the result rows), `originals` (the
mode without ground truth), `inputs` (read TILES: folders, sheets, .tsx), `outputs` (every file
written, never onto an input), `sheet` (contact sheets), `blind` (blind comparison sheets and
their key), `judging` (judges' answers to win rates), `report` (the Rich tables). Needs the
`[eval]` extra: pip install 'manifold-tiles[eval]'.
"""

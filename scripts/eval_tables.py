"""MODEL.md's quality tables, measured: `manifold eval` on the held-out tile sets, as Markdown.

    python scripts/eval_tables.py            # needs `make dev` and data/sets (scripts/tile_sets.py)

1. 2x from box- and from nearest-shrunk tiles, every method, per held-out set (freeciv, angband,
   pingus), with each target's margin: the default model against the best classic method
   (bicubic, Lanczos, Scale2x, hqx, xBRZ) and against Real-ESRGAN.
2. Every scale from 1 to 4, fractional ones included, on freeciv: the default model against
   bicubic (and the round trip at scale 1: regenerating a tile at its own size).
Prints Markdown; the figures are one run's (tiles/s are taken side by side in that run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SETS = ("freeciv", "angband", "pingus")
CLASSIC = ("bicubic", "lanczos", "scalenx", "hqx", "xbrz")
SCALES = (1, 1.5, 2, 2.5, 3, 4)
MANIFOLD = Path(sys.executable).with_name("manifold")


def evaluate(*args: str) -> dict:
    out = subprocess.run([str(MANIFOLD), "eval", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def main() -> None:
    print("### 2x: every method, held-out sets\n")
    print("| set | shrunk by | " + " | ".join(["nearest", "bicubic", "Lanczos", "Scale2x", "hq2x", "xBRZ",
                                              "Real-ESRGAN", "manifold default", "manifold seed"])
          + " | default - best classic | default - Real-ESRGAN |")
    print("|---" * 13 + "|")
    for name in SETS:
        r = evaluate(f"data/sets/{name}", "--model", "default", "--model", "seed", "--scale", "2")
        for degradation in ("box", "nearest"):
            rows = {x["label"]: x for x in r["results"] if x["degradation"] == degradation}
            order = ["nearest", "bicubic", "Lanczos", "Scale2x", "hq2x", "xBRZ", "Real-ESRGAN", "manifold default",
                     "manifold seed"]
            psnr = {k: rows[k]["psnr"] if k in rows else None for k in order}
            classic = max(x["psnr"] for x in rows.values() if x["method"] in CLASSIC and x["psnr"] is not None)
            default = psnr["manifold default"]
            real = psnr["Real-ESRGAN"]
            print(f"| {name} ({r['tiles']}) | {degradation} | " + " | ".join(fmt(psnr[k]) for k in order)
                  + f" | {default - classic:+.2f} | " + ("n/a" if real is None else f"{default - real:+.2f}") + " |")
    print("\nPSNR in dB of the colour (premultiplied by alpha); tiles/s of the same run:\n")
    r = evaluate("data/sets/freeciv", "--model", "default", "--model", "seed", "--scale", "2")
    print("| method | " + " | ".join(x["label"] for x in r["results"] if x["degradation"] == "box") + " |")
    print("|---" * (1 + sum(x["degradation"] == "box" for x in r["results"])) + "|")
    for degradation in ("box", "nearest"):
        print(f"| tiles/s ({degradation}) | " + " | ".join(
            f"{x['tiles_per_s']:,.0f}" if x["tiles_per_s"] else "n/a" for x in r["results"]
            if x["degradation"] == degradation) + " |")

    print("\n### Every scale, freeciv: the default model against bicubic\n")
    print("| scale | shrunk by | bicubic | manifold default | difference | SSIM bicubic | SSIM default |")
    print("|---|---|---|---|---|---|---|")
    for scale in SCALES:
        r = evaluate("data/sets/freeciv", "--model", "default", "--methods", "bicubic,manifold", "--scale", str(scale))
        for degradation in ("box", "nearest"):
            rows = {x["method"]: x for x in r["results"] if x["degradation"] == degradation}
            b, m = rows["bicubic"], rows["manifold"]
            if scale == 1 and degradation == "nearest":
                continue  # the same as box at scale 1: nothing is shrunk
            label = "round trip" if scale == 1 else degradation
            diff = "" if b["psnr"] is None or scale == 1 else f"{m['psnr'] - b['psnr']:+.2f}"
            print(f"| {scale} | {label} | {fmt(b['psnr']) if scale != 1 else 'exact'} | {fmt(m['psnr'])} | {diff} | "
                  f"{fmt(b['ssim'])} | {fmt(m['ssim'])} |")


if __name__ == "__main__":
    main()

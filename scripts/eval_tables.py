"""MODEL.md's quality tables, measured: `manifold eval` on the held-out tile sets, as Markdown.

    python scripts/eval_tables.py                 # needs `make dev` and data/sets (scripts/tile_sets.py)
    python scripts/eval_tables.py --from data/eval-json   # print again from a run's saved JSON
    python scripts/eval_tables.py --resume        # run only what data/eval-json does not hold yet

Per held-out set (freeciv, angband, pingus; other games, never trained on), every method:
1. 2x from box-shrunk tiles (box has no sampling phase);
2. 2x, 3x and 4x from nearest-shrunk tiles, pooled over every sampling phase (s x s of them),
   with the default model's per-phase spread: a model that leans on one phase shows a wide one;
3. the originals mode at 2x and 4x (the tiles as they are, no ground truth): consistency (dB),
   palette fidelity and alpha hardness; also on <set>-originals, the crisp originals picked for
   blind judging, where that folder exists.
Each table gives the default model's margin over the best classic method (bicubic, Lanczos,
ScaleNx, hqx, xBRZ, MMPX). The JSON of every run is saved (--save, default data/eval-json), so
the tables can be printed again without rerunning. Figures are one run's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SETS = ("freeciv", "angband", "pingus")
METHODS = ["nearest", "bicubic", "lanczos", "scalenx", "hqx", "xbrz", "mmpx", "realesrgan", "manifold",
           "manifold:default+pixel", "manifold:default+smooth"]
CLASSIC = ("bicubic", "lanczos", "scalenx", "hqx", "xbrz", "mmpx")
HEADS = {"nearest": "nearest", "bicubic": "bicubic", "lanczos": "Lanczos", "scalenx": "ScaleNx", "hqx": "hqx",
         "xbrz": "xBRZ", "mmpx": "MMPX", "realesrgan": "Real-ESRGAN", "manifold": "manifold default",
         "manifold:default+pixel": "default +pixel", "manifold:default+smooth": "default +smooth"}
RUNS = {"box2": ["--scale", "2", "--degrade", "box"], "nearest": ["--scale", "2,3,4", "--degrade", "nearest"],
        "originals": ["--originals", "--scale", "2,4"]}
MANIFOLD = Path(sys.executable).with_name("manifold")


def run(sets: Path, name: str, kind: str, saved: Path, reuse: bool, extra: list[str]) -> dict:
    """One `manifold eval` run's JSON: read from `saved` when `reuse` (or already there), else run and saved."""
    path = saved / f"{name}-{kind}.json"
    if reuse or path.exists():
        return json.loads(path.read_text())
    out = subprocess.run([str(MANIFOLD), "eval", str(sets / name), "--methods", ",".join(METHODS), *RUNS[kind],
                          *extra, "--json", "-q"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"manifold eval {name} ({kind}) failed: {out.stderr.strip()}")
    saved.mkdir(parents=True, exist_ok=True)
    path.write_text(out.stdout)
    return json.loads(out.stdout)


def fmt(value, pattern: str = "{:.2f}") -> str:
    return "n/a" if value is None else "exact" if pattern == "{:.2f}" and value >= 100 else pattern.format(value)


def margin(rows: dict, key: str) -> str:
    classic = [rows[m][key] for m in CLASSIC if rows[m][key] is not None]
    default = rows["manifold"][key]
    return "n/a" if default is None or not classic else f"{default - max(classic):+.2f}"


def shrink_table(title: str, lines: list[tuple[str, dict]]) -> None:
    print(f"### {title}\n")
    print("| set | scale | tiles | " + " | ".join(HEADS[m] for m in METHODS)
          + " | default - best classic | default's phase spread |")
    print("|---" * (len(METHODS) + 5) + "|")
    for name, run_ in lines:
        rows = {r["method"]: r for r in run_["results"]}
        default = rows["manifold"]
        spread = "-" if default["phases"] < 2 else f"{fmt(default['psnr_min'])}..{fmt(default['psnr_max'])}"
        print(f"| {name} | {run_['scale']:g}x | {run_['tiles']} | " + " | ".join(fmt(rows[m]["psnr"]) for m in METHODS)
              + f" | {margin(rows, 'psnr')} | {spread} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="print from the JSON a run saved there")
    parser.add_argument("--save", type=Path, default=Path("data/eval-json"), help="where each run's JSON goes")
    parser.add_argument("--limit", type=int, help="score this many tiles per set (spread evenly)")
    parser.add_argument("--compare", metavar="MODEL", help="also score this model folder (e.g. the previous default)")
    parser.add_argument("--resume", action="store_true", help="keep the runs already saved in --save")
    parser.add_argument("--sets", type=Path, default=Path("data/sets"), help="the folder of the tile sets")
    args = parser.parse_args()
    if args.compare:  # run as manifold:FOLDER, reported by the folder's name
        METHODS.append(f"manifold:{args.compare}")
        HEADS[f"manifold:{Path(args.compare).name}"] = Path(args.compare).name
    saved, reuse = (args.source, True) if args.source else (args.save, False)
    # crisp originals picked for blind judging (scripts/tile_sets.py --originals), where cut
    crisp = [f"{n}-originals" for n in SETS if (saved if reuse else args.sets).joinpath(
        f"{n}-originals{'-originals.json' if reuse else ''}").exists()]
    if not reuse and not args.resume:  # a fresh run: this script's own JSON from an earlier one is redone
        for old in [saved / f"{n}-{k}.json" for n in SETS for k in RUNS] + [saved / f"{n}-originals.json" for n in crisp]:
            old.unlink(missing_ok=True)
    extra = ["--limit", str(args.limit)] if args.limit else []
    results = {name: {kind: run(args.sets, name, kind, saved, reuse, extra) for kind in RUNS} for name in SETS}
    results.update({name: {"originals": run(args.sets, name, "originals", saved, reuse, [])} for name in crisp})
    if args.compare:
        METHODS[-1] = f"manifold:{Path(args.compare).name}"

    shrink_table("2x from box-shrunk tiles (PSNR, dB)", [(n, results[n]["box2"]["runs"][0]) for n in SETS])
    shrink_table("From nearest-shrunk tiles, pooled over every sampling phase (PSNR, dB)",
                 [(n, r) for n in SETS for r in results[n]["nearest"]["runs"]])
    print("### Originals (no ground truth): consistency dB / palette fidelity / alpha hardness\n")
    print("Consistency: the result box-shrunk back over each source pixel's footprint, against the source "
          "(PSNR of the premultiplied colour). Palette fidelity: share of output pixels within 8 levels in every "
          "RGBA channel of a colour of their source tile. Alpha hardness: share of output alpha that is 0 or 255, "
          "over the sources whose alpha is only 0 and 255 (and not all 255).\n")
    print("| set | scale | tiles (hard alpha) | " + " | ".join(HEADS[m] for m in METHODS) + " |")
    print("|---" * (len(METHODS) + 3) + "|")
    for name in [*SETS, *crisp]:
        for r in results[name]["originals"]["runs"]:
            rows = {x["method"]: x for x in r["results"]}
            cells = [("n/a" if rows[m]["note"] else f"{fmt(rows[m]['consistency_psnr'])} / "
                      f"{fmt(rows[m]['palette_fidelity'], '{:.1%}')} / {fmt(rows[m]['alpha_hardness'], '{:.1%}')}")
                     for m in METHODS]
            print(f"| {name} | {r['scale']:g}x | {r['tiles']} ({r['hard_alpha_tiles']}) | " + " | ".join(cells) + " |")
    print()
    print("### Speed of the same runs (tiles/s, 2x from box; upscale calls only)\n")
    print("| set | " + " | ".join(HEADS[m] for m in METHODS) + " |")
    print("|---" * (len(METHODS) + 1) + "|")
    for name in SETS:
        rows = {r["method"]: r for r in results[name]["box2"]["runs"][0]["results"]}
        print(f"| {name} | " + " | ".join(fmt(rows[m]["tiles_per_s"], "{:,.0f}") for m in METHODS) + " |")


if __name__ == "__main__":
    main()

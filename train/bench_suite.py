"""`manifold bench`: how fast inference, training, start-up and memory are on this machine.

Every speed is a ratio measured side by side in one run (docs/ARCHITECTURE.md, "Where
decisions were measured"): the candidates take turns round after round (the order flips every
round), each ratio is the median of the per-round ratios, each rate the median over rounds.
Absolute times appear only next to a ratio or against a fixed target (start-up wall time,
peak memory, the upscaling rate).

Sections (the keys of `manifold bench --json`):

    machine     CPU, cores, instruction sets, library versions, date
    matmul      the measured fp32 (and bf16) matrix-multiply rate: the ceiling for GFLOP/s
    inference   tiles/s of the runtime (TileModel.render: tiles in, RGBA tiles out) at
                --res 32/64/128, fp32 and int8, against the seed-style anchor in eager PyTorch
                (manifold_train/bench.py; global-kind models with weights.safetensors), or for
                a local-kind model against the embedded global model and Real-ESRGAN-ncnn;
                FLOPs counted on the model (Autoencoder.flops), achieved GFLOP/s against the
                matmul rate
    upscalers   the speed target of issue 10: `manifold upscale`'s in-process path
                (TileModel.render, fp32, CPU) of the embedded default and seed models, and
                Real-ESRGAN-ncnn (realesr-animevideov3-x2 on the CPU, manifold_eval.scalers)
                on the same 32x32 tiles at 32 -> 64 px: tiles/s and ratios
    int8        PSNR of the int8 path against fp32 on held-out tiles
    pixel_budget  render speed for several decoder chunk sizes (full run only)
    training    inputs/s of the trainer's own step for each speed lever against plain fp32
    startup     wall time of `manifold upscale` on one tile (what an editor plugin pays per click)
    memory      peak RSS of `manifold upscale` on a folder of 10,000 tiles at --res 64
    targets     each speed target, the measured figure, met or not

What cannot run here (no anchor for a model, no Real-ESRGAN without the [eval] extra, no
embedded seed model) is skipped and said in `notes`. The torch half (model loading, FLOPs,
anchor, training) lives in manifold_train/bench.py; this module imports torch only inside the
functions that need it.
"""
# ruff: noqa: B023  (every timed lambda runs inside the iteration that binds its variables)

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from manifold_core.errors import UserError
from manifold_core.files import atomic_write_stream
from manifold_core.runtime import DEFAULT_MODEL_DIR, RenderOptions, TileModel, load_card, resolve_model
from manifold_core.tiles import Grid, channels_to_rgba, is_empty, rgba_to_channels

RESOLUTIONS = (32, 64, 128)
TILES_PER_CALL = {32: 64, 64: 16, 128: 4}  # about the same work per timed call
BUDGETS = (1024, 2048, 4096, 8192, 16384, 65536)
SHEETS = ("wall", "floor", "feat")
TILE = 32  # tile size fed to models that take any size (local kind), and the upscalers section's input
UPSCALE_TILES = 32  # tiles per timed call in the upscalers section
UPSCALE_EDGES = "auto"  # `manifold upscale`'s default --edges (wrap where a tile is seamless; local kind)


# ---------------------------------------------------------------- the harness
def interleave(candidates: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each candidate; they take turns, round by round, in alternating order."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - t)
    return times


def rate(times: list[float], units: float) -> float:
    """Units per second: the median over rounds."""
    return units / statistics.median(times)


def speedup(times: list[float], reference: list[float]) -> float:
    """How many times faster than the reference: the median of the per-round ratios."""
    return statistics.median(r / t for r, t in zip(reference, times))


# ---------------------------------------------------------------- sections
def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    if hasattr(os, "getloadavg"):  # other work on the machine at the start: the ratios hold, the rates drop
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        flags = set(next(line for line in cpuinfo.splitlines() if line.startswith("flags")).split())
        info["isa"] = sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    import onnxruntime

    info["numpy"], info["onnxruntime"] = np.__version__, onnxruntime.__version__
    try:
        import torch

        info["torch"], info["torch_threads"] = torch.__version__, torch.get_num_threads()
    except ImportError:
        pass
    return info


def matmul_gflops(a, b, repeats: int = 5) -> float:
    """GFLOP/s of the square multiply a @ b (numpy or torch arrays), best of `repeats` after a warm-up."""
    n = a.shape[0]
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def matmul(n: int = 2048) -> dict:
    """fp32 matrix-multiply rate, n x n x n, best of numpy (OpenBLAS) and torch (oneDNN/MKL); and torch bf16."""
    import torch

    x = np.random.default_rng(0).standard_normal((2, n, n), np.float32)
    t = torch.from_numpy(x)
    rates = {"numpy_fp32": matmul_gflops(x[0], x[1]), "torch_fp32": matmul_gflops(t[0], t[1]),
             "torch_bf16": matmul_gflops(t[0].bfloat16(), t[1].bfloat16())}
    return {"fp32_gflops": max(rates["numpy_fp32"], rates["torch_fp32"]), "bf16_gflops": rates["torch_bf16"],
            "by_engine": {k: round(v, 1) for k, v in rates.items()}}


def held_out_tiles(data: Path, channels: int, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(validation tiles, training tiles) [N, C, S, S] uint8 of the Crawl sheets as the trainer splits them
    (10 % held out by content hash); procedural tiles where the sheets are missing."""
    sheets = [data / f"{s}.png" for s in SHEETS]
    if all(p.exists() for p in sheets):
        from manifold_train.data import load_tileset

        tiles = load_tileset([str(p) for p in sheets], channels, size, Grid(32, 32), val_percent=10)
        return tiles.val.numpy(), tiles.train.numpy(), f"Dungeon Crawl held-out split ({data}/)"
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import resize_tile

    def procedural(count, seed):
        rgba = make_tiles(count, 32, seed=seed)
        rgba = np.stack([resize_tile(t, size) for t in rgba[~is_empty(rgba)]])
        return rgba_to_channels(rgba, channels)

    return procedural(300, 1), procedural(1024, 2), "procedural tiles (no Crawl sheets in " + str(data) + ")"


def load_realesrgan():
    """(Real-ESRGAN method of manifold_eval.scalers, None) or (None, why it cannot run here)."""
    try:
        from manifold_eval.scalers import RealEsrgan
    except ImportError as exc:
        return None, f"manifold_eval cannot load ({exc}): pip install 'manifold-tiles[eval]'"
    method = RealEsrgan()
    reason = method.missing()
    return (None, reason) if reason else (method, None)


def global_reference(model_dir: Path) -> Path | None:
    """The embedded global-kind model a local-kind model is compared with: seed, else default."""
    for name in ("seed", "default"):
        folder = resolve_model(name)
        if (folder / "model.json").is_file() and folder.resolve() != Path(model_dir).resolve() \
                and load_card(folder).kind == "global":
            return folder
    return None


def load_int8(model_dir: Path, notes: list[str]) -> TileModel | None:
    try:
        return TileModel.load(model_dir, device="cpu", precision="int8")
    except UserError as exc:
        notes.append(f"int8 skipped: {exc}")
        return None


def encoder_input(model: TileModel, tiles: np.ndarray) -> np.ndarray:
    """[N, C, S, S] uint8 in the model's channels -> the encoder's input: as it is (global kind, tiles
    at its input size), or padded with clamped edges (local kind), as TileModel.encoder_input does."""
    p = model.card.pad
    return np.pad(tiles, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge") if p else tiles


def inference(model_dir: Path, tiles: np.ndarray, rounds: int, matmul_fp32: float, notes: list[str],
              reference: Path | None = None) -> tuple[list[dict], float | None]:
    """Rows per resolution; and the largest difference between the anchor's and the runtime's images
    (None without an anchor).

    tiles: [N, C, S, S] uint8 in the model's channels. Compared with: the seed-style anchor
    (global kind); else `reference`, a global-kind model's runtime, and Real-ESRGAN-ncnn where
    it has the scale (2x, 3x, 4x)."""
    from manifold_train.bench import anchor_decode, anchor_encode, anchor_unavailable, flop_model, load_anchor

    fp32 = TileModel.load(model_dir, device="cpu")
    int8 = load_int8(model_dir, notes)
    rgba, size = _to_rgba(tiles), tiles.shape[-1]
    anchor = None
    if fp32.card.kind == "global":
        reason = anchor_unavailable(model_dir)
        if reason:
            notes.append(f"anchor skipped: {reason}")
        else:
            anchor = load_anchor(model_dir)
    ref = esr = None
    if fp32.card.kind != "global":
        notes.append("anchor: none for a local-kind model; compared with the global model's runtime and Real-ESRGAN")
        if reference is not None:
            ref = TileModel.load(reference, device="cpu")
        else:
            notes.append("no embedded global-kind model to compare with")
        esr, reason = load_realesrgan()
        if reason:
            notes.append(f"Real-ESRGAN skipped: {reason}")
    counter = flop_model(model_dir)
    rows, worst = [], None
    for res in RESOLUTIONS:
        n = TILES_PER_CALL[res]
        batch, part = rgba[:n], tiles[:n]
        latents = fp32.encode(encoder_input(fp32, part))
        candidates = {"runtime_fp32": lambda: list(fp32.render(batch, res, res)),
                      "runtime_fp32_decode": lambda: fp32.decode(latents, res, res)}
        if int8 is not None:
            candidates["runtime_int8"] = lambda: list(int8.render(batch, res, res))
        if anchor is not None:
            encoder, decoder, info = anchor
            convention = info["coordinates"]
            anchor_codes = anchor_encode(encoder, part)
            images = np.stack([i.numpy() for i in anchor_decode(decoder, anchor_codes, res, res, convention)])
            worst = max(worst or 0.0, float(np.abs(images - fp32.decode(latents, res, res)).max()))
            candidates["anchor"] = lambda: anchor_decode(decoder, anchor_encode(encoder, part), res, res, convention)
            candidates["anchor_decode"] = lambda: anchor_decode(decoder, anchor_codes, res, res, convention)
        if ref is not None:
            candidates["global"] = lambda: list(ref.render(batch, res, res))
        factor = res // size if res % size == 0 else 0
        if esr is not None and esr.supports(factor):
            esr.prepare(factor)
            candidates["realesrgan"] = lambda: esr.upscale(batch, res, res)
        times = interleave(candidates, rounds)
        count = counter.flops(size, size, res, res)
        total = count["encoder"] + count["decoder"]
        gflops = rate(times["runtime_fp32"], n * total / 1e9)
        decode_gflops = rate(times["runtime_fp32_decode"], n * count["decoder"] / 1e9)
        row = {"res": res, "tile": size, "tiles_per_call": n,
               "runtime_fp32_tiles_per_s": round(rate(times["runtime_fp32"], n), 2),
               "encoder_flops": count["encoder"], "decoder_flops": count["decoder"],
               "mflop_per_tile": round(total / 1e6, 1),
               "fp32_gflops": round(gflops, 1), "fp32_of_matmul": round(gflops / matmul_fp32, 3),
               "decode_fp32_gflops": round(decode_gflops, 1),
               "decode_fp32_of_matmul": round(decode_gflops / matmul_fp32, 3)}
        if int8 is not None:
            row.update(runtime_int8_tiles_per_s=round(rate(times["runtime_int8"], n), 2),
                       int8_vs_fp32=round(speedup(times["runtime_int8"], times["runtime_fp32"]), 3))
        if anchor is not None:
            row.update(anchor_tiles_per_s=round(rate(times["anchor"], n), 2),
                       fp32_vs_anchor=round(speedup(times["runtime_fp32"], times["anchor"]), 3),
                       decode_fp32_vs_anchor_decode=round(speedup(times["runtime_fp32_decode"],
                                                                  times["anchor_decode"]), 3))
            if int8 is not None:
                row["int8_vs_anchor"] = round(speedup(times["runtime_int8"], times["anchor"]), 3)
        for key in ("global", "realesrgan"):
            if key in times:
                row[f"{key}_tiles_per_s"] = round(rate(times[key], n), 2)
                row[f"fp32_vs_{key}"] = round(speedup(times["runtime_fp32"], times[key]), 3)
        rows.append(row)
    return rows, worst


def _to_rgba(tiles: np.ndarray) -> np.ndarray:
    """[N, C, S, S] uint8 model channels -> [N, S, S, 4] RGBA, what the runtime takes."""
    return channels_to_rgba(tiles.astype(np.float32) / 255)


def int8_quality(model_dir: Path, tiles: np.ndarray, source: str) -> dict:
    """PSNR against the original tiles at the native size, fp32 and int8, and int8 against fp32."""
    fp32 = TileModel.load(model_dir, device="cpu")
    int8 = TileModel.load(model_dir, device="cpu", precision="int8")
    size = tiles.shape[-1]
    codes = fp32.encode(encoder_input(fp32, tiles))
    x = tiles.astype(np.float32) / 255
    a, b = fp32.decode(codes, size, size), int8.decode(codes, size, size)
    a2, b2 = fp32.decode(codes[:64], 2 * size, 2 * size), int8.decode(codes[:64], 2 * size, 2 * size)
    p_fp32, p_int8 = psnr(a, x), psnr(b, x)
    return {"tiles": len(tiles), "source": source, "psnr_fp32_db": round(p_fp32, 3), "psnr_int8_db": round(p_int8, 3),
            "psnr_loss_db": round(p_fp32 - p_int8, 3), "int8_vs_fp32_psnr_db": round(psnr(b, a), 2),
            "int8_vs_fp32_psnr_db_at_2x": round(psnr(b2, a2), 2)}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2)))


def upscale_models(model_dir: Path | None, notes: list[str]) -> dict[str, Path]:
    """The models the upscalers section runs, by label: the embedded default and seed models (whichever
    are embedded: the seed one moves out of default_model when another kind becomes the default), and
    a --model folder that is neither."""
    models: dict[str, Path] = {}
    for name in ("default", "seed"):
        folder = resolve_model(name)
        if not (folder / "model.json").is_file():
            notes.append(f"{name}: no embedded model at {folder}")
        elif any(folder.resolve() == f.resolve() for f in models.values()):
            continue
        else:
            models[name] = folder
    if model_dir is not None and all(Path(model_dir).resolve() != f.resolve() for f in models.values()):
        models[Path(model_dir).name] = Path(model_dir)
    return models


def upscalers(models: dict[str, Path], tiles: np.ndarray, rounds: int, notes: list[str]) -> dict:
    """The same RGBA tiles [N, S, S, 4] (S = 32) to 2S x 2S through `manifold upscale`'s in-process path
    (TileModel.render, fp32, CPU) for each model, and through Real-ESRGAN-ncnn (x2, CPU), side by side."""
    batch = tiles[:UPSCALE_TILES]
    size = batch.shape[1]
    out = 2 * size
    candidates: dict[str, Callable[[], object]] = {}
    meta: dict[str, dict] = {}
    for label, folder in models.items():
        model = TileModel.load(folder, device="cpu")
        candidates[label] = lambda model=model: list(model.render(batch, out, out, RenderOptions(edges=UPSCALE_EDGES)))
        meta[label] = {"what": "manifold upscale (TileModel.render, fp32, CPU)", "model": str(folder),
                       "kind": model.card.kind, "preset": model.card.preset}
    esr, reason = load_realesrgan()
    if esr is None:
        notes.append(f"Real-ESRGAN skipped: {reason}")
    else:
        esr.prepare(2)
        candidates["realesrgan"] = lambda: esr.upscale(batch, out, out)
        meta["realesrgan"] = {"what": "Real-ESRGAN-ncnn realesr-animevideov3-x2, CPU (manifold_eval.scalers)"}
    times = interleave(candidates, rounds)
    rows = []
    for label in candidates:
        row = {"method": label, **meta[label], "tiles_per_s": round(rate(times[label], len(batch)), 2)}
        for other, key in (("realesrgan", "vs_realesrgan"), ("seed", "vs_seed")):
            if other in times and other != label:
                row[key] = round(speedup(times[label], times[other]), 3)
        rows.append(row)
    return {"in_px": size, "out_px": out, "tiles_per_call": len(batch), "rows": rows}


def pixel_budget(model_dir: Path, tiles: np.ndarray, rounds: int) -> list[dict]:
    """Render speed at --res 32 and 64 for several decoder chunk sizes, against the default one."""
    from manifold_core.runtime import DEFAULT_PIXEL_BUDGET

    model = TileModel.load(model_dir, device="cpu")
    rgba, rows = _to_rgba(tiles), []
    for res in (32, 64):
        batch = rgba[:TILES_PER_CALL[res]]

        def render(budget):
            def run():
                model.pixel_budget = budget
                return list(model.render(batch, res, res))
            return run

        times = interleave({b: render(b) for b in BUDGETS}, rounds)
        for b in BUDGETS:
            rows.append({"res": res, "pixel_budget": b, "default": b == DEFAULT_PIXEL_BUDGET,
                         "tiles_per_s": round(rate(times[b], len(batch)), 2),
                         "vs_default": round(speedup(times[b], times[DEFAULT_PIXEL_BUDGET]), 3)})
    model.pixel_budget = DEFAULT_PIXEL_BUDGET
    return rows


def training(train_tiles: np.ndarray, rounds: int, quick: bool, model=None, batch_size: int = 64) -> list[dict]:
    """inputs/s of the trainer's step (seed-b8-h128, RGBA 32x32, batch 64) per lever set, against plain fp32."""
    import torch

    from manifold_train.bench import LEVERS, make_stepper

    tiles = torch.from_numpy(np.ascontiguousarray(train_tiles))
    levers = {k: v for k, v in LEVERS.items() if not (quick and v.get("compile"))}
    steppers, steps_per_call = {}, {}
    for name, extra in levers.items():
        step, cfg, _ = make_stepper(extra, tiles, model, batch_size)
        k = 4 if cfg.pixels_per_tile else 1  # about the same time per call
        steps_per_call[name] = k
        steppers[name] = (lambda step=step, k=k: [step() for _ in range(k)][-1][0].item())
    times = interleave(steppers, rounds, warmup=2)
    base = next(iter(levers))
    per_step = {name: [t / steps_per_call[name] for t in ts] for name, ts in times.items()}
    return [{"levers": name, **{k: v for k, v in LEVERS[name].items()},
             "inputs_per_s": round(rate(per_step[name], batch_size), 1),
             "vs_plain": round(speedup(per_step[name], per_step[base]), 2)} for name in levers]


def manifold_command() -> list[str]:
    """The installed `manifold` executable beside this Python (what a plugin runs), else `python -m`."""
    script = Path(sys.executable).parent / "manifold"
    return [str(script)] if script.exists() else [sys.executable, "-m", "manifold_cli.cli"]


# Runs the command as its child and reports the child's peak RSS. The measuring process must be
# small: Linux carries the RSS a process had before exec() into its peak, and a child forked
# from the bench itself (torch loaded) would start from the bench's size.
_RSS_HELPER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write("\\npeak_rss_kib=%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one run of `cmd`, measured by a small helper process."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RSS_HELPER, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    kib = int(proc.stderr.rsplit("peak_rss_kib=", 1)[1].split()[0])  # Linux: ru_maxrss in KiB
    return wall, kib / 1024, proc.stdout


def write_tiles(folder: Path, count: int, seed: int = 0) -> None:
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import write_png

    folder.mkdir(parents=True, exist_ok=True)
    done = 0
    while done < count:  # in parts: never all tiles in memory at once
        part = make_tiles(min(1000, count - done), 32, seed=seed + done)
        for tile in part:
            write_png(folder / f"tile_{done:05d}.png", tile)
            done += 1


def startup(work: Path, rounds: int) -> dict:
    """Wall time of `manifold upscale` on one tile, against starting bare Python, side by side."""
    one = work / "one"
    write_tiles(one, 1)
    tile = one / "tile_00000.png"
    cmd = manifold_command()
    candidates = {
        "upscale_fp32": cmd + ["upscale", str(tile), "--res", "64", "-o", str(work / "one-64.png"), "-q"],
        "upscale_int8": cmd + ["upscale", str(tile), "--res", "64", "-o", str(work / "one-64-int8.png"), "-q",
                               "--precision", "int8"],
        "python": [sys.executable, "-c", "pass"],
    }

    def runner(name):
        def run():
            subprocess.run(candidates[name], check=True, capture_output=True)
        return run

    times = interleave({k: runner(k) for k in candidates}, rounds)
    rss = peak_rss_mb(candidates["upscale_fp32"])[1]
    return {"upscale_one_tile_s": round(statistics.median(times["upscale_fp32"]), 3),
            "upscale_one_tile_int8_s": round(statistics.median(times["upscale_int8"]), 3),
            "python_start_s": round(statistics.median(times["python"]), 3),
            "vs_python_start": round(speedup(times["python"], times["upscale_fp32"]), 2),
            "one_tile_peak_rss_mb": round(rss, 1),
            "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(candidates["upscale_fp32"]))}


def memory(work: Path, count: int, res: int, one_tile_rss: float) -> dict:
    """Peak RSS of `manifold upscale FOLDER --res 64` on `count` tiles (one PNG each), one child process."""
    folder = work / f"tiles-{count}"
    write_tiles(folder, count, seed=10)
    wall, peak, out = peak_rss_mb(manifold_command() + ["upscale", str(folder), "--res", str(res),
                                                        "-o", str(work / f"out-{count}"), "-q", "--json"])
    summary = json.loads(out.strip().splitlines()[-1])
    return {"tiles": count, "res": res, "peak_rss_mb": round(peak, 1),
            "vs_one_tile": round(peak / one_tile_rss, 2) if one_tile_rss else None,
            "tiles_per_s_in_that_run": summary["tiles_per_s"]}


# ---------------------------------------------------------------- targets and the whole run
UPSCALE_TARGET = "manifold upscale >= 100 tiles/s at 32->64 fp32 and faster than Real-ESRGAN-ncnn"


def targets(result: dict) -> list[dict]:
    """Each speed target against the measured figure (the anchor's only where there is an anchor)."""
    at64 = next((r for r in result.get("inference", []) if r["res"] == 64), None)
    fast = next((r for r in result.get("training", []) if r["levers"].startswith("fast:")), None)
    rows = []

    def add(name, goal, measured, met, text):
        rows.append({"target": name, "goal": goal, "measured": measured, "met": bool(met), "text": text})

    if at64 and "fp32_vs_anchor" in at64:
        add("inference fp32 vs anchor at --res 64", ">= 1.5x", at64["fp32_vs_anchor"], at64["fp32_vs_anchor"] >= 1.5,
            f"{at64['fp32_vs_anchor']:.2f}x")
    if at64:
        add("inference fp32 share of the fp32 matmul rate at --res 64", ">= 60%", at64["fp32_of_matmul"],
            at64["fp32_of_matmul"] >= 0.6, f"{100 * at64['fp32_of_matmul']:.0f}%")
    if at64 and "int8_vs_anchor" in at64:
        add("inference int8 vs anchor at --res 64", ">= 3x", at64["int8_vs_anchor"], at64["int8_vs_anchor"] >= 3,
            f"{at64['int8_vs_anchor']:.2f}x")
    up = result.get("upscalers")
    default = next((r for r in up["rows"] if r["method"] == "default"), None) if up else None
    if default:
        esr = next((r for r in up["rows"] if r["method"] == "realesrgan"), None)
        fast_enough = default["tiles_per_s"] >= 100
        if esr:
            add(UPSCALE_TARGET, ">= 100 tiles/s and > 1x Real-ESRGAN", default["tiles_per_s"],
                fast_enough and default["vs_realesrgan"] > 1,
                f"{default['tiles_per_s']:.0f} tiles/s, {default['vs_realesrgan']:.2f}x Real-ESRGAN-ncnn "
                f"({esr['tiles_per_s']:.0f} tiles/s)")
        else:  # half of the target unmeasured: not met
            add(UPSCALE_TARGET, ">= 100 tiles/s and > 1x Real-ESRGAN", default["tiles_per_s"], False,
                f"{default['tiles_per_s']:.0f} tiles/s; Real-ESRGAN not measured here")
    if "int8" in result:
        loss = result["int8"]["psnr_loss_db"]
        add("int8 PSNR loss against fp32 on held-out tiles", "<= 0.3 dB", loss, loss <= 0.3, f"{loss:.2f} dB")
    if fast:
        add("training inputs/s vs plain fp32 eager", ">= 8x", fast["vs_plain"], fast["vs_plain"] >= 8,
            f"{fast['vs_plain']:.1f}x")
    if "startup" in result:
        s = result["startup"]["upscale_one_tile_s"]
        add("start-up: manifold upscale on one tile", "< 1.0 s", s, s < 1.0, f"{s:.2f} s")
    if "memory" in result:
        m = result["memory"]
        add(f"memory: upscaling {m['tiles']:,} tiles at --res {m['res']}", "< 1 GB peak RSS", m["peak_rss_mb"],
            m["peak_rss_mb"] < 1024, f"{m['peak_rss_mb']:.0f} MB")
    return rows


SECTIONS = ("matmul", "inference", "upscalers", "int8", "pixel_budget", "training", "startup", "memory")


def run(quick: bool = False, model_dir: Path | None = None, data: Path = Path("data"),
        sections: tuple[str, ...] = SECTIONS, memory_tiles: int | None = None,
        log: Callable[[str], None] = lambda s: None, reference: Path | None = None,
        upscale: dict[str, Path] | None = None) -> dict:
    """The whole benchmark as one JSON-ready dict.

    `reference`: the global-kind model a local-kind model is compared with (default: the embedded
    seed model, else the default one); `upscale`: the models of the upscalers section by label
    (default: the embedded default and seed models, and `model_dir`)."""
    given = resolve_model(model_dir) if model_dir else None  # a folder, or an embedded model's name
    model_dir = given or DEFAULT_MODEL_DIR
    card = load_card(model_dir)
    rounds = 3 if quick else 5
    notes: list[str] = []
    result: dict = {"quick": quick, "machine": machine(),
                    "model": {"dir": str(model_dir), "kind": card.kind, "preset": card.preset,
                              "channels": card.channels, "input_size": card.input_size}}
    size = card.input_size or TILE
    val, train, source = held_out_tiles(data, card.channels, size)
    if (card.channels, size) == (4, TILE):
        val32, train32 = val, train
    elif {"upscalers", "training"} & set(sections):
        val32, train32, _ = held_out_tiles(data, 4, TILE)
    if "matmul" in sections or "inference" in sections:
        log("matmul rate")
        result["matmul"] = matmul()
    if "inference" in sections:
        log("inference: runtime fp32 and int8 at --res 32, 64, 128 against "
            + ("the eager anchor" if card.kind == "global" else "the global model and Real-ESRGAN"))
        if reference is None and card.kind != "global":
            reference = global_reference(model_dir)
        result["inference"], worst = inference(model_dir, val, rounds, result["matmul"]["fp32_gflops"], notes,
                                               reference)
        if worst is not None:
            result["anchor_max_abs_diff"] = worst
    if "upscalers" in sections:
        log("upscalers: manifold upscale (default and seed models) and Real-ESRGAN-ncnn, 32 -> 64 px")
        models = upscale if upscale is not None else upscale_models(given, notes)
        result["upscalers"] = upscalers(models, _to_rgba(val32), rounds, notes)
    if "int8" in sections:
        log("int8: PSNR on held-out tiles")
        try:
            result["int8"] = int8_quality(model_dir, val, source)
        except UserError as exc:  # a model exported without decoder.int8.onnx
            notes.append(f"int8 skipped: {exc}")
    if "pixel_budget" in sections and not quick:
        log("pixel budget sweep")
        result["pixel_budget"] = pixel_budget(model_dir, val, 3)
    if "training" in sections:
        log("training: the trainer's step per speed lever" + ("" if quick else " (torch.compile compiles first)"))
        result["training"] = training(train32, 3 if not quick else 2, quick)
    with tempfile.TemporaryDirectory(prefix="manifold-bench-") as tmp:
        work = Path(tmp)
        if "startup" in sections or "memory" in sections:
            log("start-up: manifold upscale on one tile")
            result["startup"] = startup(work, 7 if not quick else 4)
        if "memory" in sections:
            count = memory_tiles or (1_000 if quick else 10_000)
            log(f"memory: manifold upscale on {count:,} tiles at --res 64")
            result["memory"] = memory(work, count, 64, result["startup"]["one_tile_peak_rss_mb"])
    result["notes"] = notes
    result["targets"] = targets(result)
    return result


# the inference section's bars: label -> row key (only those a run measured are drawn)
INFERENCE_BARS = {"anchor (eager, per tile)": "anchor_tiles_per_s", "global model (runtime fp32)": "global_tiles_per_s",
                  "Real-ESRGAN-ncnn (CPU)": "realesrgan_tiles_per_s", "runtime fp32": "runtime_fp32_tiles_per_s",
                  "runtime int8": "runtime_int8_tiles_per_s"}
INFERENCE_RATIOS = {"fp32_vs_anchor": "anchor", "fp32_vs_global": "global", "fp32_vs_realesrgan": "Real-ESRGAN"}


def plot(result: dict, out_png: str | Path) -> None:
    """The speed figures as a picture: inference tiles/s per resolution against what the runtime is
    compared with, and training inputs/s per lever set against plain fp32 (matplotlib, [train] extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("inference", "training") if k in result]
    if not panels:
        raise ValueError("nothing to plot: the result has neither inference nor training figures")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4), dpi=110, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "inference":
            rows = result["inference"]
            x = np.arange(len(rows))
            bars = {label: key for label, key in INFERENCE_BARS.items() if any(r.get(key) for r in rows)}
            width = 0.8 / len(bars)
            for i, (label, key) in enumerate(bars.items()):
                ax.bar(x + (i - (len(bars) - 1) / 2) * width, [r.get(key) or 0 for r in rows], width, label=label)
            ratio = next((k for k in INFERENCE_RATIOS if any(k in r for r in rows)), None)
            for xi, r in zip(x, rows):
                if ratio and ratio in r:
                    ax.annotate(f"{r[ratio]:.2f}x", (xi, r["runtime_fp32_tiles_per_s"]), ha="center", va="bottom",
                                fontsize=8)
            ax.set_xticks(x, [f"--res {r['res']}" for r in rows])
            ax.set_yscale("log")
            ax.set_ylabel("tiles/s (log)")
            ax.set_title("inference: tiles in, RGBA tiles out"
                         + (f" (label: fp32 / {INFERENCE_RATIOS[ratio]})" if ratio else ""))
            ax.legend(fontsize=8)
        else:
            rows = result["training"]
            y = np.arange(len(rows))[::-1]
            ax.barh(y, [r["vs_plain"] for r in rows], color=["#888"] + ["#4c72b0"] * (len(rows) - 1))
            for yi, r in zip(y, rows):
                ax.annotate(f" {r['vs_plain']:.1f}x  ({r['inputs_per_s']:.0f}/s)", (r["vs_plain"], yi), va="center",
                            fontsize=8)
            ax.set_yticks(y, [r["levers"].replace(" + ", "\n+ ", 1) if len(r["levers"]) > 30 else r["levers"]
                              for r in rows], fontsize=8)
            ax.set_xlabel("inputs/s against plain fp32 eager")
            ax.set_xlim(0, max(r["vs_plain"] for r in rows) * 1.35)
            ax.set_title("training step")
        ax.grid(True, axis="y" if panel == "inference" else "x", alpha=0.3)
    m = result["machine"]
    fig.suptitle(f"manifold bench, {m.get('cpu', '?')}, {m['cores']} cores, {m['date'][:10]}", fontsize=10)
    fig.tight_layout()
    atomic_write_stream(out_png, lambda f: fig.savefig(f, format="png"), durable=False)
    plt.close(fig)


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _rate(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(result: dict):
    """The result as Rich tables (one per section)."""
    from rich.table import Table

    tables = []
    m = result["machine"]
    head = Table(title=f"manifold bench{' --quick' if result['quick'] else ''}: {m.get('cpu', '?')}, {m['cores']} "
                       f"cores, {m['date']}", show_header=False)
    model = result["model"]
    head.add_row("model", f"{model['dir']} ({model['kind']} kind, {model['preset'] or 'no preset'})")
    head.add_row("matmul fp32 / bf16 GFLOP/s",
                 f"{result['matmul']['fp32_gflops']:.0f} / {result['matmul']['bf16_gflops']:.0f}" if "matmul" in result else "-")
    tables.append(head)
    if "inference" in result:
        rows = result["inference"]
        against = [label for key, label in INFERENCE_RATIOS.items() if any(key in r for r in rows)]
        t = Table(title="inference (tiles in, RGBA tiles out)" + (f" vs {', '.join(against)}" if against else ""))
        columns = [("res", lambda r: str(r["res"])), ("fp32 tiles/s", lambda r: _rate(r["runtime_fp32_tiles_per_s"])),
                   ("int8 tiles/s", lambda r: _rate(r.get("runtime_int8_tiles_per_s")))]
        if any("anchor_tiles_per_s" in r for r in rows):
            columns += [("anchor tiles/s", lambda r: _rate(r.get("anchor_tiles_per_s"))),
                        ("fp32 / anchor", lambda r: _ratio(r.get("fp32_vs_anchor"))),
                        ("int8 / anchor", lambda r: _ratio(r.get("int8_vs_anchor"))),
                        ("decode fp32 / anchor", lambda r: _ratio(r.get("decode_fp32_vs_anchor_decode")))]
        for key, label in (("global", "global model"), ("realesrgan", "Real-ESRGAN")):
            if any(f"{key}_tiles_per_s" in r for r in rows):
                columns += [(f"{label} tiles/s", lambda r, key=key: _rate(r.get(f"{key}_tiles_per_s"))),
                            (f"fp32 / {label}", lambda r, key=key: _ratio(r.get(f"fp32_vs_{key}")))]
        columns += [("MFLOP/tile", lambda r: f"{r['mflop_per_tile']:,.1f}"),
                    ("fp32 GFLOP/s", lambda r: f"{r['fp32_gflops']:.0f}"),
                    ("of matmul", lambda r: f"{100 * r['fp32_of_matmul']:.0f}%")]
        for col, _ in columns:
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(*(cell(r) for _, cell in columns))
        tables.append(t)
    if "upscalers" in result:
        up = result["upscalers"]
        t = Table(title=f"upscalers: the same {up['tiles_per_call']} tiles, {up['in_px']} -> {up['out_px']} px, "
                        f"side by side")
        for col in ("method", "model", "tiles/s", "vs Real-ESRGAN", "vs seed"):
            t.add_column(col, justify="left" if col in ("method", "model") else "right")
        for r in up["rows"]:
            what = f"{r['kind']}, {r['preset'] or Path(r['model']).name}" if "kind" in r else r["what"]
            t.add_row(r["method"], what, f"{r['tiles_per_s']:.1f}", _ratio(r.get("vs_realesrgan")),
                      _ratio(r.get("vs_seed")))
        tables.append(t)
    if "int8" in result:
        q = result["int8"]
        t = Table(title=f"int8 quality, {q['tiles']} tiles: {q['source']}", show_header=False)
        t.add_row("PSNR fp32 / int8 vs originals", f"{q['psnr_fp32_db']:.2f} / {q['psnr_int8_db']:.2f} dB")
        t.add_row("PSNR lost by int8", f"{q['psnr_loss_db']:.3f} dB")
        t.add_row("PSNR int8 vs fp32 output (1x / 2x)", f"{q['int8_vs_fp32_psnr_db']:.1f} / {q['int8_vs_fp32_psnr_db_at_2x']:.1f} dB")
        tables.append(t)
    if "pixel_budget" in result:
        t = Table(title="decoder pixel budget (output pixels per run) vs the default")
        for col in ("res", "budget", "tiles/s", "vs default"):
            t.add_column(col, justify="right")
        for r in result["pixel_budget"]:
            t.add_row(str(r["res"]), f"{r['pixel_budget']}{' *' if r['default'] else ''}", f"{r['tiles_per_s']:.1f}",
                      f"{r['vs_default']:.2f}x")
        tables.append(t)
    if "training" in result:
        t = Table(title="training step, seed-b8-h128 RGBA 32x32, batch 64")
        for col in ("levers", "inputs/s", "vs plain"):
            t.add_column(col, justify="right" if col != "levers" else "left")
        for r in result["training"]:
            t.add_row(r["levers"], f"{r['inputs_per_s']:.0f}", f"{r['vs_plain']:.2f}x")
        tables.append(t)
    if "startup" in result or "memory" in result:
        t = Table(title="start-up and memory", show_header=False)
        if "startup" in result:
            s = result["startup"]
            t.add_row("manifold upscale, one tile (fp32 / int8)",
                      f"{s['upscale_one_tile_s']:.2f} s / {s['upscale_one_tile_int8_s']:.2f} s "
                      f"({s['vs_python_start']:.1f}x bare Python start)")
        if "memory" in result:
            mm = result["memory"]
            t.add_row(f"peak RSS, {mm['tiles']:,} tiles at --res {mm['res']}",
                      f"{mm['peak_rss_mb']:.0f} MB ({mm['vs_one_tile']:.2f}x one tile)")
        tables.append(t)
    if result.get("notes"):
        t = Table(title="notes: what was skipped or compared instead", show_header=False)
        for note in result["notes"]:
            t.add_row(note)
        tables.append(t)
    t = Table(title="targets")
    for col in ("target", "goal", "measured", "met"):
        t.add_column(col)
    for r in result["targets"]:
        t.add_row(r["target"], r["goal"], r["text"], "yes" if r["met"] else "[bold red]no[/]")
    tables.append(t)
    return tables

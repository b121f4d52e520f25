"""The GPU check (issue 20): does `manifold upscale --device cuda` run on onnxruntime's CUDA
provider, does it give the CPU's pixels, and how fast is it beside the CPU, all in one run.

    bash scripts/gpu_check.sh                  # on the lent GPU machine (BENCHMARKS.md, "GPU")
    PYTHON=.venv/bin/python bash scripts/gpu_check.sh --cpu-only    # here: the CPU half alone

gpu_check.sh installs the carried onnxruntime-gpu and makes the CUDA libraries findable, then
runs this. Stages, in order of what matters most; the report ($OUT/gpu-report.json and .md) is
written again after each, so a run stopped at its time limit still brings back what it found:

    machine  Python, onnxruntime (version, file, providers), the GPU, the CUDA libraries found
    cli      `manifold upscale` on the same tiles with --device cpu and --device <candidate>, the
             default and seed models, 32 -> 64 and 32 -> 128: the provider each run printed and
             the largest difference of any output pixel against the CPU's
    float    the same in one process, before rounding to 8 bits: the largest difference of the
             decoded values, the CUDA session's provider options, and the same with use_tf32 off
    placement  onnxruntime's profiler on one small render: how many nodes of each graph ran on
             each provider, and the operators that did not run on CUDA
    speed    tiles/s at 32 -> 64 and 32 -> 128: the CPU with the CLI's defaults, CUDA with the
             CLI's defaults and with batches of 64, 256 and 1024 tiles per onnxruntime run, taking
             turns round after round (the bench harness's interleave), and the share of
             each call spent inside onnxruntime
    startup  wall time of `manifold upscale one.png --res 64` on each device

With --device cpu (the dry run) the candidate is a second CPU run: every stage runs and the
figures are the CPU's against itself.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = ("default", "seed")
RESOLUTIONS = (64, 128)
TILE = 32
CLI_TILES = 64  # tiles per `manifold upscale` run of the cli stage: every pixel of these is compared
BATCHES = (64, 256, 1024)  # tiles per encoder and decoder run for CUDA; the CLI's own settings run too
# Output pixels per decoder run at most (1024 tiles at 64 px): the seed model's 128-wide layers hold
# 2 GB per activation there; 1024 tiles at 128 px would be 8.6 GB each, more than the check needs to show.
MAX_BATCH_PIXELS = 1024 * 64 * 64
MAX_SPEED_TILES = 8192
# What libonnxruntime_providers_cuda.so 1.31.1 links (readelf -d) or opens by name (cuDNN, cuFFT,
# NVRTC); onnxruntime itself treats cuFFT and NVRTC as optional, and so does this check.
CUDA_LIBRARIES = ("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10",
                  "libcudnn.so.9", "libcufft.so.12", "libnvrtc.so.13")
OPTIONAL_LIBRARIES = ("libcufft.so.12", "libnvrtc.so.13")


# ---------------------------------------------------------------- set-up (standard library only)
def cuda_library_dirs(site_dirs: list[str] | None = None) -> list[str]:
    """The lib folders of the nvidia-* wheels beside this Python's PyTorch (nvidia/cu13/lib,
    nvidia/cudnn/lib, ...): what LD_LIBRARY_PATH needs for onnxruntime-gpu to find CUDA 13."""
    import site

    dirs = []
    for base in site_dirs if site_dirs is not None else site.getsitepackages():
        for lib in sorted(Path(base).glob("nvidia/*/lib")):
            if any(lib.glob("lib*.so*")):
                dirs.append(str(lib))
    return dirs


def make_shim(dest: Path, repo: Path = REPO) -> Path:
    """Import the project from this checkout without installing it: a folder of links named as
    pyproject.toml's package-dir maps them (manifold_cli -> manifold_cli/, manifold_core -> core/,
    ...), and bin/manifold, the lines pip writes for [project.scripts]. Returns bin/."""
    import tomllib

    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["package-dir"]
    module, function = pyproject["project"]["scripts"]["manifold"].split(":")
    dest.mkdir(parents=True, exist_ok=True)
    for name, folder in packages.items():
        link = dest / name
        if link.is_symlink():
            link.unlink()
        link.symlink_to(repo / folder, target_is_directory=True)
    bin_dir = dest / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "manifold"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
    script.chmod(0o755)
    return bin_dir


# ---------------------------------------------------------------- the report
class Report:
    """The check's findings as one dict, written to JSON and markdown after every stage."""

    def __init__(self, out: Path, device: str, budget_s: float = float("inf")):
        self.out = out
        self.started = time.perf_counter()
        self.budget_s = budget_s
        self.data = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "candidate": device, "stages": [], "errors": []}

    @contextlib.contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        try:
            yield
            self.data["stages"].append({"stage": name, "seconds": round(time.perf_counter() - t, 1)})
        except Exception as exc:  # noqa: BLE001 - one stage failing must not lose the others' figures
            traceback.print_exc()
            self.data["errors"].append({"stage": name, "error": one_line(exc)})
        finally:
            self.write()

    def over_budget(self, what: str) -> bool:
        """True, and said in the report, once the run has spent its --budget-s: what is left is skipped
        so that the report is written before the device call's time limit stops the run."""
        spent = time.perf_counter() - self.started
        if spent < self.budget_s:
            return False
        self.data["errors"].append({"stage": what, "error": f"skipped: {spent:.0f} s spent of --budget-s {self.budget_s:.0f}"})
        return True

    def write(self) -> None:
        self.data["seconds"] = round(time.perf_counter() - self.started, 1)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu-report.json").write_text(json.dumps(self.data, indent=2) + "\n")
        (self.out / "gpu-report.md").write_text(markdown(self.data))


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:400]}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def markdown(data: dict) -> str:
    """The report as the markdown BENCHMARKS.md's GPU section takes: what ran where, then one table
    per stage that produced figures."""
    m = data.get("machine", {})
    lines = [f"# GPU check, {data['date']}", "",
             f"Candidate device: `{data['candidate']}`; {data.get('seconds', 0):.0f} s in all.", ""]
    if m:
        gpu = m.get("gpu") or "none found"
        lines += [f"- machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores; GPU: {gpu}",
                  f"- Python {m.get('python', '?')}, onnxruntime {m.get('onnxruntime', '?')} "
                  f"({m.get('onnxruntime_package', '?')}), providers: {', '.join(m.get('providers', []))}",
                  f"- numpy {m.get('numpy', '?')}, typer {m.get('typer', '?')}, rich {m.get('rich', '?')}, "
                  f"Pillow {m.get('pillow', '?')}; torch in this Python: {m.get('torch', 'none')} (not imported)"]
        if m.get("cuda_libraries"):
            found = [f"{name} {'ok' if path else 'MISSING'}" for name, path in m["cuda_libraries"].items()]
            lines.append(f"- CUDA libraries by name: {', '.join(found)}")
        lines.append("")
    if data.get("cli"):
        lines += ["## manifold upscale: provider and parity", ""]
        lines += _table(["model", "32 ->", "device", "provider printed", "tiles/s (CLI)", "largest pixel difference",
                         "pixels that differ"],
                        [[r["model"], r["res"], r["device"], r["provider"], _num(r["tiles_per_s"]),
                          "-" if r.get("max_difference") is None else r["max_difference"],
                          "-" if r.get("pixels_differing") is None
                          else f"{r['pixels_differing']:,} of {r['pixels']:,}"] for r in data["cli"]])
        lines.append("")
    if data.get("stdout_besides_json"):
        lines += ["`manifold upscale --json` printed more than its summary on stdout:", ""]
        lines += [f"    {line}" for line in data["stdout_besides_json"][:6]] + [""]
    if data.get("float"):
        lines += ["## Decoded values before rounding (in process)", ""]
        lines += _table(["model", "32 ->", "candidate", "largest difference (of 1.0)", "8-bit pixels that differ"],
                        [[r["model"], r["res"], r["variant"], f"{r['max_abs']:.2e}",
                          f"{r['pixels_differing']:,} of {r['pixels']:,}"] for r in data["float"]])
        if data.get("cuda_provider_options"):
            shown = {k: v for k, v in data["cuda_provider_options"].items()
                     if k in ("use_tf32", "cudnn_conv_algo_search", "arena_extend_strategy", "gpu_mem_limit",
                              "do_copy_in_default_stream", "cudnn_conv_use_max_workspace", "enable_cuda_graph")}
            lines += ["", "CUDA provider options as the runtime's session got them: "
                      + ", ".join(f"`{k}={v}`" for k, v in shown.items())]
        lines.append("")
    if data.get("placement"):
        lines += ["## Where the nodes ran (onnxruntime's profiler, one render per size)", ""]
        lines += _table(["model", "graph", "nodes per provider", "operators not on CUDA"],
                        [[r["model"], r["graph"], ", ".join(f"{k.removesuffix('ExecutionProvider')} {v}"
                                                            for k, v in sorted(r["nodes"].items())),
                          ", ".join(r["not_on_cuda"]) or "none"] for r in data["placement"]])
        lines.append("")
    if data.get("speed"):
        lines += ["## Speed: tiles/s, taking turns in one run", ""]
        lines += _table(["model", "32 ->", "candidate", "tiles per call", "tiles/s", "vs CPU", "inside onnxruntime"],
                        [[r["model"], r["res"], r["candidate"], r["tiles_per_call"], _num(r["tiles_per_s"]),
                          "-" if r.get("vs_cpu") is None else f"{r['vs_cpu']:.2f}x",
                          "-" if r.get("ort_share") is None else f"{100 * r['ort_share']:.0f} %"]
                         for r in data["speed"]])
        lines.append("")
    if data.get("startup"):
        lines += ["## Start-up: `manifold upscale one.png --res 64`", ""]
        lines += _table(["device", "provider", "wall seconds (median)"],
                        [[r["device"], r["provider"], f"{r['seconds']:.2f}"] for r in data["startup"]])
        lines.append("")
    if data.get("errors"):
        lines += ["## Errors", ""] + [f"- {e['stage']}: {e['error']}" for e in data["errors"]] + [""]
    return "\n".join(lines)


# ---------------------------------------------------------------- stages
def machine_info(device: str) -> dict:
    import numpy as np
    import onnxruntime as ort

    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "numpy": np.__version__, "onnxruntime": ort.__version__,
            "onnxruntime_file": ort.__file__, "providers": ort.get_available_providers()}
    try:
        info["onnxruntime_package"] = ort.capi.build_and_package_info.package_name
        info["onnxruntime_cuda_version"] = getattr(ort.capi.build_and_package_info, "cuda_version", None)
    except AttributeError:
        info["onnxruntime_package"] = "?"
    with contextlib.suppress(metadata.PackageNotFoundError):
        info["torch"] = metadata.version("torch")  # not imported: torch would load CUDA libraries itself
    for name in ("typer", "rich", "pillow"):  # the CLI's own needs, as this Python has them
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[name] = metadata.version(name)
    with contextlib.suppress(OSError, StopIteration):
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                           if line.startswith("model name"))
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True)
        info["gpu"] = smi.stdout.strip() or smi.stderr.strip()
    if device == "cuda":
        info["ld_library_path"] = os.environ.get("LD_LIBRARY_PATH", "")
        info["cuda_libraries"] = {name: loaded_path(name) for name in CUDA_LIBRARIES}
    return info


def loaded_path(name: str) -> str | None:
    """Where the dynamic loader finds a library by name (the way onnxruntime asks), or None."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return None
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("/" + name) or f"/{name}." in line:
                return line.split()[-1]
    return "loaded"


def make_tile_folder(folder: Path, count: int) -> None:
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import write_png

    tiles = make_tiles(count, TILE, seed=20)
    folder.mkdir(parents=True, exist_ok=True)
    for i, tile in enumerate(tiles):
        write_png(folder / f"tile_{i:03d}.png", tile)


def manifold_upscale(source: Path, out: Path, res: int, device: str, model: str) -> dict:
    """One `manifold upscale` run as a user types it; its --json summary."""
    cmd = ["manifold", "upscale", str(source), "--res", str(res), "--device", device, "--model", model,
           "-o", str(out), "--json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"`{' '.join(cmd[:2])} ... --device {device} --model {model}` exit {proc.returncode}: {tail}")
    lines = proc.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    if lines[:-1]:  # --json promises the summary alone on stdout (the editor extensions read it)
        summary["stdout_besides_json"] = lines[:-1]
    return summary


def compare_folders(reference: Path, candidate: Path) -> dict:
    """Every pixel of every PNG of `candidate` against the one of the same name in `reference`."""
    import numpy as np

    from manifold_core.tiles import read_rgba

    names = sorted(p.name for p in reference.glob("*.png"))
    if names != sorted(p.name for p in candidate.glob("*.png")) or not names:
        raise RuntimeError(f"{candidate.name}: not the same files as {reference.name}")
    largest, differing, pixels = 0, 0, 0
    for name in names:
        a = read_rgba(reference / name).astype(np.int16)
        b = read_rgba(candidate / name).astype(np.int16)
        if a.shape != b.shape:
            raise RuntimeError(f"{name}: {b.shape} against {a.shape}")
        diff = np.abs(a - b)
        largest = max(largest, int(diff.max()))
        differing += int(diff.any(axis=-1).sum())
        pixels += diff.shape[0] * diff.shape[1]
    return {"max_difference": largest, "pixels_differing": differing, "pixels": pixels}


def cli_stage(report: Report, work: Path, device: str) -> None:
    tiles_dir = work / "tiles"
    make_tile_folder(tiles_dir, CLI_TILES)
    rows = report.data.setdefault("cli", [])
    for model in MODELS:
        for res in RESOLUTIONS:
            ref_out, cand_out = work / f"cpu-{model}-{res}", work / f"{device}-{model}-{res}"
            ref = manifold_upscale(tiles_dir, ref_out, res, "cpu", model)
            cand = manifold_upscale(tiles_dir, cand_out, res, device, model)
            rows.append({"model": model, "res": res, "device": "cpu", "provider": ref["provider"],
                         "tiles_per_s": ref["tiles_per_s"]})
            rows.append({"model": model, "res": res, "device": device, "provider": cand["provider"],
                         "tiles_per_s": cand["tiles_per_s"], **compare_folders(ref_out, cand_out)})
            for run in (ref, cand):
                if run.get("stdout_besides_json"):
                    report.data.setdefault("stdout_besides_json", run["stdout_besides_json"])
            report.write()
    expect = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    wrong = [r for r in rows if r["device"] == device and r["provider"] != expect]
    if wrong:
        raise RuntimeError(f"--device {device} printed {wrong[0]['provider']}, not {expect}")


def runtime_module():
    """The torch-free runtime: manifold_core.runtime, or manifold_cli.runtime in checkouts from before
    it moved to core/ (this script runs later, on a machine where a failed import costs a loan)."""
    try:
        from manifold_core import runtime
    except ImportError:
        from manifold_cli import runtime
    return runtime


def bench_harness():
    """interleave, rate and speedup: manifold_bench.harness, or manifold_train.bench_suite in checkouts
    from before `manifold bench` had its own package."""
    try:
        from manifold_bench import harness
    except ImportError:
        from manifold_train import bench_suite as harness
    return harness


def render_all(model, tiles, res: int, chunk: int) -> None:
    """TileModel.render to the end, with `manifold upscale`'s default --edges auto: through
    RenderOptions where the runtime has them, else through the edges argument they replaced."""
    if "options" in inspect.signature(model.render).parameters:
        chunks = model.render(tiles, res, res, options=runtime_module().RenderOptions(edges="auto"), chunk=chunk)
    else:
        chunks = model.render(tiles, res, res, chunk=chunk, edges="auto")
    for _ in chunks:
        pass


def load_model(model: str, device: str, options: dict | None = None, profile_prefix: str | None = None):
    """A TileModel as the CLI loads it (TileModel.load), or with explicit CUDA provider options, or
    with onnxruntime's profiler on (which records the provider every node ran on)."""
    runtime = runtime_module()

    if options is None and profile_prefix is None:
        return runtime.TileModel.load(model, device)
    import onnxruntime as ort

    model_dir = runtime.resolve_model(model)
    card = runtime.load_card(model_dir)
    settings = runtime.session_options()
    if profile_prefix:
        settings.enable_profiling = True
        settings.profile_file_prefix = profile_prefix
    providers = [("CUDAExecutionProvider", options or {})] if device == "cuda" else ["CPUExecutionProvider"]
    sessions = [ort.InferenceSession(str(model_dir / name), settings, providers=providers)
                for name in ("encoder.onnx", "decoder.onnx")]
    tile_model = runtime.TileModel(card, *sessions, sessions[0].get_providers()[0])
    tile_model.check_graphs(model_dir)
    return tile_model


def node_placement(profile: Path) -> dict:
    """From an onnxruntime profile: how many of the graph's nodes ran on each provider, and the
    operators of those that did not run on CUDA (where one sits between CUDA nodes, its data
    crosses between the devices)."""
    nodes: dict[str, tuple[str, str]] = {}
    for event in json.loads(profile.read_text()):
        args = event.get("args", {})
        if event.get("cat") == "Node" and "provider" in args:
            nodes[event["name"].removesuffix("_kernel_time").removesuffix("_fence_before")
                  .removesuffix("_fence_after")] = (args["provider"], args.get("op_name", "?"))
    per_provider: dict[str, int] = {}
    for provider, _ in nodes.values():
        per_provider[provider] = per_provider.get(provider, 0) + 1
    return {"nodes": per_provider,
            "not_on_cuda": sorted({op for provider, op in nodes.values() if provider != "CUDAExecutionProvider"})}


def placement_stage(report: Report, work: Path, device: str) -> None:
    """Which provider each node of each graph ran on, for one small render per model and size."""
    from manifold_core.synthetic import make_tiles

    tiles = make_tiles(8, TILE, seed=22)
    rows = report.data.setdefault("placement", [])
    for model_name in MODELS:
        model = load_model(model_name, device, profile_prefix=str(work / f"profile-{model_name}"))
        for res in RESOLUTIONS:
            decoded(model, tiles, res)
        for graph, session in (("encoder", model.encoder), ("decoder", model.decoder)):
            rows.append({"model": model_name, "graph": graph, **node_placement(Path(session.end_profiling()))})
        report.write()


def decoded(model, tiles, res: int):
    return model.decode(model.encode(model.encoder_input(tiles, "clamp")), res, res)


def float_stage(report: Report, device: str) -> None:
    import numpy as np

    from manifold_core.synthetic import make_tiles

    tiles = make_tiles(CLI_TILES, TILE, seed=20)
    rows = report.data.setdefault("float", [])
    for model_name in MODELS:
        reference = load_model(model_name, "cpu")
        variants = {device: load_model(model_name, device)}
        if device == "cuda":
            report.data["cuda_provider_options"] = variants["cuda"].decoder.get_provider_options().get(
                "CUDAExecutionProvider", {})
            variants["cuda, use_tf32=0"] = load_model(model_name, "cuda", {"use_tf32": "0"})
        for res in RESOLUTIONS:
            ref = decoded(reference, tiles, res)
            for variant, model in variants.items():
                got = decoded(model, tiles, res)
                to8 = lambda x: np.rint(np.clip(x, 0, 1) * 255)  # the 8 bits a PNG keeps
                rows.append({"model": model_name, "res": res, "variant": variant, "provider": model.provider,
                             "max_abs": float(np.abs(got - ref).max()),
                             "pixels_differing": int((to8(got) != to8(ref)).any(axis=1).sum()),
                             "pixels": int(ref.shape[0] * res * res)})
        report.write()


class TimedSession:
    """An onnxruntime session that adds up the seconds its run() takes (the rest of a render call is
    the runtime's numpy work around it)."""

    def __init__(self, session):
        self.session, self.seconds = session, 0.0

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.session.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t

    def __getattr__(self, name):
        return getattr(self.session, name)


@contextlib.contextmanager
def encode_batch(tiles: int):
    """runtime.ENCODE_BATCH for one call: the runtime has no per-model setting for it, and this check
    measures whether the GPU wants another value."""
    runtime = runtime_module()

    saved = runtime.ENCODE_BATCH
    runtime.ENCODE_BATCH = tiles
    try:
        yield
    finally:
        runtime.ENCODE_BATCH = saved


def speed_candidates(models: dict, device: str, res: int) -> dict[str, dict]:
    """name -> (model, chunk, pixel budget, encode batch): the CLI's settings on each device, and
    batches of BATCHES tiles per onnxruntime run on the candidate (CUDA) device."""
    runtime = runtime_module()

    # unit: the tiles a timed call renders are a multiple of it, so every onnxruntime run of a
    # candidate has the same shape (a new shape costs CUDA a new search for convolution algorithms)
    cli = {"chunk": 256, "budget": runtime.DEFAULT_PIXEL_BUDGET, "encode": runtime.ENCODE_BATCH,
           "unit": runtime.ENCODE_BATCH}
    out = {"cpu": {"model": models["cpu"], **cli}, f"{device} (CLI settings)": {"model": models[device], **cli}}
    for batch in BATCHES if device == "cuda" else BATCHES[:1]:  # the dry run proves the path with one
        if batch * res * res > MAX_BATCH_PIXELS:
            continue
        out[f"{device}, {batch} tiles per run"] = {"model": models[device], "chunk": batch,
                                                  "budget": batch * res * res, "encode": batch, "unit": batch}
    return out


def rates(times: dict[str, list[float]], sizes: dict[str, int], reference: str = "cpu") -> dict[str, dict]:
    """tiles/s (the median over rounds) and how many times the reference's rate (the median of the
    per-round ratios) of candidates that rendered sizes[name] tiles per call in times[name] seconds."""
    rate, speedup = bench_harness().rate, bench_harness().speedup
    per_tile = {name: [t / sizes[name] for t in ts] for name, ts in times.items()}  # sizes differ by candidate
    return {name: {"tiles_per_s": round(rate(ts, sizes[name]), 1),
                   "vs_cpu": None if name == reference else round(speedup(per_tile[name], per_tile[reference]), 2)}
            for name, ts in times.items()}


def speed_stage(report: Report, device: str, rounds: int, seconds_per_call: float) -> None:
    from manifold_core.synthetic import make_tiles

    interleave = bench_harness().interleave
    tiles = make_tiles(MAX_SPEED_TILES, TILE, seed=21)  # every timed call renders the first n of these
    rows = report.data.setdefault("speed", [])
    for model_name in MODELS:
        models = {"cpu": load_model(model_name, "cpu"), device: load_model(model_name, device)}
        for m in models.values():
            m.encoder, m.decoder = TimedSession(m.encoder), TimedSession(m.decoder)
        for res in RESOLUTIONS:
            if report.over_budget(f"speed {model_name} 32 -> {res}"):
                return
            candidates = speed_candidates(models, device, res)
            calls, sizes, inside = {}, {}, dict.fromkeys(candidates, 0.0)
            for name, c in candidates.items():
                def call(n, c=c, name=name, res=res, inside=inside, timed=False):
                    model = c["model"]
                    model.pixel_budget = c["budget"]
                    before = model.encoder.seconds + model.decoder.seconds
                    with encode_batch(c["encode"]):
                        render_all(model, tiles[:n], res, c["chunk"])
                    if timed:
                        inside[name] += model.encoder.seconds + model.decoder.seconds - before

                unit = min(c["unit"], len(tiles))
                call(unit)  # warm-up: CUDA's first run of a shape picks its convolution algorithms
                t = time.perf_counter()
                call(unit)
                per_unit = time.perf_counter() - t
                units = max(1, min(len(tiles) // unit, round(seconds_per_call / per_unit)))
                sizes[name] = units * unit
                calls[name] = lambda call=call, n=sizes[name]: call(n, timed=True)
            times = interleave(calls, rounds, warmup=0)
            for name, figures in rates(times, sizes).items():
                c = candidates[name]
                rows.append({"model": model_name, "res": res, "candidate": name, "provider": c["model"].provider,
                             "tiles_per_call": sizes[name], "chunk": c["chunk"], "pixel_budget": c["budget"],
                             "encode_batch": c["encode"], **figures,
                             "ort_share": round(inside[name] / sum(times[name]), 3)})
            report.write()


def startup_stage(report: Report, work: Path, device: str, rounds: int) -> None:
    one = work / "one"
    make_tile_folder(one, 1)
    source = one / "tile_000.png"
    devices = ["cpu", device] if device != "cpu" else ["cpu"]
    walls = {d: [] for d in devices}
    providers = {}
    for r in range(rounds):
        for d in devices if r % 2 == 0 else devices[::-1]:
            out = work / f"startup-{d}-{r}.png"
            t = time.perf_counter()
            providers[d] = manifold_upscale(source, out, 64, d, "default")["provider"]
            walls[d].append(time.perf_counter() - t)
    report.data["startup"] = [{"device": d, "provider": providers[d], "seconds": round(statistics.median(walls[d]), 3)}
                              for d in devices]


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="the candidate compared with the CPU (cpu: the dry run of the CPU half)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-check-out")))
    parser.add_argument("--rounds", type=int, default=5, help="speed rounds (turns of every candidate)")
    parser.add_argument("--seconds-per-call", type=float, default=0.4, help="about how long one timed call runs")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("cli", "float", "placement", "speed", "startup"))
    parser.add_argument("--budget-s", type=float, default=360, help="start no stage (nor speed block) after "
                        "this many seconds: the report is written well inside the device call's limit")
    parser.add_argument("--print-library-path", action="store_true",
                        help="print the nvidia-* lib folders of this Python, joined by ':', and stop")
    parser.add_argument("--make-shim", type=Path, metavar="DIR",
                        help="link the project's packages into DIR, write DIR/bin/manifold, print DIR/bin and stop")
    args = parser.parse_args(argv)
    if args.print_library_path:
        print(":".join(cuda_library_dirs()))
        return 0
    if args.make_shim:
        print(make_shim(args.make_shim))
        return 0

    report = Report(args.out, args.device, args.budget_s)
    with report.stage("machine"):
        report.data["machine"] = machine_info(args.device)
    with tempfile.TemporaryDirectory(prefix="manifold-gpu-check-") as tmp:
        work = Path(tmp)
        stages = {"cli": lambda: cli_stage(report, work, args.device),
                  "float": lambda: float_stage(report, args.device),
                  "placement": lambda: placement_stage(report, work, args.device),
                  "speed": lambda: speed_stage(report, args.device, args.rounds, args.seconds_per_call),
                  "startup": lambda: startup_stage(report, work, args.device, rounds=3)}
        for name, run in stages.items():
            if name in args.skip or report.over_budget(name):
                continue
            with report.stage(name):
                run()
    report.write()
    print(markdown(report.data))
    return 1 if report.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Carry onnxruntime-gpu to a lent GPU machine in pieces, and install it there (BENCHMARKS.md, "GPU").

The lent machine reaches no package registry, and one call to it carries at most 64 MiB (the
checkout's files included). onnxruntime-gpu 1.31.1's wheel is 243.7 MiB, most of it
`libonnxruntime_providers_cuda.so` (284 MB unpacked, 231 MB deflated in the wheel), so it has to
travel in pieces. The route: every file of the wheels, recompressed as one .tar.xz (Python's
lzma, preset 6), cut into equal pieces that each fit one call beside the checkout. The bundle is
194.4 MiB and goes in 5 calls where the wheel itself would take 6, and each call is a transfer
and one more chance for the machine to be given back before the next (BENCHMARKS.md, "GPU", has
the sizes). Leaving files out would not pay: the CUDA provider, which must go, is 81 % of the
unpacked bytes. Every file keeps its bytes: after unpacking, each one is checked against its
wheel's RECORD (the sha256 the wheel was built with), and each piece and the joined bundle
against the manifest written here.

Here (any Python >= 3.11 with pip; the registry is reached once):

    python scripts/gpu_wheel.py prepare      # download, repack, split into .whl/gpu/; prints the calls

There (scripts/gpu_check.sh runs these; the pieces arrive one call at a time and wait in a
folder outside the checkout, which the next call's carry cannot replace):

    python3 scripts/gpu_wheel.py receive --stash /tmp/manifold-gpu    # exit 0: all pieces there
    python3 scripts/gpu_wheel.py install --stash /tmp/manifold-gpu --target /tmp/manifold-gpu/site

Standard library only: it runs under the GPU machine's own python3.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / ".whl" / "gpu"  # ignored by .gitignore (/.whl/): what `prepare` writes and a call carries
WHEELS = REPO / ".whl" / "wheels"
MANIFEST = "manifest.json"
BUNDLE = "bundle.tar.xz"
INSTALLED = ".installed"  # marker in --target: the bundle sha256 it holds, so a rerun skips the unpacking
CALL_LIMIT = 64 << 20  # bytes one call carries: tree + carried paths (the device tool's limit)
MARGIN = 3 << 20  # left free in each call for files the tree gains between `prepare` and the calls
XZ_PRESET = 6  # -9 packs the CUDA provider barely tighter for several times the memory and time
# The GPU machine: Python 3.12 (cp312) on x86-64 Linux. pip matches each manylinux tag exactly.
TARGET = ["--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
          "--platform", "manylinux_2_27_x86_64", "--platform", "manylinux_2_17_x86_64",
          "--platform", "manylinux2014_x86_64"]
# What the machine's image lacks for `manifold upscale` (KINDS.md's package list): the GPU build of
# onnxruntime (it has the CPU build 1.30) and defusedxml (manifold_cli/tiled.py). Versions: constraints.txt.
PACKAGES = ("onnxruntime-gpu", "defusedxml")
CHUNK = 1 << 20


class PieceError(RuntimeError):
    """A piece, the joined bundle or an unpacked file is not what the manifest or a RECORD says."""


# ---------------------------------------------------------------- hashing and sizes
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def piece_sizes(total: int, max_piece: int) -> list[int]:
    """The fewest pieces of at most `max_piece` bytes for `total` bytes, as equal as can be (so the
    spare room is spread over every call rather than left in the last)."""
    if max_piece < 1:
        raise ValueError(f"a piece must hold at least one byte (got {max_piece})")
    count = max(1, math.ceil(total / max_piece))
    base, extra = divmod(total, count)
    return [base + (i < extra) for i in range(count)]


def tree_bytes(repo: Path = REPO) -> int:
    """Bytes of what every call sends: tracked files, untracked files git does not ignore, and a
    shared/ folder whole (it travels even where git ignores it)."""
    git = ["git", "-C", str(repo), "ls-files", "-z"]
    names = subprocess.run([*git, "--cached", "--others", "--exclude-standard"], capture_output=True,
                           check=True).stdout.split(b"\0")
    if (repo / "shared").is_dir():
        names += subprocess.run([*git, "--others", "--ignored", "--exclude-standard", "--", "shared"],
                                capture_output=True, check=True).stdout.split(b"\0")
    total = 0
    for name in filter(None, names):
        path = repo / os.fsdecode(name)
        if path.is_file() and not path.is_symlink():  # a deleted tracked file is still listed
            total += path.stat().st_size
    return total


# ---------------------------------------------------------------- split and join
def split_file(path: Path, out_dir: Path, max_piece: int) -> list[dict]:
    """Cut `path` into pieces piece-01, piece-02, ... in `out_dir`; their names, sizes and sha256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = piece_sizes(path.stat().st_size, max_piece)
    pieces = []
    with open(path, "rb") as src:
        for i, size in enumerate(sizes, 1):
            name = f"piece-{i:02d}"
            digest, left = hashlib.sha256(), size
            with open(out_dir / name, "wb") as dst:
                while left:
                    block = src.read(min(CHUNK, left))
                    digest.update(block)
                    dst.write(block)
                    left -= len(block)
            pieces.append({"name": name, "bytes": size, "sha256": digest.hexdigest()})
    return pieces


def check_piece(path: Path, piece: dict) -> None:
    if not path.is_file():
        raise PieceError(f"{piece['name']}: missing")
    if path.stat().st_size != piece["bytes"]:
        raise PieceError(f"{piece['name']}: {path.stat().st_size} bytes, the manifest says {piece['bytes']}")
    if sha256_file(path) != piece["sha256"]:
        raise PieceError(f"{piece['name']}: sha256 differs from the manifest (damaged in transfer)")


def join_pieces(pieces: list[dict], folder: Path, out_path: Path, expect_sha256: str) -> None:
    """Concatenate the pieces (each checked first) into `out_path`; the result must hash to expect_sha256."""
    for piece in pieces:
        check_piece(folder / piece["name"], piece)
    digest = hashlib.sha256()
    partial = out_path.with_name(out_path.name + ".part")
    with open(partial, "wb") as dst:
        for piece in pieces:
            with open(folder / piece["name"], "rb") as src:
                for block in iter(lambda: src.read(CHUNK), b""):
                    digest.update(block)
                    dst.write(block)
    if digest.hexdigest() != expect_sha256:
        partial.unlink()
        raise PieceError(f"{out_path.name}: the joined pieces hash to {digest.hexdigest()[:12]}..., "
                         f"the manifest says {expect_sha256[:12]}...")
    partial.replace(out_path)


# ---------------------------------------------------------------- the bundle
def repack_wheels(wheels: list[Path], out_path: Path, preset: int = XZ_PRESET) -> None:
    """Every file of the wheels, as one .tar.xz laid out like site-packages (a wheel unpacks there
    as it is). Reproducible: fixed owner and time; the exec bit comes from the wheel's zip entry."""
    with tarfile.open(out_path, "w:xz", preset=preset) as tar:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                for entry in zf.infolist():
                    if entry.is_dir():
                        continue
                    info = tarfile.TarInfo(entry.filename)
                    info.size = entry.file_size
                    info.mode = 0o755 if (entry.external_attr >> 16) & 0o111 else 0o644
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    with zf.open(entry) as member:
                        tar.addfile(info, member)


def record_hash(path: Path) -> str:
    """A file's hash the way a wheel's RECORD writes it: sha256=<urlsafe base64, no padding>."""
    raw = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_records(target: Path) -> int:
    """Every file under `target` is listed in a RECORD there, and every listed file is there with that
    hash; returns how many files were hashed."""
    records = sorted(target.glob("*.dist-info/RECORD"))
    if not records:
        raise PieceError(f"{target}: no *.dist-info/RECORD: not an unpacked wheel")
    present = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    unlisted = present - {r.relative_to(target).as_posix() for r in records}
    checked = 0
    for record in records:
        for row in csv.reader(io.StringIO(record.read_text())):
            if not row or not row[1]:  # RECORD lists itself without a hash
                continue
            name, expect = row[0], row[1]
            path = target / name
            if not path.is_file():
                raise PieceError(f"{name}: listed in {record.parent.name}/RECORD but not unpacked")
            if record_hash(path) != expect:
                raise PieceError(f"{name}: its bytes differ from {record.parent.name}/RECORD")
            checked += 1
            unlisted.discard(name)
    if unlisted:
        raise PieceError(f"{sorted(unlisted)[0]}: unpacked but in no RECORD ({len(unlisted)} such files)")
    return checked


def unpack_bundle(bundle: Path, target: Path) -> int:
    """Unpack into a new folder beside `target`, check every file against the RECORDs, then move it
    into place: `target` is either the whole checked bundle or absent. Returns the files checked."""
    if target.exists():
        raise PieceError(f"{target}: already exists; remove it or give another --target")
    fresh = target.with_name(target.name + ".unpacking")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    try:
        with tarfile.open(bundle, "r:xz") as tar:
            tar.extractall(fresh, filter="data")  # refuses absolute paths, .. and links out of the folder
        checked = check_records(fresh)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    fresh.rename(target)
    return checked


# ---------------------------------------------------------------- the manifest
def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise PieceError(f"{path}: no manifest; carry .whl/gpu/{MANIFEST} with the pieces "
                         f"(written by `python scripts/gpu_wheel.py prepare`)")
    return json.loads(path.read_text())


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def plan(manifest: dict, tree: int, source: Path = SOURCE) -> list[dict]:
    """One call per piece: what it carries and how many bytes travel with the tree."""
    rel = source.relative_to(REPO) if source.is_relative_to(REPO) else source
    manifest_bytes = len(json.dumps(manifest, indent=2)) + 1
    return [{"call": i, "carry": [str(rel / MANIFEST), str(rel / piece["name"])],
             "bytes": tree + manifest_bytes + piece["bytes"]}
            for i, piece in enumerate(manifest["pieces"], 1)]


# ---------------------------------------------------------------- the commands
def pinned(name: str, constraints: Path = REPO / "constraints.txt") -> str:
    """name==version as constraints.txt pins it (the version the test suite passed with)."""
    for line in constraints.read_text().splitlines():
        match = re.fullmatch(rf"\s*{re.escape(name)}\s*==\s*([^\s#]+)\s*(#.*)?", line)
        if match:
            return f"{name}=={match.group(1)}"
    raise SystemExit(f"error: {constraints.name} pins no version of {name}")


def prepare(requirements: list[str], source: Path, wheels_dir: Path, max_piece: int | None,
            preset: int, repo: Path = REPO) -> dict:
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for requirement in requirements:  # one at a time: a failure names the package
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        *TARGET, "-d", str(wheels_dir), requirement], check=True)
    wheels = [pick_wheel(wheels_dir, requirement) for requirement in requirements]
    source.mkdir(parents=True, exist_ok=True)
    for old in source.glob("piece-*"):  # pieces of an earlier bundle would be carried by mistake
        old.unlink()
    bundle = source / BUNDLE
    repack_wheels(wheels, bundle, preset)
    tree = tree_bytes(repo)
    if max_piece is None:
        max_piece = CALL_LIMIT - tree - MARGIN
        if max_piece < (1 << 20):
            raise SystemExit(f"error: the tree alone is {tree / 2**20:.1f} MiB of the {CALL_LIMIT >> 20} MiB "
                             f"a call carries: no room for pieces")
    manifest = {"wheels": [{"name": w.name, "bytes": w.stat().st_size, "sha256": sha256_file(w),
                            "unpacked_bytes": sum(e.file_size for e in zipfile.ZipFile(w).infolist())}
                           for w in wheels],
                "bundle": {"name": BUNDLE, "bytes": bundle.stat().st_size, "sha256": sha256_file(bundle),
                           "xz_preset": preset},
                "pieces": split_file(bundle, source, max_piece), "tree_bytes_at_prepare": tree}
    write_manifest(source, manifest)
    bundle.unlink()  # the pieces are the bundle; it must not be carried twice by a careless `carry: [.whl]`
    return manifest


def pick_wheel(folder: Path, requirement: str) -> Path:
    name, version = requirement.split("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(p for p in folder.glob("*.whl")
                   if p.name.lower().startswith(f"{stem}-{version}-"))
    if len(found) != 1:
        raise SystemExit(f"error: {folder}: expected one wheel of {requirement}, found {[p.name for p in found]}")
    return found[0]


def receive(source: Path, stash: Path) -> tuple[list[str], list[str]]:
    """Check the pieces this call carried and keep them in `stash`; (pieces held, pieces missing)."""
    stash.mkdir(parents=True, exist_ok=True)
    if (source / MANIFEST).is_file():
        manifest = read_manifest(source)
        if (stash / MANIFEST).is_file() and read_manifest(stash)["bundle"]["sha256"] != manifest["bundle"]["sha256"]:
            for old in stash.glob("piece-*"):  # a new bundle: the old pieces belong to another
                old.unlink()
        write_manifest(stash, manifest)
    manifest = read_manifest(stash)
    for piece in manifest["pieces"]:
        carried, kept = source / piece["name"], stash / piece["name"]
        if carried.is_file() and not (kept.is_file() and sha256_file(kept) == piece["sha256"]):
            check_piece(carried, piece)
            shutil.copyfile(carried, kept)
    held = [p["name"] for p in manifest["pieces"] if (stash / p["name"]).is_file()]
    missing = [p["name"] for p in manifest["pieces"] if p["name"] not in held]
    return held, missing


def install(stash: Path, target: Path) -> str:
    """Join, check and unpack the bundle into `target` (skipped when it already holds this bundle)."""
    manifest = read_manifest(stash)
    sha = manifest["bundle"]["sha256"]
    marker = target / INSTALLED
    if marker.is_file() and marker.read_text().strip() == sha:
        return f"{target}: already holds bundle {sha[:12]}..."
    if marker.is_file():
        shutil.rmtree(target)  # an install of another bundle, made by this script (it wrote the marker)
    elif target.exists():
        raise PieceError(f"{target}: exists and was not made by this script; give another --target")
    bundle = stash / BUNDLE
    join_pieces(manifest["pieces"], stash, bundle, sha)
    checked = unpack_bundle(bundle, target)
    bundle.unlink()
    marker.write_text(sha + "\n")
    names = ", ".join(w["name"] for w in manifest["wheels"])
    return f"{target}: {names}; {checked} files match their RECORD"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="here: download the wheels, repack and split them into .whl/gpu/")
    p.add_argument("--requirement", action="append", help="name==version (default: the pins of "
                   + ", ".join(PACKAGES) + " in constraints.txt)")
    p.add_argument("--piece-mib", type=float, help="largest piece (default: what a call has left beside the tree)")
    p.add_argument("--xz-preset", type=int, default=XZ_PRESET)
    p = sub.add_parser("plan", help="here: the calls that carry the pieces, with the bytes each sends")
    p = sub.add_parser("receive", help="there: keep the pieces this call carried; exit 0 once all are held")
    p.add_argument("--source", type=Path, default=SOURCE)
    p.add_argument("--stash", type=Path, required=True)
    p = sub.add_parser("install", help="there: join, check and unpack the held pieces")
    p.add_argument("--stash", type=Path, required=True)
    p.add_argument("--target", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            requirements = args.requirement or [pinned(name) for name in PACKAGES]
            max_piece = int(args.piece_mib * 2**20) if args.piece_mib else None
            manifest = prepare(requirements, SOURCE, WHEELS, max_piece, args.xz_preset)
            print_plan(manifest)
        elif args.command == "plan":
            print_plan(read_manifest(SOURCE))
        elif args.command == "receive":
            held, missing = receive(args.source, args.stash)
            print(f"pieces held: {len(held)} of {len(held) + len(missing)}"
                  + (f"; still to send: {', '.join(missing)}" if missing else " (all)"))
            return 0 if not missing else 3
        elif args.command == "install":
            print(install(args.stash, args.target))
    except PieceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def print_plan(manifest: dict) -> None:
    mib = lambda n: f"{n / 2**20:.1f} MiB"
    tree = tree_bytes()
    for w in manifest["wheels"]:
        print(f"wheel {w['name']}: {mib(w['bytes'])} ({mib(w['unpacked_bytes'])} unpacked)")
    b = manifest["bundle"]
    print(f"bundle (xz -{b['xz_preset']}): {mib(b['bytes'])} in {len(manifest['pieces'])} pieces; "
          f"tree now {mib(tree)}")
    for call in plan(manifest, tree):
        over = "  OVER THE LIMIT: run prepare again" if call["bytes"] > CALL_LIMIT else ""
        print(f"call {call['call']}: carry {json.dumps(call['carry'])}  ({mib(call['bytes'])} of "
              f"{mib(CALL_LIMIT)}){over}")


if __name__ == "__main__":
    sys.exit(main())

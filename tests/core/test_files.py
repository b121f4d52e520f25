"""Reliability of manifold_core.files: temporaries, atomic writes, folders swapped in, stale leftovers,
and a user's own file at an output's name (replaced only when manifold wrote it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from manifold_core.errors import OutputError, UsageError
from manifold_core.files import (
    JSON_MARK,
    TEMP_PREFIX,
    Staging,
    atomic_write,
    atomic_write_stream,
    clean_stale,
    is_temporary,
    made_by_manifold,
    make_folder,
    replace_folder,
    temporary_folder,
    xml_declaration,
)
from manifold_core.tiles import write_png


def entries(folder):
    return sorted(p.name for p in folder.iterdir())


def dead_pid():
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_write_writes_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write(target, lambda p: p.write_bytes(b"new"))
    assert target.read_bytes() == b"new" and entries(tmp_path) == ["a.bin"]
    atomic_write(target, lambda p: p.write_bytes(b"newer"), durable=False, replace_unmarked=True)  # a run folder's
    assert target.read_bytes() == b"newer" and entries(tmp_path) == ["a.bin"]


def test_temporaries_are_random_names_with_the_prefix_and_the_pid(tmp_path):
    seen = []
    for _ in range(3):
        atomic_write(tmp_path / "a.png", lambda p: seen.append(p) or p.write_bytes(b"x"), replace_unmarked=True)
    assert len({p.name for p in seen}) == 3
    assert all(p.parent == tmp_path and p.name.startswith(f"{TEMP_PREFIX}{os.getpid()}-")
               and p.suffix == ".png" for p in seen)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_while_writing_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def write(path):
        path.write_bytes(b"half")
        raise error("boom")

    with pytest.raises(error):
        atomic_write(target, write, replace_unmarked=True)
    assert target.read_bytes() == b"old" and entries(tmp_path) == ["a.bin"]


def test_a_planted_symlink_is_never_followed(tmp_path):
    """Symlinks planted under every name the old code used, and under our prefix: nothing is
    written through them (the issue's case: .NAME.png.tmp.png pointing elsewhere)."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    out = tmp_path / "out"
    out.mkdir()
    for name in (".a.png.tmp.png", ".a.png.tmp", f".a.{os.getpid()}.tmp.png", f"{TEMP_PREFIX}{os.getpid()}-0.png"):
        (out / name).symlink_to(victim)
    atomic_write(out / "a.png", lambda p: p.write_bytes(b"image"))
    assert victim.read_bytes() == b"precious"
    assert (out / "a.png").read_bytes() == b"image" and not (out / "a.png").is_symlink()


def test_staging_renames_all_at_commit_or_none(tmp_path):
    with Staging() as stage:
        stage.write(tmp_path / "sub" / "a.txt", lambda p: p.write_text("a"))
        stage.write(tmp_path / "b.txt", lambda p: p.write_text("b"))
        assert not (tmp_path / "b.txt").exists()
        stage.commit()
    assert (tmp_path / "sub" / "a.txt").read_text() == "a" and (tmp_path / "b.txt").read_text() == "b"

    with pytest.raises(RuntimeError):
        with Staging(replace_unmarked=True) as stage:  # b.txt is not marked: replaced as a run folder's file
            stage.write(tmp_path / "new" / "deeper" / "c.txt", lambda p: p.write_text("c"))
            stage.write(tmp_path / "b.txt", lambda p: p.write_text("changed"))
            raise RuntimeError
    assert (tmp_path / "b.txt").read_text() == "b"
    assert not (tmp_path / "new").exists()  # folders it made are gone again
    assert not [p for p in tmp_path.rglob("*") if is_temporary(p)]


def test_a_path_under_a_file_is_one_output_error(tmp_path):
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(OutputError, match="file.png is in the way"):
        atomic_write(tmp_path / "file.png" / "out" / "a.png", lambda p: p.write_bytes(b"x"))
    assert entries(tmp_path) == ["file.png"]


def test_oserrors_while_writing_become_output_errors_naming_the_target(tmp_path):
    def full(path):
        path.write_bytes(b"part")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"a\.png: cannot write: the disk is full"):
        atomic_write(tmp_path / "a.png", full)
    assert entries(tmp_path) == []


def test_make_folder_reports_what_it_made_and_tolerates_a_concurrent_mkdir(tmp_path):
    made = make_folder(tmp_path / "a" / "b")
    assert made == [tmp_path / "a", tmp_path / "a" / "b"]
    assert make_folder(tmp_path / "a" / "b") == []


def test_clean_stale_removes_only_our_dead_runs_leftovers(tmp_path):
    dead, alive = dead_pid(), os.getpid()
    (tmp_path / f"{TEMP_PREFIX}{dead}-abc.png").write_bytes(b"half")
    (tmp_path / f"{TEMP_PREFIX}{dead}-dir").mkdir()
    (tmp_path / f"{TEMP_PREFIX}{dead}-dir" / "x").write_bytes(b"x")
    (tmp_path / f"{TEMP_PREFIX}{alive}-abc.png").write_bytes(b"live")  # a run still writing
    (tmp_path / ".a.png.tmp.png").write_bytes(b"not ours by name")
    (tmp_path / f"{TEMP_PREFIX}notapid.png").write_bytes(b"not ours either")
    (tmp_path / "tile.png").write_bytes(b"user file")
    assert clean_stale(tmp_path) == 2
    assert entries(tmp_path) == sorted([f"{TEMP_PREFIX}{alive}-abc.png", ".a.png.tmp.png",
                                        f"{TEMP_PREFIX}notapid.png", "tile.png"])


def test_a_stale_symlink_of_our_pattern_is_unlinked_not_followed(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "art.png").write_bytes(b"art")
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{TEMP_PREFIX}{dead_pid()}-x").symlink_to(keep)
    clean_stale(out)
    assert entries(out) == [] and (keep / "art.png").read_bytes() == b"art"


# ---------------------------------------------------------------- folders as a unit
def make_model(folder, **files):
    folder.mkdir()
    for name, text in {"model.json": "{}", **files}.items():
        (folder / name).write_text(text)


def test_replace_folder_into_an_absent_or_empty_target(tmp_path):
    for target in (tmp_path / "new", tmp_path / "empty"):
        if target.name == "empty":
            target.mkdir()
        with temporary_folder(target) as tmp:
            (tmp / "model.json").write_text("{}")
            replace_folder(tmp, target)
        assert entries(target) == ["model.json"]
    assert entries(tmp_path) == ["empty", "new"]


def test_replace_folder_swaps_a_model_folder_it_fully_replaces(tmp_path):
    target = tmp_path / "model"
    make_model(target, **{"decoder.onnx": "old"})
    with temporary_folder(target) as tmp:
        make_model_files = {"model.json": "{\"new\": 1}", "decoder.onnx": "new", "encoder.onnx": "new"}
        for name, text in make_model_files.items():
            (tmp / name).write_text(text)
        replace_folder(tmp, target)
    assert (target / "decoder.onnx").read_text() == "new" and entries(tmp_path) == ["model"]


@pytest.mark.parametrize("case", ["user files", "model plus a stranger", "a file", "a symlink"])
def test_replace_folder_refuses_anything_it_would_lose(tmp_path, case):
    target = tmp_path / "target"
    if case == "user files":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif case == "model plus a stranger":
        make_model(target, **{"notes.txt": "mine"})
    elif case == "a file":
        target.write_text("mine")
    else:
        (tmp_path / "real").mkdir()
        (tmp_path / "real" / "notes.txt").write_text("mine")
        target.symlink_to(tmp_path / "real")
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(OutputError):
        with temporary_folder(target) as tmp:
            (tmp / "model.json").write_text("{}")
            replace_folder(tmp, target)
    assert {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if is_temporary(p)]


def test_temporary_folder_is_removed_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with temporary_folder(tmp_path / "runs" / "model") as tmp:
            (tmp / "weights").write_bytes(b"x" * 100)
            raise RuntimeError
    assert entries(tmp_path) == []  # the missing parent it made is gone too


# ---------------------------------------------------------------- links below the root, inputs, signals
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_symlinked_folder_below_the_root_is_refused_at_any_depth(tmp_path, depth):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.png").write_bytes(b"precious")
    root = tmp_path / "out"
    parents = root.joinpath(*[f"d{i}" for i in range(depth - 1)])
    parents.mkdir(parents=True)
    (parents / "sub").symlink_to(elsewhere, target_is_directory=True)
    target = parents / "sub" / "a.png"
    with pytest.raises(OutputError, match="symbolic link"):
        with Staging(root=root) as stage:
            stage.write_stream(target, lambda f: f.write(b"new"))
            stage.commit()
    assert (elsewhere / "a.png").read_bytes() == b"precious" and entries(elsewhere) == ["a.png"]


def test_folders_below_the_root_are_made_and_a_target_outside_it_is_refused(tmp_path):
    root = tmp_path / "out"
    with Staging(root=root) as stage:
        stage.write_stream(root / "a" / "b" / "c.txt", lambda f: f.write(b"x"))
        stage.commit()
    assert (root / "a" / "b" / "c.txt").read_bytes() == b"x"
    with pytest.raises(OutputError, match="outside the output folder"):
        with Staging(root=root) as stage:
            stage.reserve(root / ".." / "escape.txt")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("how", ["same name", "through a symlink", "a hard link", "inside an input folder"])
def test_an_input_is_never_an_output(tmp_path, how):
    from manifold_core.errors import UsageError
    from manifold_core.files import inputs_protected

    folder = tmp_path / "in"
    folder.mkdir()
    tile = folder / "tile.png"
    tile.write_bytes(b"input")
    target = {"same name": tile, "through a symlink": tmp_path / "link.png", "a hard link": tmp_path / "hard.png",
              "inside an input folder": folder / "new.png"}[how]
    protected = [folder] if how == "inside an input folder" else [tile]
    if how == "through a symlink":
        target.symlink_to(tile)
    elif how == "a hard link":
        os.link(tile, target)
    with inputs_protected(protected):
        with pytest.raises(UsageError, match="input"):
            atomic_write(target, lambda p: p.write_bytes(b"overwritten"))
    assert tile.read_bytes() == b"input" and not (folder / "new.png").exists()
    atomic_write(tmp_path / "elsewhere.png", lambda p: p.write_bytes(b"ok"))  # outside the block: no guard left
    assert (tmp_path / "elsewhere.png").read_bytes() == b"ok"


def test_a_signal_during_the_renames_waits_until_all_are_done(tmp_path, monkeypatch):
    """SIGINT arrives after the first of three renames: all three land, then Ctrl-C acts."""
    import signal

    real, calls = os.replace, []

    def replace(*args, **kwargs):
        real(*args, **kwargs)
        calls.append(args)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    targets = [tmp_path / f"f{i}.txt" for i in range(3)]
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, whatever ran before
    try:
        with pytest.raises(KeyboardInterrupt):
            with Staging() as stage:
                for t in targets:
                    stage.write_stream(t, lambda f, t=t: f.write(t.name.encode()))
                stage.commit()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [t.read_text() for t in targets] == [t.name for t in targets]
    assert not [p for p in tmp_path.iterdir() if is_temporary(p)]


# ---------------------------------------------------------------- what manifold wrote
def tile():
    return np.arange(4 * 4 * 4, dtype=np.uint8).reshape(4, 4, 4)


def test_made_by_manifold_knows_its_png_xml_and_json_and_nothing_else(tmp_path):
    ours = tmp_path / "ours.png"
    with open(ours, "wb") as f:
        write_png(f, tile())
    assert made_by_manifold(ours)
    plain = tmp_path / "plain.png"
    Image.fromarray(tile()).save(plain)  # the same pixels from another program: no Software chunk
    assert not made_by_manifold(plain)
    other = tmp_path / "other.png"
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Software", "GIMP 2.10")
    Image.fromarray(tile()).save(other, pnginfo=info)
    assert not made_by_manifold(other)

    (tmp_path / "ours.tsx").write_bytes(xml_declaration() + b'<tileset name="s"/>\n')
    (tmp_path / "tiled.tsx").write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<tileset name="s"/>\n')
    (tmp_path / "late.tsx").write_bytes(b'<?xml version="1.0"?>\n<tileset>' + b"<!-- written by manifold -->" +
                                        b"</tileset>")  # the mark only counts right after the declaration
    assert made_by_manifold(tmp_path / "ours.tsx")
    assert not made_by_manifold(tmp_path / "tiled.tsx") and not made_by_manifold(tmp_path / "late.tsx")

    (tmp_path / "ours.json").write_text(json.dumps({JSON_MARK: "manifold 0.1.0", "rows": {}}))
    (tmp_path / "list.json").write_text(json.dumps(["manifold"]))
    (tmp_path / "theirs.json").write_text(json.dumps({"rows": {}}))
    (tmp_path / "broken.json").write_text('{"written_by": "manifold"')
    assert made_by_manifold(tmp_path / "ours.json")
    assert not any(made_by_manifold(tmp_path / n) for n in ("list.json", "theirs.json", "broken.json"))

    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("manifold")
    assert not any(made_by_manifold(tmp_path / n) for n in ("garbage.png", "empty", "notes.txt", "missing", "."))


def test_made_by_manifold_never_follows_a_symlink(tmp_path):
    ours = tmp_path / "ours.png"
    with open(ours, "wb") as f:
        write_png(f, tile())
    (tmp_path / "link.png").symlink_to(ours)
    assert made_by_manifold(ours) and not made_by_manifold(tmp_path / "link.png")


def test_made_by_manifold_reads_only_the_header_of_a_huge_png(tmp_path):
    """Pillow's decompression-bomb guard (in Image.open) must not make a large sheet of ours foreign."""
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        write_png(f, np.zeros((1, 1, 4), np.uint8))
    data = bytearray(big.read_bytes())
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 6, 0, 0, 0)  # 400 Mpx declared: over Pillow's limit
    data[8:33] = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    big.write_bytes(bytes(data))
    assert made_by_manifold(big)


def test_staging_refuses_a_users_file_and_replaces_its_own(tmp_path):
    target = tmp_path / "a.png"
    atomic_write_stream(target, lambda f: write_png(f, tile()))
    atomic_write_stream(target, lambda f: write_png(f, tile() // 2))  # ours: replaced
    assert np.asarray(Image.open(target))[0, 1, 0] == tile()[0, 1, 0] // 2
    Image.fromarray(tile()).save(target)  # re-saved by another program: the mark is gone
    mine = target.read_bytes()
    with pytest.raises(UsageError, match="a.png already exists and manifold did not write it.*-o"):
        with Staging() as stage:
            stage.reserve(target)
    assert target.read_bytes() == mine and entries(tmp_path) == ["a.png"]
    with pytest.raises(UsageError, match="another output with --plot"):
        with Staging() as stage:
            stage.reserve(target, "--plot")
    with pytest.raises(UsageError, match="manifold did not write it"):
        atomic_write_stream(target, lambda f: f.write(b"never"))
    assert target.read_bytes() == mine
    atomic_write(target, lambda p: p.write_bytes(b"run"), replace_unmarked=True)  # a run folder's own file
    assert target.read_bytes() == b"run"


def test_a_symlink_at_the_target_is_still_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    (tmp_path / "a.png").symlink_to(victim)
    atomic_write_stream(tmp_path / "a.png", lambda f: write_png(f, tile()))
    assert victim.read_bytes() == b"precious" and made_by_manifold(tmp_path / "a.png")


def test_refuse_foreign_names_the_first_and_counts_the_rest_before_anything_is_made(tmp_path):
    targets = [tmp_path / "out" / f"t{i}.png" for i in range(4)]
    (tmp_path / "out").mkdir()
    for path in targets[1:3]:
        path.write_bytes(b"mine")
    with Staging(root=tmp_path / "out") as stage:
        with pytest.raises(UsageError, match=r"t1.png already exists .* \(and 1 more output of this run\)"):
            stage.refuse_foreign(targets)
        assert not stage.pending
    assert entries(tmp_path / "out") == ["t1.png", "t2.png"]
    with Staging(root=tmp_path / "out", replace_unmarked=True) as stage:
        stage.refuse_foreign(targets)  # opted out: a run folder's rules decide

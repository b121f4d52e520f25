"""scripts/gpu_wheel.py: pieces that fit a call, joined and checked; the wheel bundle and its RECORD check."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# The scripts run as files (python scripts/gpu_wheel.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import gpu_wheel
from gpu_script_helpers import NEW_ENOUGH_PYTHON, make_wheel, prepared

pytestmark = NEW_ENOUGH_PYTHON


# ---------------------------------------------------------------- sizes
@pytest.mark.parametrize("total,max_piece", [(100, 30), (90, 30), (1, 5), (0, 5), (255_569_273, 44 << 20)])
def test_piece_sizes_are_the_fewest_and_near_equal(total, max_piece):
    sizes = gpu_wheel.piece_sizes(total, max_piece)
    assert sum(sizes) == total
    assert max(sizes) <= max_piece
    assert len(sizes) == max(1, -(-total // max_piece))
    assert max(sizes) - min(sizes) <= 1


def test_piece_sizes_refuse_an_empty_piece():
    with pytest.raises(ValueError):
        gpu_wheel.piece_sizes(10, 0)


def test_tree_bytes_counts_what_a_call_sends(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    (repo / ".gitignore").write_text("/.whl/\n")
    (repo / "tracked.txt").write_bytes(b"x" * 1000)
    (repo / ".whl").mkdir()
    (repo / ".whl" / "piece-01").write_bytes(b"y" * 5000)  # ignored: travels only when carried
    assert gpu_wheel.tree_bytes(repo) == 1000 + len("/.whl/\n")
    (repo / ".gitignore").write_text("/.whl/\n/shared/\n")
    (repo / "shared").mkdir()
    (repo / "shared" / "big.bin").write_bytes(b"z" * 3000)  # ignored, and still sent: shared/ always travels
    assert gpu_wheel.tree_bytes(repo) == 1000 + len("/.whl/\n/shared/\n") + 3000


# ---------------------------------------------------------------- split and join
def test_split_then_join_gives_the_same_bytes(tmp_path):
    original = tmp_path / "bundle.bin"
    original.write_bytes(os.urandom(100_003))
    pieces = gpu_wheel.split_file(original, tmp_path / "pieces", 30_000)
    assert [p["name"] for p in pieces] == ["piece-01", "piece-02", "piece-03", "piece-04"]
    assert all((tmp_path / "pieces" / p["name"]).stat().st_size == p["bytes"] <= 30_000 for p in pieces)
    joined = tmp_path / "joined.bin"
    gpu_wheel.join_pieces(pieces, tmp_path / "pieces", joined, gpu_wheel.sha256_file(original))
    assert joined.read_bytes() == original.read_bytes()


def split_small(tmp_path):
    original = tmp_path / "bundle.bin"
    original.write_bytes(os.urandom(10_000))
    return original, gpu_wheel.split_file(original, tmp_path / "pieces", 4_000)


def test_join_names_a_damaged_piece_and_writes_nothing(tmp_path):
    original, pieces = split_small(tmp_path)
    damaged = tmp_path / "pieces" / "piece-02"
    data = bytearray(damaged.read_bytes())
    data[100] ^= 1
    damaged.write_bytes(bytes(data))
    out = tmp_path / "joined.bin"
    with pytest.raises(gpu_wheel.PieceError, match="piece-02.*damaged"):
        gpu_wheel.join_pieces(pieces, tmp_path / "pieces", out, gpu_wheel.sha256_file(original))
    assert not out.exists() and not out.with_name("joined.bin.part").exists()


def test_join_names_a_missing_piece(tmp_path):
    original, pieces = split_small(tmp_path)
    (tmp_path / "pieces" / "piece-03").unlink()
    with pytest.raises(gpu_wheel.PieceError, match="piece-03: missing"):
        gpu_wheel.join_pieces(pieces, tmp_path / "pieces", tmp_path / "j", gpu_wheel.sha256_file(original))


def test_join_checks_the_whole_against_the_manifest(tmp_path):
    """Pieces each intact but listed in the wrong order: only the whole's hash can tell."""
    original, pieces = split_small(tmp_path)
    out = tmp_path / "joined.bin"
    with pytest.raises(gpu_wheel.PieceError, match="joined pieces hash"):
        gpu_wheel.join_pieces(pieces[::-1], tmp_path / "pieces", out, gpu_wheel.sha256_file(original))
    assert not out.exists() and not out.with_name("joined.bin.part").exists()


# ---------------------------------------------------------------- the bundle
def test_repack_then_unpack_keeps_every_file_and_the_exec_bit(tmp_path):
    wheels = [make_wheel(tmp_path, "alpha", executable=("alpha/lib.so",)), make_wheel(tmp_path, "beta")]
    bundle = tmp_path / "bundle.tar.xz"
    gpu_wheel.repack_wheels(wheels, bundle, preset=1)
    target = tmp_path / "site"
    checked = gpu_wheel.unpack_bundle(bundle, target)
    assert checked == 6  # three files per wheel; RECORD itself has no hash
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                assert (target / name).read_bytes() == zf.read(name)
    assert (target / "alpha/lib.so").stat().st_mode & stat.S_IXUSR
    assert not (target / "beta/lib.so").stat().st_mode & stat.S_IXUSR


def test_repack_is_reproducible(tmp_path):
    wheel = make_wheel(tmp_path)
    gpu_wheel.repack_wheels([wheel], tmp_path / "a.tar.xz", preset=1)
    gpu_wheel.repack_wheels([wheel], tmp_path / "b.tar.xz", preset=1)
    assert (tmp_path / "a.tar.xz").read_bytes() == (tmp_path / "b.tar.xz").read_bytes()


def test_unpack_refuses_a_file_that_differs_from_its_record(tmp_path):
    wheel = make_wheel(tmp_path, wrong_hash="demo/lib.so")
    bundle = tmp_path / "bundle.tar.xz"
    gpu_wheel.repack_wheels([wheel], bundle, preset=1)
    with pytest.raises(gpu_wheel.PieceError, match="demo/lib.so: its bytes differ"):
        gpu_wheel.unpack_bundle(bundle, tmp_path / "site")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar.xz", wheel.name]  # nothing half-unpacked


def test_unpack_refuses_a_file_no_record_lists(tmp_path):
    wheel = make_wheel(tmp_path, unlisted="demo/extra.py")
    bundle = tmp_path / "bundle.tar.xz"
    gpu_wheel.repack_wheels([wheel], bundle, preset=1)
    with pytest.raises(gpu_wheel.PieceError, match="demo/extra.py: unpacked but in no RECORD"):
        gpu_wheel.unpack_bundle(bundle, tmp_path / "site")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar.xz", wheel.name]  # nothing half-unpacked


# ---------------------------------------------------------------- the calls: receive, then install
def carry(source: Path, call_dir: Path, piece: str) -> Path:
    """One call's checkout on the machine: the manifest and one piece."""
    call_dir.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", piece):
        (call_dir / name).write_bytes((source / name).read_bytes())
    return call_dir


def test_pieces_arrive_call_by_call_then_install(tmp_path):
    source = prepared(tmp_path)
    names = [p["name"] for p in json.loads((source / "manifest.json").read_text())["pieces"]]
    assert len(names) >= 3
    stash = tmp_path / "stash"
    for i, name in enumerate(names, 1):
        call = carry(source, tmp_path / f"call-{i}", name)  # each call carries a fresh checkout
        held, missing = gpu_wheel.receive(call, stash)
        assert held == names[:i] and missing == names[i:]
    message = gpu_wheel.install(stash, stash / "site")
    assert "6 files match their RECORD" in message
    assert (stash / "site" / "alpha" / "__init__.py").read_bytes() == b"VALUE = 42\n"
    assert not (stash / "bundle.tar.xz").exists()  # the joined copy is removed; the pieces stay for a rerun
    assert "already holds" in gpu_wheel.install(stash, stash / "site")


def test_receive_refuses_a_damaged_piece_and_keeps_nothing_of_it(tmp_path):
    source = prepared(tmp_path)
    call = carry(source, tmp_path / "call", "piece-01")
    (call / "piece-01").write_bytes(b"not the piece")
    with pytest.raises(gpu_wheel.PieceError, match="piece-01"):
        gpu_wheel.receive(call, tmp_path / "stash")
    assert not (tmp_path / "stash" / "piece-01").exists()


def test_a_new_bundle_drops_the_pieces_of_the_old(tmp_path):
    old = prepared(tmp_path / "old")
    stash = tmp_path / "stash"
    gpu_wheel.receive(carry(old, tmp_path / "c1", "piece-01"), stash)
    new = prepared(tmp_path / "new")  # other random bytes: another bundle hash
    held, missing = gpu_wheel.receive(carry(new, tmp_path / "c2", "piece-02"), stash)
    assert held == ["piece-02"] and "piece-01" in missing


def test_install_leaves_a_folder_it_did_not_make(tmp_path):
    source = prepared(tmp_path)
    stash = tmp_path / "stash"
    for name in [p["name"] for p in json.loads((source / "manifest.json").read_text())["pieces"]]:
        gpu_wheel.receive(carry(source, tmp_path / name, name), stash)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("a user's file")
    with pytest.raises(gpu_wheel.PieceError, match="not made by this script"):
        gpu_wheel.install(stash, mine)
    assert (mine / "keep.txt").read_text() == "a user's file"


def test_main_receive_says_what_is_missing_by_exit_status(tmp_path, capsys):
    source = prepared(tmp_path)
    names = [p["name"] for p in json.loads((source / "manifest.json").read_text())["pieces"]]
    stash = tmp_path / "stash"
    assert gpu_wheel.main(["receive", "--source", str(carry(source, tmp_path / "c1", names[0])),
                           "--stash", str(stash)]) == 3
    assert f"still to send: {', '.join(names[1:])}" in capsys.readouterr().out
    for i, name in enumerate(names[1:], 2):
        status = gpu_wheel.main(["receive", "--source", str(carry(source, tmp_path / f"c{i}", name)),
                                 "--stash", str(stash)])
    assert status == 0
    assert gpu_wheel.main(["receive", "--source", str(tmp_path / "nothing"), "--stash", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_plan_adds_tree_manifest_and_piece(tmp_path):
    source = prepared(tmp_path)
    manifest = json.loads((source / "manifest.json").read_text())
    calls = gpu_wheel.plan(manifest, tree=1_000_000, source=source)
    assert [c["call"] for c in calls] == list(range(1, len(manifest["pieces"]) + 1))
    for call, piece in zip(calls, manifest["pieces"]):
        assert call["carry"][1].endswith(piece["name"]) and call["carry"][0].endswith("manifest.json")
        assert call["bytes"] - 1_000_000 - piece["bytes"] == len(json.dumps(manifest, indent=2)) + 1


def test_pinned_reads_the_constraints_file(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\nonnxruntime==1.2.3\nonnxruntime-gpu==4.5.6  # the GPU build\n")
    assert gpu_wheel.pinned("onnxruntime-gpu", constraints) == "onnxruntime-gpu==4.5.6"
    assert gpu_wheel.pinned("onnxruntime", constraints) == "onnxruntime==1.2.3"
    with pytest.raises(SystemExit, match="pins no version of defusedxml"):
        gpu_wheel.pinned("defusedxml", constraints)

"""Helpers of the tests of scripts/gpu_*: small real wheels, what `gpu_wheel.py prepare` makes of
them, and the Python these scripts need."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

# The scripts run as files (python scripts/gpu_wheel.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import gpu_wheel

# The GPU scripts use tomllib and tarfile's extraction filters: Python 3.11 or later, as this
# workplace and its GPU machine (3.12) have; the project itself runs on 3.10.
NEW_ENOUGH_PYTHON = pytest.mark.skipif(sys.version_info < (3, 11),
                                       reason="scripts/gpu_*.py need Python 3.11 or later (tomllib, tarfile filters)")


def make_wheel(folder: Path, name: str = "demo", files: dict[str, bytes] | None = None,
               executable: tuple[str, ...] = (), wrong_hash: str | None = None, unlisted: str | None = None) -> Path:
    """A small real wheel: its files, and a RECORD with their sha256 (one made wrong on request)."""
    files = files or {f"{name}/__init__.py": b"VALUE = 42\n", f"{name}/lib.so": os.urandom(50_000),
                      f"{name}/data/table.txt": b"a\tb\n" * 1000}
    dist = f"{name}-1.0.dist-info"
    rows = []
    for path, data in files.items():
        digest = hashlib.sha256(b"tampered" if path == wrong_hash else data).digest()
        rows.append(f"{path},sha256={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()},{len(data)}")
    rows.append(f"{dist}/RECORD,,")
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o755 if path in executable else 0o644) << 16
            zf.writestr(info, data)
        zf.writestr(f"{dist}/RECORD", "\n".join(rows) + "\n")
        if unlisted:
            zf.writestr(unlisted, b"not in RECORD")
    return wheel


def prepared(tmp_path: Path, max_piece: int = 20_000) -> Path:
    """What `prepare` leaves in .whl/gpu/: the pieces of a bundle of two wheels, and the manifest."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    wheels = [make_wheel(tmp_path, "alpha"), make_wheel(tmp_path, "beta")]
    source = tmp_path / "source"
    source.mkdir()
    bundle = tmp_path / "bundle.tar.xz"
    gpu_wheel.repack_wheels(wheels, bundle, preset=1)
    manifest = {"wheels": [{"name": w.name} for w in wheels],
                "bundle": {"name": "bundle.tar.xz", "bytes": bundle.stat().st_size,
                           "sha256": gpu_wheel.sha256_file(bundle), "xz_preset": 1},
                "pieces": gpu_wheel.split_file(bundle, source, max_piece)}
    gpu_wheel.write_manifest(source, manifest)
    return source

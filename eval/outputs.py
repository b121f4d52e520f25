"""Where `manifold eval` and `manifold blind` write (contact sheets, blind sheets, their key):
through the one safe writer (manifold_core.files), and never onto a file they read.

Data flow: inputs (the files read) -> ... -> report, sheets -> **outputs** -> files on disk.

    with Outputs(inputs.files) as out:
        out.claim(path)                      # before the long work: refused or reserved now
        ...
        out.image(path, picture); out.text(key, json_text)
        out.commit()                         # every file renamed into place, or none

A target that is one of the files read (or a link to one) is a UsageError (status 2); a place
that cannot be written (under a file, a folder in the way, a read-only or pseudo file system
such as /proc) is an OutputError (status 4), found when it is claimed. Each file is written to
a new temporary beside its target (O_EXCL | O_NOFOLLOW) and renamed onto it, so a symlink
planted at the target's name is replaced, never written through; leaving the block without
commit() (an error, Ctrl-C) removes every temporary.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from manifold_core.errors import OutputError, UsageError, shown
from manifold_core.files import Staging, png_info


class Outputs:
    def __init__(self, inputs: set[Path]):
        self.inputs = {Path(p).resolve() for p in inputs}
        self.stage = Staging(durable=False)  # regenerable pictures: no fsync
        self.claimed: set[Path] = set()

    def claim(self, target: str | Path, option: str = "output") -> Path:
        """Refuse a target that is an input or a folder, and reserve its temporary now."""
        target = Path(target)
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError):  # a symlink loop: the writer replaces the link itself
            resolved = target.absolute()
        if resolved in self.inputs:
            raise UsageError(f"{option} {shown(target)} is one of the input files; inputs are never overwritten, "
                             f"choose another name")
        if target.is_dir() and not target.is_symlink():
            raise OutputError(f"{option} {shown(target)} is a folder; give a file name")
        if resolved in self.claimed:
            raise UsageError(f"{option} {shown(target)} is named twice; give each output its own name")
        self.claimed.add(resolved)
        self.stage.reserve(target, option)
        return target

    def image(self, target: str | Path, picture: Image.Image) -> None:
        self.stage.write(Path(target), lambda tmp: picture.save(tmp, format="PNG", pnginfo=png_info()))

    def text(self, target: str | Path, content: str) -> None:
        self.stage.write(Path(target), lambda tmp: Path(tmp).write_text(content, encoding="utf-8"))

    def commit(self) -> None:
        self.stage.commit()

    def __enter__(self) -> "Outputs":
        return self

    def __exit__(self, *exc) -> bool:
        self.stage.discard()
        return False

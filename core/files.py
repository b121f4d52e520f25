"""Writing outputs without ever losing a file: every output of every command goes through here.

Data flow: the last step of every stage that writes (trainer checkpoints, export, upscale, Tiled).

    atomic_write(path, lambda tmp: image.save(tmp))      # one file: all of it or none of it
    with Staging() as stage:                              # several files, renamed together at the end
        stage.write(a, write_a); stage.write(b, write_b)
        stage.commit()
    with temporary_folder(target) as tmp:                 # a folder (a model, a checkpoint)
        ...write files into tmp...
        replace_folder(tmp, target)                       # refuses to replace anything not ours

The rules, for every caller:
- A temporary is a new name in the target's own folder (so the rename is atomic), created with
  O_EXCL and O_NOFOLLOW under a random name: an existing path, a planted symlink included, is
  never opened or followed. Names start with TEMP_PREFIX and carry the writer's process id:
  `.manifold-tmp-<pid>-<random><suffix>`.
- A temporary is removed on every way out (an exception, Ctrl-C, SIGTERM turned into an
  exception); only SIGKILL or a power cut can leave one, and then `clean_stale` removes it on the
  next run over that folder (only names of our pattern whose process is gone: never another
  file, never a temporary of a run still going). Readers (`find_images`) never pick them up.
- `durable=True` fsyncs the file before the rename and the folder after it, so a power cut
  leaves the old file or the new one, never an empty one. Worth it for models and checkpoints;
  a folder of regenerable tiles writes with durable=False.
- Any OSError while writing becomes one OutputError line naming the path and what to do (a
  full disk, a read-only file system, no permission, a file where a folder should be).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import OutputError, shown

TEMP_PREFIX = ".manifold-tmp-"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


# ---------------------------------------------------------------- names and errors
def is_temporary(path: str | Path) -> bool:
    """A temporary of ours (by its name); readers skip them."""
    return Path(path).name.startswith(TEMP_PREFIX)


def _temp_name(suffix: str = "") -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}{suffix}"


def _owner(name: str) -> int | None:
    """The process id in a temporary's name, or None for a name that is not ours."""
    if not name.startswith(TEMP_PREFIX):
        return None
    pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: leave its files alone
    return True


_REASONS = {
    errno.ENOSPC: "the disk is full; free some space or write somewhere else",
    errno.EROFS: "the file system is read-only; choose another output location",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "not permitted; choose a folder you can write to",
    errno.ENOTDIR: "a part of this path is a file, not a folder; choose another output location",
    errno.EISDIR: "a folder is in the way; choose another output location",
    errno.ENAMETOOLONG: "the name is too long for this file system; choose a shorter output path",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "the disk quota is used up; free some space or write somewhere else"
_WRITE_ONLY_ERRORS = {errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}


def output_error(exc: OSError, path: str | Path) -> OutputError:
    """An OSError met while writing `path`, as one line saying what to do."""
    reason = _REASONS.get(exc.errno) or f"{exc.strerror or exc.__class__.__name__}; choose another output location"
    return OutputError(f"{shown(path)}: cannot write: {reason}")


# ---------------------------------------------------------------- folders
def make_folder(folder: str | Path) -> list[Path]:
    """Create `folder` and its missing parents; returns those it created, outermost first.

    A folder that another run creates at the same moment is fine; a file in the way is an OutputError.
    """
    folder = Path(folder)
    missing = []
    probe = folder
    try:
        while not probe.is_dir():
            if os.path.lexists(probe):
                raise OutputError(f"{shown(probe)} is in the way: it is a file, not a folder; "
                                  f"choose another output location")
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
    except OSError as exc:
        raise output_error(exc, probe) from None
    made = []
    for path in reversed(missing):
        try:
            path.mkdir()
            made.append(path)
        except FileExistsError:
            if not path.is_dir():
                raise OutputError(f"{shown(path)} is in the way: it is a file, not a folder; "
                                  f"choose another output location") from None
        except OSError as exc:
            remove_folders(made)
            raise output_error(exc, path) from None
    return made


def remove_folders(made: list[Path]) -> None:
    """Remove folders `make_folder` created, innermost first, where they are still empty."""
    for path in reversed(made):
        try:
            path.rmdir()
        except OSError:
            pass


def new_temporary(folder: str | Path, suffix: str = "", directory: bool = False) -> Path:
    """A new empty file (or folder) with a random TEMP_PREFIX name in `folder`; never an existing path."""
    folder = Path(folder)
    for _ in range(100):
        path = folder / _temp_name(suffix)
        try:
            if directory:
                path.mkdir(0o777)  # the umask applies, as for any folder the user makes
            else:
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, 0o666))
            return path
        except FileExistsError:
            continue
    raise OutputError(f"{shown(folder)}: cannot make a temporary name there; remove the {TEMP_PREFIX}* files")


def clean_stale(folder: str | Path) -> int:
    """Remove temporaries of earlier runs that were killed (their process is gone); returns how many.

    Only names of our pattern are touched, never a symlink (it is unlinked, not followed, only
    when ours by name), never a temporary of a run still going.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        pid = _owner(entry.name)
        if pid is None or _running(pid):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            pass  # another run cleaned it first, or we may not: harmless, readers skip it
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return  # folders cannot be opened for fsync there; NTFS journals the rename
    try:
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder
    finally:
        os.close(fd)


# ---------------------------------------------------------------- files
class Staging:
    """Files written under temporary names beside their targets and renamed into place by commit().

    Leaving the `with` block without commit() (an error, Ctrl-C) removes every temporary and every
    folder it created that is still empty; the targets are untouched. `reserve` creates the
    temporary at once, so an unwritable location fails before any long work.
    """

    def __init__(self, durable: bool = True):
        self.durable = durable
        self.pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self.unwritten: dict[Path, Path] = {}  # target -> temporary reserved but not yet written
        self.made: list[Path] = []
        self.cleaned: set[Path] = set()

    def reserve(self, target: str | Path) -> Path:
        """A new temporary file beside `target` (its folder made if missing) to be renamed onto it;
        the next `write(target, ...)` fills this one."""
        target = Path(target)
        folder = target.parent
        self.made += make_folder(folder)
        if folder not in self.cleaned:
            clean_stale(folder)
            self.cleaned.add(folder)
        try:
            tmp = new_temporary(folder, target.suffix)
        except OSError as exc:
            raise output_error(exc, target) from None
        self.pending.append((tmp, target))
        self.unwritten[target] = tmp
        return tmp

    def write(self, target: str | Path, write: Callable[[Path], object]) -> Path:
        """write(tmp) fills a temporary for `target` (the one reserved for it, else a new one)."""
        target = Path(target)
        tmp = self.unwritten.pop(target, None) or self.reserve(target)
        self.unwritten.pop(target, None)
        try:
            write(tmp)
        except OSError as exc:
            raise output_error(exc, target) from None
        return tmp

    def commit(self) -> None:
        """Rename every temporary onto its target (fsynced first when durable)."""
        try:
            if self.durable:
                for tmp, _ in self.pending:
                    _fsync_file(tmp)
            while self.pending:
                tmp, target = self.pending[0]
                try:
                    os.replace(tmp, target)
                except OSError as exc:
                    raise output_error(exc, target) from None
                self.pending.pop(0)
                if self.durable:
                    _fsync_folder(target.parent)
        except OSError as exc:
            raise output_error(exc, self.pending[0][1] if self.pending else "output") from None
        self.made, self.unwritten = [], {}

    def discard(self) -> None:
        for tmp, _ in self.pending:
            try:
                tmp.unlink()
            except OSError:
                pass
        self.pending, self.unwritten = [], {}
        remove_folders(self.made)
        self.made = []

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> bool:
        self.discard()
        return False


def atomic_write(path: str | Path, write: Callable[[Path], object], durable: bool = True) -> None:
    """write(tmp) writes the whole file to a new temporary beside `path`, which is then renamed onto
    `path`: a reader sees the old file or the new one, never part of one. On any error (an
    OutputError for OSErrors) `path` is untouched and no temporary is left."""
    with Staging(durable) as stage:
        stage.write(path, write)
        stage.commit()


# ---------------------------------------------------------------- folders as a unit
@contextmanager
def temporary_folder(target: str | Path) -> Iterator[Path]:
    """A new empty folder beside `target` (random TEMP_PREFIX name) to fill and then hand to
    `replace_folder`; if the block ends any other way, it is removed with everything in it.

    A full disk or read-only file system met in the block becomes an OutputError; other OSErrors
    (reading an input, say) pass through for the caller to word."""
    target = Path(target)
    made = make_folder(target.parent)
    clean_stale(target.parent)
    try:
        tmp = new_temporary(target.parent, directory=True)
    except OSError as exc:
        remove_folders(made)
        raise output_error(exc, target) from None
    try:
        yield tmp
    except OSError as exc:
        if exc.errno in _WRITE_ONLY_ERRORS:  # a full disk while filling it; other OSErrors are the caller's
            raise output_error(exc, target) from None
        raise
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        remove_folders(made)


def replace_folder(tmp_dir: str | Path, target: str | Path, marker: str = "model.json") -> None:
    """Put the finished folder `tmp_dir` (from temporary_folder) at `target`, never losing a file.

    `target` may be absent, an empty folder, or a folder of the same kind (it holds `marker`, e.g.
    a model folder's model.json) whose every entry the new folder replaces by name; it is then
    swapped out and deleted. Anything else (a file, a symlink, a folder with other files) is an
    OutputError and `target` is left as it was.
    """
    tmp_dir, target = Path(tmp_dir), Path(target)
    if target.is_symlink():
        raise OutputError(f"{shown(target)} is a symbolic link; give the folder it points to, or a new folder")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{shown(target)} is a file; give a new folder (or a folder from an earlier export)")
    try:
        old = sorted(os.listdir(target)) if target.is_dir() else None
        if not old:  # absent or empty: one rename (onto an empty folder is atomic on POSIX)
            if old is not None and sys.platform == "win32":
                target.rmdir()
            try:
                os.rename(tmp_dir, target)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise OutputError(f"{shown(target)}: another process wrote into it meanwhile; nothing "
                                      f"was replaced, run again") from None
                raise
            _fsync_folder(target.parent)
            return
        if marker not in old or not (target / marker).is_file():
            listed = ", ".join(shown(n) for n in old[:3]) + (", ..." if len(old) > 3 else "")
            raise OutputError(f"{shown(target)} is a folder with other files in it ({listed}) and no {marker}; "
                              f"nothing there is replaced: choose a new or empty folder")
        extra = [n for n in old if not os.path.lexists(tmp_dir / n)]
        if extra:
            listed = ", ".join(shown(n) for n in extra[:3]) + (", ..." if len(extra) > 3 else "")
            raise OutputError(f"{shown(target)} also holds {listed}, which the new {marker} folder does not "
                              f"replace; move them away or choose another folder (nothing was replaced)")
        aside = new_temporary(target.parent, directory=True)
        if sys.platform == "win32":
            aside.rmdir()  # Windows renames only onto a free name
        os.rename(target, aside)  # onto the empty folder just made: atomic, and a name no one else uses
        try:
            os.rename(tmp_dir, target)
        except OSError:
            os.rename(aside, target)  # put the old one back
            raise
        _fsync_folder(target.parent)
        shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        raise output_error(exc, target) from None

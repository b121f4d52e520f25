"""Writing outputs without ever losing a file: every output of every command goes through here.

Data flow: the last step of every stage that writes (trainer checkpoints, export, upscale, Tiled).

    atomic_write_stream(path, lambda f: image.save(f, format="PNG"))   # one file: all of it or none of it
    with inputs_protected(read_paths):                    # a command's inputs are never an output
        with Staging(root=out) as stage:                  # several files, renamed together at the end
            stage.write_stream(a, write_a); stage.write_stream(b, write_b)
            stage.commit()                                # Ctrl-C/SIGTERM wait until the last rename
    with temporary_folder(target) as tmp:                 # a folder (a model, a checkpoint)
        ...write files into tmp...
        replace_folder(tmp, target)                       # refuses to replace anything not ours

The rules, for every caller:
- Below `root` (the output folder the user named, or its default) every folder is made by us or
  opened one component at a time with O_NOFOLLOW: a symlinked folder planted there, at any
  depth, is an OutputError, and nothing is written through it. `write_stream` hands the writer
  the very file we created; `write` (by name) is for libraries that only take a file name.
- A target that is one of the running command's inputs (`inputs_protected`) is a UsageError.
- An existing file is replaced only when manifold wrote it (`made_by_manifold`: the mark every
  output carries, see `png_info`, `xml_declaration`, `JSON_MARK`); a user's own file (or a FIFO,
  socket, device or folder) at an output's name is a UsageError before any work (`Staging.reserve`; `Staging.refuse_foreign`
  for a run of many files, refused as a whole). A symlink planted there is replaced, never
  followed. Writers into a run or model folder, whose own folder-level rules decide what is
  theirs (train's run folder, replace_folder), pass `replace_unmarked=True`.
- `commit` renames with Ctrl-C, SIGTERM and SIGHUP held back (`signals_deferred`): all of the
  files or none; only SIGKILL or a power cut can stop it half-way.
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
import functools
import json
import os
import re
import secrets
import shutil
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import OutputError, UsageError, shown

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


# ---------------------------------------------------------------- what manifold wrote
JSON_MARK = "written_by"  # the top-level field of a JSON object manifold wrote
_XML_MARK = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]{0,200}\?>\s*<!-- written by manifold\b")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JSON_LIMIT = 16 << 20  # a JSON output of ours is a few kB; a larger file is not read to decide


@functools.lru_cache(maxsize=1)
def software() -> str:
    """What every output says wrote it: `manifold <version>` (just `manifold` from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"manifold {version('manifold-tiles')}"
    except PackageNotFoundError:
        return "manifold"


def png_info():
    """The PNG text chunks of every PNG manifold writes (PIL's `pnginfo=`): Software = manifold."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", software())
    return info


def xml_declaration() -> bytes:
    """The first bytes of every Tiled file manifold writes: the declaration and the comment that
    marks it as ours. Tiled drops comments when it saves a file, and then the file is the user's."""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b"<!-- written by " + software().encode() + b"; saved again in Tiled it is yours, and manifold "
            b"will not replace it -->\n")


def made_by_manifold(path: str | Path, dir_fd: int | None = None) -> bool:
    """Whether `path` is a regular file that carries manifold's mark: a PNG whose Software text
    chunk (before the image data: only the header is read) starts with "manifold", a Tiled XML file
    that opens with the `written by manifold` comment, or a JSON object whose JSON_MARK field does.
    A symlink is never followed (False); anything unreadable, or of another kind, is False."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY | getattr(os, "O_NONBLOCK", 0),
                     dir_fd=dir_fd)
    except (OSError, ValueError):
        return False
    try:
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return False
            head = f.read(512)
            f.seek(0)
            if head.startswith(_PNG_SIGNATURE):
                return _png_marked(f)
            if _XML_MARK.match(head):
                return True
            if head.lstrip().startswith(b"{"):
                return _json_marked(f)
            return False
    except (OSError, ValueError):
        return False


def _png_marked(f) -> bool:
    from PIL import PngImagePlugin

    try:  # the plugin itself reads the chunks up to the image data; Image.open would also refuse a huge size
        with PngImagePlugin.PngImageFile(f) as image:
            return str(image.info.get("Software", "")).startswith("manifold")
    except Exception:  # noqa: BLE001 - a PNG PIL cannot read is not one manifold wrote
        return False


def _json_marked(f) -> bool:
    text = f.read(_JSON_LIMIT + 1)
    if len(text) > _JSON_LIMIT:
        return False
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and str(data.get(JSON_MARK, "")).startswith("manifold")


def _foreign(target: Path, dir_fd: int | None = None) -> bool:
    """Something at `target` (not followed) that manifold did not write: a user's own file, or a
    FIFO, socket, device or folder (a rename would replace it). A symlink is not: it is replaced."""
    try:
        st = os.stat(target.name if dir_fd is not None else target, dir_fd=dir_fd, follow_symlinks=False)
    except (OSError, ValueError):
        return False
    if stat.S_ISLNK(st.st_mode):
        return False
    return not (stat.S_ISREG(st.st_mode) and made_by_manifold(target.name if dir_fd is not None else target, dir_fd))


def _foreign_error(first: Path, count: int = 1, option: str = "-o") -> UsageError:
    more = f" (and {count - 1} more output{'s' if count > 2 else ''} of this run)" if count > 1 else ""
    return UsageError(f"{shown(first)} already exists and manifold did not write it{more}; move it away, "
                      f"or choose another output with {option}")



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


def clean_stale(folder: str | Path | int, shown_as: str | Path | None = None) -> int:
    """Remove temporaries of earlier runs that were killed (their process is gone); returns how many.

    Only names of our pattern are touched, never a symlink (it is unlinked, not followed, only
    when ours by name), never a temporary of a run still going. `folder` may be an open folder's
    descriptor (Staging's, reached without following links).
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    fd = folder if isinstance(folder, int) else None
    for entry in entries:
        pid = _owner(entry.name)
        if pid is None or _running(pid):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if fd is None:
                    shutil.rmtree(entry.path)
                else:
                    shutil.rmtree(entry.name, dir_fd=fd)
            else:
                os.unlink(entry.name if fd is not None else entry.path, dir_fd=fd)
            removed += 1
        except OSError:
            pass  # another run cleaned it first, or we may not: harmless, readers skip it
    return removed


def _fsync_file(path: Path, dir_fd: int | None = None) -> None:
    fd = os.open(path.name if dir_fd is not None else path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY,
                 dir_fd=dir_fd)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path, fd: int | None = None) -> None:
    if sys.platform == "win32":
        return  # folders cannot be opened for fsync there; NTFS journals the rename
    if fd is not None:
        try:
            os.fsync(fd)
        except OSError:
            pass
        return
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


# ---------------------------------------------------------------- inputs are never outputs
_PROTECTED: list[tuple[Path, tuple[int, int] | None]] = []  # (resolved path, (device, inode)) of every input


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


@contextmanager
def inputs_protected(paths) -> Iterator[None]:
    """While the block runs, every write through this module refuses to touch these inputs: a
    target that is one of them (by name, through a symlink, or a hard link to it) or lies inside
    one that is a folder is a UsageError, as `-o` naming the input itself is. A command wraps its
    work in one, naming every file and folder it reads (and every file a Tiled file references)."""
    added = []
    for path in paths:
        try:
            entry = (Path(path).resolve(), _identity(Path(path)))
        except (OSError, RuntimeError, ValueError):  # a loop or a name the system cannot take: nothing to protect
            continue
        _PROTECTED.append(entry)
        added.append(entry)
    try:
        yield
    finally:
        for entry in added:
            _PROTECTED.remove(entry)


def refuse_input(target: str | Path) -> None:
    """A UsageError when `target` is an input of the running command (see inputs_protected)."""
    if not _PROTECTED:
        return
    target = Path(target)
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError, ValueError):
        return  # cannot be resolved: it cannot be opened either, and writing it fails on its own
    same = _identity(target)
    for path, identity in _PROTECTED:
        if resolved == path or (same is not None and same == identity) or resolved.is_relative_to(path) \
                and identity is not None and os.path.isdir(path):
            what = "is an input" if resolved == path or same == identity else f"is inside the input folder {shown(path)}"
            raise UsageError(f"{shown(target)} {what}; inputs are never written, choose another output")


# ---------------------------------------------------------------- signals
@contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is over, then act as they would have: the
    renames of a commit are all done or (had the signal come before) none is.

    The Python-level handlers are swapped for ones that only note the signal, because blocking it
    in this thread alone would let the kernel hand it to another (onnxruntime's pool), and Python
    would still raise here. Outside the main thread, where handlers cannot be set, the signals are
    blocked for this thread (the main thread then handles them as usual)."""
    import signal
    import threading

    names = [n for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    numbers = [getattr(signal, n) for n in names]
    if threading.current_thread() is not threading.main_thread():
        if not hasattr(signal, "pthread_sigmask"):
            yield
            return
        old = signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return
    caught: list[int] = []
    previous = {}
    for number in numbers:
        handler = signal.getsignal(number)
        if handler is None or handler is signal.SIG_IGN:  # set outside Python, or ignored: leave it
            continue
        previous[number] = handler
        signal.signal(number, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])  # now the old handler acts: KeyboardInterrupt, or the default end


# ---------------------------------------------------------------- folders, opened without following links
_SUPPORTS_DIR_FD = {os.open, os.rename, os.mkdir, os.unlink, os.stat} <= os.supports_dir_fd and sys.platform != "win32"
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def _symlink_refused(path: Path) -> OutputError:
    return OutputError(f"{shown(path)} is a symbolic link inside the output folder; manifold never writes "
                       f"through one: remove it or choose another output location")


def _lexically_under(path: Path, root: Path) -> Path | None:
    """`path` relative to `root` when it lies under it by its name alone (no `..` leaving it), else None."""
    rel = os.path.relpath(os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(root)))
    parts = Path(rel).parts
    if rel == "." or not parts:
        return Path()
    if parts[0] == ".." or os.path.isabs(rel):
        return None
    return Path(rel)


class _Folder:
    """An output folder held open: its descriptor was reached from the root one component at a
    time with O_NOFOLLOW, so a symlink planted at any depth below the root is refused."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self.fd = path, fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _open_folder(folder: Path, root: Path | None, made: list[Path]) -> _Folder:
    """Open (making what is missing) `folder`, never following a symlink below `root`.

    `root` is the output folder the user named (or its default); it and its parents are taken as
    they are (a link the user made there is theirs). None: the nearest existing ancestor is the root.
    """
    if root is None:
        root = folder
        while not os.path.isdir(root) and root.parent != root and not os.path.lexists(root):
            root = root.parent
    below = _lexically_under(folder, root)
    if below is None:
        raise OutputError(f"{shown(folder)} is outside the output folder {shown(root)}; refused")
    made += make_folder(root)
    if not _SUPPORTS_DIR_FD:
        made += make_folder(folder)
        return _Folder(folder, None)
    try:
        fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise output_error(exc, root) from None
    path = Path(root)
    try:
        for part in below.parts:
            path = path / part
            try:
                os.mkdir(part, 0o777, dir_fd=fd)
                made.append(path)
            except FileExistsError:
                pass
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if os.path.islink(path):
                    raise _symlink_refused(path) from None
                if exc.errno == errno.ENOTDIR:
                    raise OutputError(f"{shown(path)} is in the way: it is a file, not a folder; "
                                      f"choose another output location") from None
                raise output_error(exc, path) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return _Folder(folder, fd)


# ---------------------------------------------------------------- files
class Staging:
    """Files written under temporary names beside their targets and renamed into place by commit().

    Leaving the `with` block without commit() (an error, Ctrl-C) removes every temporary and every
    folder it created that is still empty; the targets are untouched. `reserve` creates the
    temporary at once, so an unwritable location fails before any long work.

    `root`: the output folder; every folder between it and a target is made by us or checked, one
    component at a time, never through a symlink (see _open_folder). Every target is checked
    against the command's inputs (refuse_input), and an existing regular file at a target that
    manifold did not write (made_by_manifold) is a UsageError when it is reserved, before any work;
    `replace_unmarked=True` is for run and model folders only, whose own folder-level rules decide
    that every file there is theirs (train's run folder check; export's replace_folder). commit()
    renames with the signals deferred, so Ctrl-C or SIGTERM cannot stop it half-way (only SIGKILL
    or a power cut can).
    """

    def __init__(self, durable: bool = True, root: str | Path | None = None, replace_unmarked: bool = False):
        self.durable = durable
        self.root = Path(root) if root is not None else None
        self.replace_unmarked = replace_unmarked
        self.pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self.unwritten: dict[Path, Path] = {}  # target -> temporary reserved but not yet written
        self.made: list[Path] = []
        self.folders: dict[Path, _Folder] = {}
        self.inodes: dict[Path, int] = {}  # temporary -> the inode we created there

    def _folder(self, folder: Path) -> _Folder:
        if folder not in self.folders:
            opened = _open_folder(folder, self.root, self.made)
            self.folders[folder] = opened
            clean_stale(opened.fd if opened.fd is not None else folder, folder)
        return self.folders[folder]

    def reserve(self, target: str | Path, option: str = "-o") -> Path:
        """A new temporary file beside `target` (its folder made if missing) to be renamed onto it;
        the next `write(target, ...)` fills this one. A user's own file at `target` is refused
        (`option` is the one the error line suggests to choose another output)."""
        target = Path(target)
        refuse_input(target)
        folder = self._folder(target.parent)
        if not self.replace_unmarked and _foreign(target, folder.fd):
            raise _foreign_error(target, option=option)
        with signals_deferred():  # made and recorded as one step: an interrupt cannot leave it unrecorded
            try:
                tmp, inode = _new_file(folder, target.suffix)
            except OSError as exc:
                raise output_error(exc, target) from None
            self.pending.append((tmp, target))
            self.unwritten[target] = tmp
            self.inodes[tmp] = inode
        return tmp

    def refuse_foreign(self, targets, option: str = "-o") -> None:
        """A UsageError naming the first of `targets` that is a user's own file (and how many there
        are), before any work: a run that writes many files refuses as a whole, not tile by tile.
        Their folders are reached as `reserve` reaches them (a planted folder link is refused)."""
        if self.replace_unmarked:
            return
        foreign = []
        for target in map(Path, targets):
            refuse_input(target)  # an input named as an output is said as such, first
            if os.path.lexists(target) and _foreign(target, self._folder(target.parent).fd):
                foreign.append(target)
        if foreign:
            raise _foreign_error(foreign[0], len(foreign), option)

    def _take(self, target: Path) -> Path:
        tmp = self.unwritten.pop(target, None) or self.reserve(target)
        self.unwritten.pop(target, None)
        return tmp

    def write(self, target: str | Path, write: Callable[[Path], object]) -> Path:
        """write(tmp) fills a temporary for `target` by its name (for libraries that only write to a
        file name); write_stream is the same with an open file, and no name to follow."""
        target = Path(target)
        tmp = self._take(target)
        try:
            write(tmp)
        except OSError as exc:
            raise output_error(exc, target) from None
        return tmp

    def write_stream(self, target: str | Path, write: Callable[[object], object]) -> Path:
        """write(stream) fills the temporary for `target` through a binary file opened on the very
        file `reserve` created (O_NOFOLLOW, by its folder's descriptor)."""
        target = Path(target)
        tmp = self._take(target)
        folder = self.folders[target.parent]
        try:
            if folder.fd is not None:
                fd = os.open(tmp.name, os.O_WRONLY | os.O_TRUNC | _NOFOLLOW | _CLOEXEC | _BINARY, dir_fd=folder.fd)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | _NOFOLLOW | _CLOEXEC | _BINARY)
            if os.fstat(fd).st_ino != self.inodes[tmp]:
                os.close(fd)
                raise OutputError(f"{shown(target)}: its temporary was replaced by another program; nothing "
                                  f"was written through it, run again")
            with os.fdopen(fd, "wb") as stream:
                write(stream)
        except OSError as exc:
            raise output_error(exc, target) from None
        return tmp

    def _renames(self):
        for tmp, target in self.pending:
            folder = self.folders[target.parent]
            yield tmp, target, folder

    def commit(self) -> None:
        """Rename every temporary onto its target (fsynced first when durable), signals deferred."""
        try:
            for tmp, target, folder in self._renames():  # each is still the file we made, not a swapped name
                st = os.stat(tmp.name, dir_fd=folder.fd, follow_symlinks=False) if folder.fd is not None \
                    else os.lstat(tmp)
                if st.st_ino != self.inodes.get(tmp, st.st_ino) or not _is_regular(st.st_mode):
                    raise OutputError(f"{shown(target)}: its temporary was replaced by another program; "
                                      f"nothing was written, run again")
                if self.durable:
                    _fsync_file(tmp, folder.fd)
        except OSError as exc:
            raise output_error(exc, self.pending[0][1] if self.pending else "output") from None
        with signals_deferred():
            try:
                while self.pending:
                    tmp, target = self.pending[0]
                    folder = self.folders[target.parent]
                    try:
                        if folder.fd is not None:
                            os.replace(tmp.name, target.name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
                        else:
                            os.replace(tmp, target)
                    except OSError as exc:
                        raise output_error(exc, target) from None
                    self.pending.pop(0)
                    if self.durable:
                        _fsync_folder(target.parent, folder.fd)
            finally:
                if not self.pending:
                    self.made, self.unwritten, self.inodes = [], {}, {}
                    self._close()

    def _close(self) -> None:
        for folder in self.folders.values():
            folder.close()
        self.folders = {}

    def discard(self) -> None:
        with signals_deferred():  # a second Ctrl-C cannot stop the clean-up half-way
            self._discard()

    def _discard(self) -> None:
        for tmp, target in self.pending:
            folder = self.folders.get(target.parent)
            try:
                if folder is not None and folder.fd is not None:
                    os.unlink(tmp.name, dir_fd=folder.fd)
                else:
                    tmp.unlink()
            except OSError:
                pass
        self.pending, self.unwritten, self.inodes = [], {}, {}
        self._close()
        remove_folders(self.made)
        self.made = []

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> bool:
        self.discard()
        return False


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _new_file(folder: _Folder, suffix: str) -> tuple[Path, int]:
    """A new empty temporary in `folder` (O_EXCL, O_NOFOLLOW, by its descriptor): (path, inode)."""
    for _ in range(100):
        name = _temp_name(suffix)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
        try:
            fd = os.open(name, flags, 0o666, dir_fd=folder.fd) if folder.fd is not None \
                else os.open(folder.path / name, flags, 0o666)
        except FileExistsError:
            continue
        try:
            return folder.path / name, os.fstat(fd).st_ino
        finally:
            os.close(fd)
    raise OutputError(f"{shown(folder.path)}: cannot make a temporary name there; remove the {TEMP_PREFIX}* files")


def atomic_write(path: str | Path, write: Callable[[Path], object], durable: bool = True,
                 root: str | Path | None = None, replace_unmarked: bool = False) -> None:
    """write(tmp) writes the whole file to a new temporary beside `path`, which is then renamed onto
    `path`: a reader sees the old file or the new one, never part of one. On any error (an
    OutputError for OSErrors) `path` is untouched and no temporary is left. An existing file that
    manifold did not write is refused unless `replace_unmarked` (see Staging)."""
    with Staging(durable, root, replace_unmarked) as stage:
        stage.write(path, write)
        stage.commit()


def atomic_write_stream(path: str | Path, write: Callable[[object], object], durable: bool = True,
                        root: str | Path | None = None, replace_unmarked: bool = False) -> None:
    """atomic_write with an open binary file: write(stream) (PIL's save, matplotlib's savefig,
    torch.save and bytes all take one); no name is ever opened by a library, so nothing is followed."""
    with Staging(durable, root, replace_unmarked) as stage:
        stage.write_stream(path, write)
        stage.commit()


# ---------------------------------------------------------------- folders as a unit
@contextmanager
def temporary_folder(target: str | Path) -> Iterator[Path]:
    """A new empty folder beside `target` (random TEMP_PREFIX name) to fill and then hand to
    `replace_folder`; if the block ends any other way, it is removed with everything in it.

    A full disk or read-only file system met in the block becomes an OutputError; other OSErrors
    (reading an input, say) pass through for the caller to word."""
    target = Path(target)
    refuse_input(target)
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

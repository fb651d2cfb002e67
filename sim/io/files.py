"""Atomic file output: a reader never sees a half-written file.

Each writer writes to a temporary file in the target's directory and renames it over the
target (``os.replace`` is atomic on POSIX and Windows within one filesystem). A temporary file is
hidden and names its writer: ``.TARGET.tokensim-PID-RANDOM.tmp``, so one left by a killed process
is recognised and removed (:func:`remove_stale_temps`, run when a command takes its output
directory, ``sim.io.outdir``) and never mistaken for a result. Writes are ``deferred`` sections
(``sim.io.interrupt``): SIGINT or SIGTERM during one removes the temporary file and replaces nothing.
:func:`staged` puts a set of files (a command's tables) in place together.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import interrupt

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TEMP_SUFFIX = ".tmp"
# .TARGET.tokensim-PID-RANDOM.tmp, or .TARGET.RANDOM.tmp (written by earlier versions)
_TEMP = re.compile(r"^\.(?P<target>.+?)\.(?:tokensim-(?P<pid>\d+)-)?(?P<rand>[A-Za-z0-9_]+)\.tmp$")
STREAM_TEMP = ".results.zarr.tmp"  # the store a streamed run appends to (sim.mc.runner), one per directory


class OutputError(OSError):
    """An output location cannot be written."""


class UnreadableInput(ValueError):
    """An input file cannot be read as asked; the message says why (no path: callers locate it)."""


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``UnreadableInput`` saying why not.

    Opened without blocking and checked with fstat before reading, so a FIFO (which would hang),
    a device such as /dev/zero (which never ends) or a directory is refused, not read; a file that
    grows while it is read stops at ``limit`` + 1 bytes. The one way tokensim opens an input file.
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UnreadableInput("file not found") from None
    except IsADirectoryError:
        raise UnreadableInput(f"is a directory, expected a {what}") from None
    except (OSError, ValueError) as exc:  # permission, symlink loop, NUL in the name, name too long
        raise UnreadableInput(f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableInput(f"is a directory, expected a {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
            raise UnreadableInput(f"is {kind}, not a regular file; give a {what}")
        if st.st_size > limit:
            raise UnreadableInput(f"is {st.st_size:,} bytes; a {what} may be at most {limit:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise UnreadableInput(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew while we read it
        raise UnreadableInput(f"is larger than {limit:,} bytes, the most a {what} may be")
    return raw


def ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"output directory {path} is not writable")
    return path


def temp_prefix(path: Path) -> str:
    """The start of a temporary sibling's name for ``path`` (``tempfile`` adds RANDOM + the suffix)."""
    return f".{Path(path).name}.tokensim-{os.getpid()}-"


def temp_dir(path: Path) -> Path:
    """A new empty temporary directory beside ``path`` (for a Zarr store), named like a temporary file."""
    path = Path(path)
    return Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent))


def remove(p: Path) -> None:
    """Remove a file or a directory tree; missing is fine."""
    p = Path(p)
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
    except FileNotFoundError:
        pass


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def stale_temp(name: str, *, owned: bool = False) -> bool:
    """``name`` is a temporary file or store of a tokensim process that no longer runs.

    A name carrying a pid is stale when that process is gone. One without (older tokensim
    versions, and the streamed store ``.results.zarr.tmp``) only where it can only be tokensim's
    and no other tokensim process can be writing it: in a directory tokensim owns (``owned``: the
    ``.chunks`` folder of a run), or a results file's. Callers hold the directory's lock.
    """
    if name == STREAM_TEMP:
        return True
    m = _TEMP.match(name)
    if m is None:
        return False
    if m["pid"] is not None:
        return not _alive(int(m["pid"]))
    return owned or m["target"].startswith("results.")


def remove_stale_temps(directory: Path, *, owned: bool = False) -> list[Path]:
    """Remove the temporary files (and Zarr stores) killed tokensim processes left in ``directory``
    (not recursive); returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for e in entries:
        if e.name.startswith(".") and stale_temp(e.name, owned=owned):
            remove(Path(e.path))
            removed.append(Path(e.path))
    return removed


# the staging area of :func:`staged`: (temporary file, target) pairs, put in place when it ends
_stage: list[list[tuple[str, Path]]] = []


@contextmanager
def staged() -> Iterator[None]:
    """Files written by :func:`atomic_write` inside are put in place together when the block ends,
    with signals deferred, so a set of tables is never half old and half new; if the block fails
    (or is interrupted) every temporary file is removed and nothing is replaced.

    A command's last write: once the files are in place the command is done, and a signal no longer
    interrupts it (``interrupt.committed``)."""
    batch: list[tuple[str, Path]] = []
    _stage.append(batch)
    try:
        with interrupt.deferred():
            try:
                yield
                interrupt.check()
                _replace_all(batch)
                batch.clear()
                interrupt.committed()
            except BaseException:
                for tmp, _ in batch:
                    _unlink(tmp)
                raise
    finally:
        _stage.pop()  # blocks nest: the last one opened is this one


def _replace_all(batch: list[tuple[str, Path]]) -> None:
    """Move every temporary file onto its target, or none: a target that cannot be replaced (a
    directory in the way, a full disk) restores those already moved and raises ``OutputError``."""
    for _, target in batch:
        if target.is_dir():
            raise OutputError(f"cannot write {target}: a directory of that name is in the way")
    backups: list[tuple[Path, Path | None]] = []  # (target, its previous file kept aside, or None)
    failed = None
    try:
        for tmp, target in batch:
            failed = target
            old = None
            if target.exists():
                old = target.with_name(f"{temp_prefix(target)}previous{TEMP_SUFFIX}")
                try:
                    os.link(target, old)  # the previous file, kept until every target is in place
                except FileExistsError:
                    raise
                except OSError:  # a filesystem without hard links: keep a copy instead
                    shutil.copy2(target, old)
            backups.append((target, old))
            os.replace(tmp, target)
    except OSError as exc:
        for done, old in backups:  # undo: every target as it was
            if old is not None:
                os.replace(old, done)
            else:
                _unlink(done)
        raise OutputError(f"cannot write {failed}: {exc.strerror or exc}; no file was replaced") from None
    for _, old in backups:
        if old is not None:
            _unlink(old)


def _unlink(p: str | Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``.

    Signals are deferred meanwhile: SIGINT or SIGTERM removes the temporary file and leaves
    ``path`` as it was. Inside :func:`staged` the move waits for the end of the block.
    """
    path = Path(path)
    ensure_dir(path.parent)
    with interrupt.deferred():
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
        try:
            os.close(fd)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
            write(Path(tmp))
            interrupt.check()  # a signal during the write: discard it, replace nothing
            if _stage:
                _stage[-1].append((tmp, path))
            else:
                os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


# CSV floats rounded to 12 significant digits, then written shortest: float noise (712.5000000000038)
# goes, a cent of a billion stays, and no value turns into scientific notation a spreadsheet misreads
CSV_DIGITS = 12
# money amounts (the columns a table declares money: ``sim.io.workbook``) are rounded to cents instead
MONEY_DECIMALS = 2


def cents(v: Any) -> Any:
    """A money amount rounded to cents (``MONEY_DECIMALS``); anything that is not a finite number as is."""
    import math
    import numbers

    if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v):
        return round(float(v), MONEY_DECIMALS) + 0.0  # + 0.0: no -0.0 from a tiny negative
    return v


def round_floats(frame: pd.DataFrame, money: Any = ()) -> pd.DataFrame:
    """``frame`` as a CSV writes it: the numbers of the ``money`` columns rounded to cents (:func:`cents`),
    every other float column to ``CSV_DIGITS`` significant digits. A copy when anything changes."""
    import pandas as pd

    money = [c for c in money if c in frame.columns]
    cols = [c for c in frame.columns if c not in money and pd.api.types.is_float_dtype(frame[c])]
    if not cols and not money:
        return frame
    out = frame.copy()
    for c in cols:
        out[c] = [float(f"{v:.{CSV_DIGITS}g}") if v == v else v for v in out[c].to_numpy(float)]
    for c in money:
        out[c] = [cents(v) for v in out[c].tolist()]
    return out


def write_csv(path: Path, frame: pd.DataFrame, *, money: Any = (), **kw: Any) -> Path:
    """Write ``frame`` (no index unless asked) with its floats rounded (:func:`round_floats`): the
    ``money`` columns at cents."""
    rounded = round_floats(frame, money)
    return atomic_write(path, lambda p: rounded.to_csv(p, index=kw.pop("index", False), **kw))


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)

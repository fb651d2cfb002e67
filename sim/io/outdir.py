"""One writer per output directory: a lock on ``DIR/.tokensim.lock``, held while a command writes there.

Two ``tokensim`` processes writing into one directory would mix their files (with ``--zarr`` two
runs appended to one store, which then held the paths of both). A command that writes into a
directory first takes its lock (``fcntl.flock``, exclusive, non-blocking): a second process
asking for a held directory is refused at once with :class:`OutputBusy` (an ``OutputError``:
exit status 2, error kind "output"), naming the directory and the holder's pid. The kernel
releases the lock when the holder's process ends, however it ends (SIGKILL included), so a lock
is never stale. The lock file itself stays (an empty hidden file): removing it could let two
processes lock two different files of the same name.

Taking a directory also removes the temporary files that killed tokensim processes left there
and in its ``.chunks`` folder (``sim.io.files.remove_stale_temps``); no other tokensim process can
be writing them, since it would hold the lock.

Locks are re-entrant within a process (``tokensim run`` takes its ``--out`` and the runner takes
it again) and keyed by the directory's real path. POSIX only (``fcntl``), on a local filesystem:
``flock`` over NFS may not exclude a process on another machine.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .files import OutputError, ensure_dir, remove_stale_temps

LOCK_NAME = ".tokensim.lock"
CHUNKS = ".chunks"  # a run's finished blocks (sim.mc.runner), also cleaned of stale temporaries


class OutputBusy(OutputError):
    """Another process holds the output directory."""

    def __init__(self, directory: Path, pid: int | None):
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"output directory {directory} is in use by another tokensim process ({who}); wait for it "
                         "to finish, or write to another directory")
        self.directory, self.pid = directory, pid


_guard = threading.Lock()
_held: dict[str, list[int]] = {}  # real path -> [fd, depth]
_claims: list[str] = []  # directories taken by claim(), released by release_claims()


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def acquire(directory: Path) -> Path:
    """Create ``directory`` if needed, lock it for this process (again, if it holds it already) and
    remove stale temporary files; raises ``OutputError`` (``OutputBusy`` when another process holds it)."""
    directory = ensure_dir(Path(directory))
    key = os.path.realpath(directory)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            return directory
        try:
            fd = os.open(os.path.join(key, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                         0o666)
        except OSError as exc:
            raise OutputError(f"cannot lock output directory {directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise OutputBusy(directory, pid) from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"cannot lock output directory {directory}: {exc.strerror or exc}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is a courtesy for the message of a refused process
        _held[key] = [fd, 1]
    remove_stale_temps(directory)
    remove_stale_temps(directory / CHUNKS, owned=True)
    return directory


def release(directory: Path) -> None:
    """Undo one :func:`acquire` of ``directory``; the lock goes with the last one."""
    key = os.path.realpath(directory)
    with _guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        fd = entry[0]
        try:
            os.ftruncate(fd, 0)  # no pid of a process that no longer holds it
        except OSError:
            pass
        os.close(fd)  # releases the flock


@contextmanager
def locked(directory: Path) -> Iterator[Path]:
    """``directory``, created and locked for the block (see :func:`acquire`)."""
    d = acquire(directory)
    try:
        yield d
    finally:
        release(d)


def claim(directory: Path) -> Path:
    """Lock ``directory`` until :func:`release_claims` (the CLI calls it when the command ends)."""
    d = acquire(directory)
    _claims.append(str(d))
    return d


def release_claims() -> None:
    """Release every directory :func:`claim` took."""
    while _claims:
        release(Path(_claims.pop()))


def held(directory: Path) -> bool:
    """This process holds the lock of ``directory``."""
    return os.path.realpath(directory) in _held

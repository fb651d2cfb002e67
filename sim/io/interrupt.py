"""SIGINT and SIGTERM: a command stops at a safe point, says "interrupted" and leaves nothing half-written.

``tokensim`` (``sim.cli.app.main``) installs :func:`handler` for SIGINT and SIGTERM. Outside a
:func:`deferred` section a signal raises :class:`Interrupted` (a ``KeyboardInterrupt``) at once, as
Python does for SIGINT. Inside one the first signal is only recorded, and raised where the section
ends (or where the code calls :func:`check`): sections are the steps that must not be cut in the
middle, because the exception would be lost or mangled there:

- a numba kernel: a ``KeyboardInterrupt`` raised while a jitted function returns comes out as
  ``SystemError: CPUDispatcher(...) returned a result with an exception set``;
- an HDF5/NetCDF or Zarr write: h5py releases objects from weakref callbacks, and an exception
  raised inside one is printed ("Exception ignored in ...") and dropped, so the write went on and
  the run ended with exit status 0 after a Ctrl-C.

A second signal while one is pending raises at once (press Ctrl-C twice to stop without waiting
for the step); the pending one is kept, so even an exception dropped by a callback is raised again
where the section ends. :func:`caused_by_interrupt` recognises an exception that an interrupt turned
into another (the ``SystemError`` above), so the CLI reports it as an interruption, not an internal
error.

Without :func:`install` (the library called from Python) nothing changes: Python's own SIGINT
handler raises ``KeyboardInterrupt`` wherever it lands and the sections only nest harmlessly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_pending: int | None = None  # a signal received inside a deferred section, not yet raised
_depth = 0  # nesting of deferred sections (main thread)
_shielded = False  # while the CLI reports the interruption: further signals are ignored
_committed = False  # the command's outputs are in place (``committed``): signals are ignored, and kept in _late
_late: int | None = None  # a signal received after ``committed``: ``reopen`` raises it before the next step


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM (``signum``) stopped the command."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def handler(signum: int, frame) -> None:
    """Record the signal inside a deferred section (the first one), else raise :class:`Interrupted`."""
    global _pending, _late
    if _shielded:
        if _committed:
            _late = signum
        return
    first = _pending is None
    _pending = signum
    if _depth > 0 and first:
        return
    raise Interrupted(signum)


def install() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM with :func:`handler`; returns the function restoring the previous
    handlers. Does nothing outside the main thread (Python allows signal handlers only there)."""
    global _pending, _depth, _shielded, _committed, _late
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _pending, _depth, _shielded, _committed, _late = None, 0, False, False, None
    previous = {s: signal.signal(s, handler) for s in SIGNALS}

    def restore() -> None:
        global _pending, _depth, _shielded, _committed, _late
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        _pending, _depth, _shielded, _committed, _late = None, 0, False, False, None

    return restore


@contextmanager
def deferred() -> Iterator[None]:
    """A step that a signal must not cut: a signal received inside is raised where the outermost
    section ends (also when the step failed: the interruption wins, the failure chained to it).
    Signals are handled in the main thread only, so a section in another thread changes nothing."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None and not _shielded:
            signum, _pending = _pending, None
            raise Interrupted(signum)


def check() -> None:
    """Raise :class:`Interrupted` now if a signal is pending (a safe point inside a deferred section)."""
    global _pending
    if _pending is not None and not _shielded:
        signum, _pending = _pending, None
        raise Interrupted(signum)


def pending() -> bool:
    """A signal was received and not yet raised."""
    return _pending is not None


def committed() -> None:
    """The command's outputs are in place: signals are ignored from now on (until the CLI restores
    the handlers), so exit status 130 always means that nothing was put in place, and 0 that all of
    it was. Called where a command's last write ends; what remains is printing what was written."""
    global _shielded, _pending, _committed
    _shielded, _pending, _committed = True, None, True


def reopen() -> None:
    """The next step of a command made of steps (``tokensim all``) starts: signals interrupt again.

    The earlier steps' outputs stay in place; exit status 130 then means that the step under way put
    nothing in place. A signal that came after the last step's outputs were in place (ignored by
    that step) stops the command here, before the next step starts."""
    global _shielded, _pending, _committed, _late
    late = _late
    _shielded, _pending, _committed, _late = False, None, False, None
    if late is not None:
        raise Interrupted(late)


@contextmanager
def shielded() -> Iterator[None]:
    """Ignore further signals (while the CLI reports an interruption and releases its outputs)."""
    global _shielded
    before, _shielded = _shielded, True
    try:
        yield
    finally:
        _shielded = before


def caused_by_interrupt(exc: BaseException) -> bool:
    """``exc`` is, or was caused by, a ``KeyboardInterrupt`` (numba's ``SystemError``, say)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False

"""The :class:`Reporter`: hooks an install calls as it goes, each a no-op here.

An install calls, in order: ``resolving`` once, ``ignored`` per requirement
whose marker is false on this runtime, ``walked_back`` once if a requested
project ends older than its newest release, ``building`` per sdist built
(during resolution, for its metadata), ``resolved`` once,
``downloading`` as files arrive (bytes of the total), ``downloaded`` once,
``installing`` once, ``loading`` per native library, ``installed`` once --
or ``failed`` once, instead of the rest, when it stops with an error.
``retrying`` may come at any point before that, once per request tried again. An
install from a lock skips resolution (``resolved`` reports the lock's
packages). Nothing to install: ``resolved`` then ``installed`` with an empty
list. Hooks must not raise: the installer does not catch what they throw.

``phase`` marks where the time goes, at most once per name in this order except
that ``waiting`` and ``resolving`` repeat per round of a backtracking resolution:
``request`` (the first page request is on its way), ``imports`` (the
resolver and installer load while it travels), ``waiting`` (the resolution waits
for pages and metadata, parsing each as it lands), ``resolving`` (resolvelib over
what is known), ``resolved``, ``downloading`` (waiting for the wheels not here
yet), ``verifying`` (every wheel is here: hashes, RECORD, METADATA), ``writing``,
``loading`` (native libraries compile and load), ``done``. An install from a lock
has ``parsing`` (the lock) then ``downloading`` on. ``at`` counts seconds from the
call of ``install()`` (or ``resolve()``, whose plan's ``stats.phases`` holds its part).

Like resolvelib's ``BaseReporter``, the base class does nothing and sits at
the bottom of the package, so every layer can report without importing a
display; ``micropkg.ui`` holds the reporters that show something.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Protocol

__all__ = ["PHASES", "Packages", "Reporter", "WalkBackNotice", "announce", "call_started", "mark", "since_call"]

PHASES = (
    "request", "imports", "parsing", "waiting", "resolving", "resolved", "downloading", "verifying", "writing",
    "loading", "done",
)
# When the running install() or resolve() was called (perf_counter), for the phases' ``at``:
# a context variable, so the resolver and installer need no clock passed down to them.
call_started: ContextVar[float | None] = ContextVar("micropkg_call_started", default=None)

# (name, version) pairs, in the plan's order.
Packages = Sequence[tuple[str, str]]


class WalkBackNotice(Protocol):
    """What ``walked_back`` hears of each project (a ``micropkg.model.plan.WalkBack``)."""

    @property
    def name(self) -> str: ...
    @property
    def chosen(self) -> object: ...  # the version installed
    @property
    def newest(self) -> object: ...  # the newest release that fits the runtime
    @property
    def reason(self) -> str: ...  # why the newer releases were not taken, for people


class Reporter:
    """Hooks called as an install goes; every one does nothing here."""

    def resolving(self, requirements: Sequence[str]) -> None:
        """Resolution starts for ``requirements`` (as given)."""

    def ignored(self, requirement: str, marker: str) -> None:
        """``requirement`` is not for this runtime: its ``marker`` is false here, so it is not installed."""

    def walked_back(self, notices: Sequence[WalkBackNotice]) -> None:
        """Requested projects end older than their newest release; each notice says why."""

    def resolved(self, packages: Packages, seconds: float) -> None:
        """The plan is final: ``packages`` will be installed (already installed ones are not listed)."""

    def building(self, project: str, version: str) -> None:
        """``project`` ``version`` has no usable wheel: its sdist is being built into one (PEP 517).
        Not called when the wheel this sdist built before is in the cache."""

    def downloading(self, done_bytes: int, total_bytes: int, done_files: int, files: int) -> None:
        """A file arrived: ``done_bytes`` of ``total_bytes``, ``done_files`` of ``files``."""

    def downloaded(self, files: int, size: int, seconds: float) -> None:
        """Every file is here and hash-checked (``seconds`` counts from the first request)."""

    def installing(self, packages: Packages) -> None:
        """Writing into site-packages starts."""

    def loading(self, library: str, done: int, total: int) -> None:
        """Native library ``library`` (``done`` of ``total``) is being loaded."""

    def installed(self, packages: Packages, seconds: float) -> None:
        """Done: ``packages`` are importable; ``seconds`` since ``resolving``."""

    def failed(self, error: BaseException) -> None:
        """The install stopped with ``error``; nothing was installed."""

    def retrying(self, url: str, attempt: int, delay: float, reason: str) -> None:
        """A request failed (``reason``: "HTTP 503 (Service Unavailable)", "no answer for 15 s"...);
        attempt number ``attempt`` of it starts in ``delay`` seconds."""

    def phase(self, name: str, at: float) -> None:
        """The install reached phase ``name`` (one of :data:`PHASES`) ``at`` seconds after it was called."""


def since_call(at: float | None = None) -> float:
    """Seconds from the call of the running install() or resolve() to now, or to ``at`` (a
    ``time.perf_counter()`` instant); 0.0 outside one."""
    started = call_started.get()
    return 0.0 if started is None else (time.perf_counter() if at is None else at) - started


def mark(reporter: Reporter, name: str, at: float | None = None) -> None:
    """Tell ``reporter`` the install reached phase ``name`` now, or at the instant ``at``
    (``time.perf_counter()``: a request marked as it left, not a task later)."""
    reporter.phase(name, since_call(at))


class _Marked(Protocol):
    @property
    def marker(self) -> object: ...


def announce(reporter: Reporter, ignored: Sequence[_Marked], walked_back: Sequence[WalkBackNotice], *, stacklevel: int) -> None:
    """Tell ``reporter`` what a resolution left out (``ignored`` requirements, whose markers
    are false here) and walked back; and warn once of the walk-backs, since nobody should
    get a release years old without hearing of it, whatever reporter is listening.
    ``stacklevel`` is what the caller would pass to ``warnings.warn``."""
    for req in ignored:
        reporter.ignored(str(req), str(req.marker))
    if not walked_back:
        return
    reporter.walked_back(walked_back)
    notes = "; ".join(f"{n.name} {n.chosen} is not its newest release, {n.newest}: {n.reason}" for n in walked_back)
    warnings.warn(f"{notes}. Pin the version you want to decide it yourself.", stacklevel=stacklevel + 1)

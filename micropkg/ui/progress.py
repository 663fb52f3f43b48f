"""Reporters that show an install as it runs (the hooks are in :mod:`micropkg.reporter`).

An install calls, in order: ``resolving`` once, ``ignored`` per requirement
whose marker is false here, ``walked_back`` once if a requested project ends
older than its newest release, ``resolved`` once, ``downloading`` as files
arrive (bytes of the total), ``downloaded`` once, ``installing`` once,
``loading`` per native library, ``installed`` once -- or ``failed`` once, instead of the rest, when it stops with an error.
``retrying`` may come at any point before that, once per request tried again. An
install from a lock skips resolution (``resolved`` reports the lock's
packages). Nothing to install: ``resolved`` then ``installed`` with an empty
list. Hooks must not raise: the installer does not catch what they throw.

Like resolvelib's ``BaseReporter``, the base class does nothing; a reporter
overrides what it shows. Three come with micropkg: :class:`ConsoleReporter`
(pip-like lines on stdout), :class:`EventReporter` (one dict per event to a
callback -- a JavaScript function in a web page) and, in a notebook,
``micropkg.ui.notebook.NotebookReporter`` (a progress bar updated in place).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..reporter import Packages, Reporter, WalkBackNotice

__all__ = [
    "NOTHING_TO_INSTALL", "ConsoleReporter", "EventReporter", "Reporter", "counted",
    "downloaded_line", "format_size", "ignored_line", "resolved_line", "retrying_line", "walked_back_line",
]

def format_size(size: int) -> str:
    """``5.1 MB``, ``272 kB``, ``12 B`` (decimal units, as PyPI shows sizes)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} kB"
    return f"{size} B"


def counted(n: int, noun: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# The lines every reporter shows alike (the console prints them, a notebook's bar ends with them).
NOTHING_TO_INSTALL = "Nothing to install: every requirement is already satisfied"


def ignored_line(requirement: str, marker: str) -> str:
    return f"Ignoring {requirement}: its markers '{marker}' do not match this runtime"


def walked_back_line(notice: WalkBackNotice) -> str:
    return f"Note: {notice.name} {notice.chosen} is not its newest release, {notice.newest}: {notice.reason}"


def resolved_line(packages: Packages, seconds: float) -> str:
    return f"Resolved {counted(len(packages), 'package')} in {seconds:.1f} s"


def downloaded_line(files: int, size: int, seconds: float) -> str:
    return f"Downloaded {counted(files, 'file')}, {format_size(size)} in {seconds:.1f} s"


def retrying_line(url: str, attempt: int, delay: float, reason: str) -> str:
    """``Retrying https://.../simple/x/ in 0.5 s (attempt 2): HTTP 503 (Service Unavailable)``."""
    return f"Retrying {url} in {delay:.1f} s (attempt {attempt}): {reason}"


class ConsoleReporter(Reporter):
    """Concise lines, like pip's and uv's, written to ``file`` (stdout by default)::

        Resolved 7 packages in 0.4 s
        Downloaded 3 files, 5.1 MB in 0.8 s
        Installed 7 packages in 1.3 s
         + pydantic==2.12.0
    """

    def __init__(self, file=None) -> None:
        self._file = file

    def _print(self, line: str) -> None:
        print(line, file=self._file or sys.stdout, flush=True)

    def ignored(self, requirement: str, marker: str) -> None:
        self._print(ignored_line(requirement, marker))

    def walked_back(self, notices: Sequence[WalkBackNotice]) -> None:
        for notice in notices:
            self._print(walked_back_line(notice))

    def building(self, project: str, version: str) -> None:
        self._print(f"Building {project} {version} from its sdist")

    def resolved(self, packages: Packages, seconds: float) -> None:
        self._print(resolved_line(packages, seconds))

    def downloaded(self, files: int, size: int, seconds: float) -> None:
        if files:
            self._print(downloaded_line(files, size, seconds))

    def installed(self, packages: Packages, seconds: float) -> None:
        if not packages:
            self._print(NOTHING_TO_INSTALL)
            return
        self._print(f"Installed {counted(len(packages), 'package')} in {seconds:.1f} s")
        for name, version in packages:
            self._print(f" + {name}=={version}")

    def failed(self, error: BaseException) -> None:
        self._print(f"Failed: {error}")

    def retrying(self, url: str, attempt: int, delay: float, reason: str) -> None:
        self._print(retrying_line(url, attempt, delay, reason))


class EventReporter(Reporter):
    """Each event as one dict to ``callback``: ``{"event": "downloading", "done_bytes": ...}``.

    Keys are the hook's name and its parameter names; ``packages`` are lists
    of ``[name, version]``, ``error`` is the message. From JavaScript, pass a
    function: it receives a plain object (converted by the runtime adapter).
    """

    def __init__(self, callback: Callable[[dict[str, Any]], Any]) -> None:
        from ..runtime.js import event_sender

        self._send = event_sender(callback)

    def _emit(self, event: str, **fields: Any) -> None:
        self._send({"event": event, **fields})

    def resolving(self, requirements: Sequence[str]) -> None:
        self._emit("resolving", requirements=[str(r) for r in requirements])

    def ignored(self, requirement: str, marker: str) -> None:
        self._emit("ignored", requirement=requirement, marker=marker)

    def walked_back(self, notices: Sequence[WalkBackNotice]) -> None:
        self._emit("walked_back", notices=[
            {"name": n.name, "chosen": str(n.chosen), "newest": str(n.newest), "reason": n.reason} for n in notices
        ])

    def building(self, project: str, version: str) -> None:
        self._emit("building", project=project, version=version)

    def resolved(self, packages: Packages, seconds: float) -> None:
        self._emit("resolved", packages=[list(p) for p in packages], seconds=seconds)

    def downloading(self, done_bytes: int, total_bytes: int, done_files: int, files: int) -> None:
        self._emit("downloading", done_bytes=done_bytes, total_bytes=total_bytes, done_files=done_files, files=files)

    def downloaded(self, files: int, size: int, seconds: float) -> None:
        self._emit("downloaded", files=files, size=size, seconds=seconds)

    def installing(self, packages: Packages) -> None:
        self._emit("installing", packages=[list(p) for p in packages])

    def loading(self, library: str, done: int, total: int) -> None:
        self._emit("loading", library=library, done=done, total=total)

    def installed(self, packages: Packages, seconds: float) -> None:
        self._emit("installed", packages=[list(p) for p in packages], seconds=seconds)

    def failed(self, error: BaseException) -> None:
        self._emit("failed", error=str(error), type=type(error).__name__)

    def retrying(self, url: str, attempt: int, delay: float, reason: str) -> None:
        self._emit("retrying", url=url, attempt=attempt, delay=delay, reason=reason)

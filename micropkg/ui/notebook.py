"""Progress in a notebook: one output that updates in place, then collapses to a line.

:func:`in_notebook` tells whether a kernel with rich display is running
(JupyterLite's Pyodide kernel, ipykernel); :class:`NotebookReporter` shows an
install there as a ``<progress>`` bar with a status line (and a text/plain
fallback for frontends without HTML), updated through one display handle,
which ends as one summary line -- ``Installed 2 packages in 1.2 s:
harness-demo 2.0.0, harness-dep 1.0.0`` -- or the error.

Nothing here imports IPython until a reporter first shows something: this
module is loaded by every ``install`` call, in a notebook or not.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .progress import (
    NOTHING_TO_INSTALL,
    Packages,
    Reporter,
    counted,
    downloaded_line,
    format_size,
    resolved_line,
    retrying_line,
)

__all__ = ["NotebookReporter", "in_notebook"]

# Updates faster than this are dropped (the final state of each phase is
# always shown): every update is a message from the kernel to the page.
_MIN_INTERVAL = 0.1
_BAR_WIDTH = 30  # characters, in the text/plain rendering


def in_notebook() -> bool:
    """True inside an IPython shell that belongs to a kernel (a notebook, JupyterLab,
    JupyterLite), False in plain Python and in terminal IPython.

    Cheap and side-effect free: IPython is looked up in ``sys.modules``, never
    imported -- a runtime that has not loaded it has no notebook to show in.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
    except Exception:  # a half-initialized IPython: no frontend to talk to yet
        return False
    # ipykernel's ZMQInteractiveShell and pyodide_kernel's Interpreter carry
    # their kernel; TerminalInteractiveShell has none, and no rich display.
    return getattr(shell, "kernel", None) is not None


def _ipython_display() -> Callable[..., Any]:
    from IPython.display import display

    return display


def _listing(packages: Packages) -> str:
    return ", ".join(f"{name} {version}" for name, version in packages)


class NotebookReporter(Reporter):
    """A live progress bar in the cell's output, updated in place.

    ``display`` is IPython's ``display`` function (the default, imported when
    first needed); it must accept a raw MIME bundle and ``display_id=True``
    and return a handle with ``update``.
    """

    def __init__(self, display: Callable[..., Any] | None = None) -> None:
        self._display = display
        self._handle: Any = None
        self._last_update = 0.0
        self._phase = ""

    # -- rendering --------------------------------------------------------------

    def _show(self, text: str, *, state: str = "running", value: float | None = None,
              maximum: float | None = None, force: bool = True) -> None:
        now = time.monotonic()
        if not force and self._handle is not None and now - self._last_update < _MIN_INTERVAL:
            return
        self._last_update = now
        bundle = {"text/plain": self._plain(text, state, value, maximum), "text/html": self._html(text, state, value, maximum)}
        if self._handle is None:
            display = self._display or _ipython_display()
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    @staticmethod
    def _plain(text: str, state: str, value: float | None, maximum: float | None) -> str:
        if state != "running":
            return text
        if value is not None and maximum:
            filled = round(_BAR_WIDTH * min(value / maximum, 1.0))
            return f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {text}"
        return f"[{'~' * _BAR_WIDTH}] {text}"

    @staticmethod
    def _html(text: str, state: str, value: float | None, maximum: float | None) -> str:
        line = html.escape(text)
        if state == "failed":
            body = f'<span style="color: var(--jp-error-color1, #d32f2f)">{line}</span>'
        elif state == "done":
            body = f"<span>{line}</span>"
        else:
            # No value: an indeterminate bar (resolving, installing).
            attributes = f' value="{value:g}" max="{maximum:g}"' if value is not None and maximum else ""
            body = (
                f'<progress{attributes} style="width: 16em; vertical-align: middle"></progress> '
                f"<span>{line}</span>"
            )
        return (
            f'<div class="micropkg-progress" data-state="{state}" '
            f'style="font-family: var(--jp-code-font-family, monospace); font-size: 0.9em">{body}</div>'
        )

    # -- the hooks ----------------------------------------------------------------

    def resolving(self, requirements: Sequence[str]) -> None:
        names = ", ".join(str(r) for r in requirements) or "the requirements"
        self._show(f"Resolving {names}...")

    def building(self, project: str, version: str) -> None:
        self._show(f"Building {project} {version} from its sdist...")

    def resolved(self, packages: Packages, seconds: float) -> None:
        self._show(resolved_line(packages, seconds))

    def downloading(self, done_bytes: int, total_bytes: int, done_files: int, files: int) -> None:
        self._show(
            f"Downloading {done_files} of {counted(files, 'file')}: "
            f"{format_size(done_bytes)} of {format_size(total_bytes)}",
            value=done_bytes, maximum=total_bytes, force=done_files == files,
        )

    def downloaded(self, files: int, size: int, seconds: float) -> None:
        if files:
            self._show(downloaded_line(files, size, seconds), value=1, maximum=1)

    def installing(self, packages: Packages) -> None:
        self._show(f"Installing {counted(len(packages), 'package')}...")

    def loading(self, library: str, done: int, total: int) -> None:
        self._show(f"Loading native library {library} ({done} of {total})", value=done, maximum=total, force=done == total)

    def installed(self, packages: Packages, seconds: float) -> None:
        if packages:
            text = f"Installed {counted(len(packages), 'package')} in {seconds:.1f} s: {_listing(packages)}"
        else:
            text = NOTHING_TO_INSTALL
        self._show(text, state="done")

    def failed(self, error: BaseException) -> None:
        self._show(f"{type(error).__name__}: {error}", state="failed")

    def retrying(self, url: str, attempt: int, delay: float, reason: str) -> None:
        self._show(retrying_line(url, attempt, delay, reason))


"""Which reporter an install gets when its caller names none."""

from __future__ import annotations

import sys

from ..reporter import Reporter

__all__ = ["default_reporter"]


def default_reporter(verbose: bool | int | None) -> Reporter:
    """A live bar in a notebook; pip-like lines when ``verbose``; otherwise silence.

    The displays are imported only when chosen: the notebook's needs ``html``,
    whose entity table a fresh Pyodide compiles for tens of milliseconds, on
    the path of an install's first request.
    """
    if "IPython" in sys.modules:  # only a running IPython can be a notebook; never import it here
        from .notebook import NotebookReporter, in_notebook

        if in_notebook():
            return NotebookReporter()
    if verbose:
        from .progress import ConsoleReporter

        return ConsoleReporter()
    return Reporter()

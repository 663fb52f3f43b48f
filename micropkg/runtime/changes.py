"""Installs, lock installs and uninstalls change site-packages one at a time per runtime.

In the order they were called: a second install waits, then resolves against
what the first left. The lock is taken as a call begins, before its first
``await`` (an uncontended ``asyncio.Lock`` is taken without yielding), so the
order is the order of the calls even though an install's head start awaits
before it has imported the session (see ``micropkg.index.head_start``).
"""

from __future__ import annotations

import asyncio

__all__ = ["one_change_at_a_time"]

_changing: asyncio.Lock | None = None


def one_change_at_a_time() -> asyncio.Lock:
    global _changing
    if _changing is None:
        _changing = asyncio.Lock()
    return _changing

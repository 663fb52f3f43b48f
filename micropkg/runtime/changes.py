"""Installs, lock installs and uninstalls change site-packages one at a time per runtime.

In the order they were called: a second install waits, then resolves against
what the first left. The turn is taken as a call begins, before its first
``await`` (an uncontended ``asyncio.Lock`` is taken without yielding), so the
order is the order of the calls even though an install's head start awaits
before it has imported the session (see ``micropkg.index.head_start``).

What a call does only for the next page load (keeping the installed tree and
the fetched pages and wheels in the cache) need not hold up its return: it
hands that work to :func:`after_this_change`, which runs it once the call has
returned, still in the call's turn. The next change waits for it, so it reads
the files this install wrote and nothing else; :func:`settled` waits for it
too (a page about to unload, a test about to reload its page).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar

__all__ = ["after_this_change", "in_turn", "one_change_at_a_time", "settled"]

_changing: asyncio.Lock | None = None
# The calls whose later work still runs (referenced here until it ends: a task nobody holds
# may be collected midway).
_finishing: set[asyncio.Task[None]] = set()
_later: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar("micropkg_later", default=None)


def one_change_at_a_time() -> asyncio.Lock:
    global _changing
    if _changing is None:
        _changing = asyncio.Lock()
    return _changing


@contextlib.asynccontextmanager
async def in_turn() -> AsyncIterator[None]:
    """The calling change's turn: held until the call returns and its later work is done."""
    lock = one_change_at_a_time()
    await lock.acquire()
    later: list[Callable[[], Awaitable[None]]] = []
    token = _later.set(later)
    try:
        yield
    finally:
        _later.reset(token)
        if later:
            task = asyncio.ensure_future(_finish(later, lock))
            _finishing.add(task)
            task.add_done_callback(_finishing.discard)
        else:
            lock.release()


def after_this_change(work: Callable[[], Awaitable[None]]) -> bool:
    """Run ``work`` once the current change has returned, in its turn; False outside a
    change's turn (the caller then does the work itself)."""
    later = _later.get()
    if later is None:
        return False
    later.append(work)
    return True


async def _finish(works: list[Callable[[], Awaitable[None]]], lock: asyncio.Lock) -> None:
    try:
        for work in works:
            try:
                await work()
            except Exception as exc:  # noqa: BLE001 - the call has returned: a warning is how its caller hears
                warnings.warn(
                    "micropkg installed the packages, but could not keep them for the next page load"
                    f" ({type(exc).__name__}: {exc}); the next install of the same request resolves again.",
                    stacklevel=1,
                )
    finally:
        lock.release()


async def settled() -> None:
    """Wait until the work the finished changes left for later is done (see the module docstring)."""
    # Not "while _finishing": a task leaves the set by a done callback, which runs a turn of
    # the loop after the task ends, and gather() over ended tasks returns without yielding.
    while pending := [task for task in _finishing if not task.done()]:
        await asyncio.gather(*pending)

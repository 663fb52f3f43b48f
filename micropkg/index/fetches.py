"""Memoised, bounded fetches shared by one install's resolution and downloads.

Every fetch is a task kept under its key, so concurrent walkers asking for the
same page, metadata or wheel share one request. A fetch's error is kept, not
swallowed: it is raised again to whoever reads that entry, when they read it
(a speculative download that fails costs nothing unless the plan needs it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import MicropkgError
from ..value import Value

__all__ = ["Failure", "Fetches", "result_if_done", "unwrapped"]


class Failure(Value):
    """What a fetch task returns instead of raising: its error, raised on reading. Immutable by convention."""

    __slots__ = ("error",)

    def __init__(self, error: MicropkgError) -> None:
        self.error = error


async def unwrapped(task: asyncio.Future) -> Any:
    """What ``task`` (one of :meth:`Fetches.task`'s) made, or the error it kept, raised now."""
    value = await task
    if isinstance(value, Failure):
        raise value.error
    return value


def result_if_done(task: asyncio.Task | None) -> Any:
    """``task``'s value if it has finished (its kept error raised), else None."""
    if task is None or not task.done():
        return None
    value = task.result()
    if isinstance(value, Failure):
        raise value.error
    return value


class Fetches:
    """The request counter and concurrency bound of one install."""

    def __init__(self, max_concurrency: int = 24) -> None:
        self.requests = 0  # round trips started, for reporting
        # Browsers queue past ~6 connections per origin over HTTP/1.1 and Node's
        # fetch fails outright under hundreds at once; a walk-back asks for hundreds.
        self._slots = asyncio.Semaphore(max_concurrency)

    async def limited(self, fetch: Callable[[], Awaitable[Any]]) -> Any:
        # Slots are taken around single requests only, never around work that
        # awaits another request, so holders cannot wait on each other.
        async with self._slots:
            return await fetch()

    def task(self, table: dict, key: object, make: Callable[[], Awaitable[Any]], *, request: bool = True) -> asyncio.Task:
        """The task kept in ``table`` under ``key``, started with ``make`` if there is none."""
        task = table.get(key)
        if task is None:
            self.requests += request

            async def guarded() -> Any:
                try:
                    return await make()
                except MicropkgError as exc:
                    return Failure(exc)

            task = table[key] = asyncio.ensure_future(guarded())
        return task

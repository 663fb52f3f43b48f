"""An install's head start: its first page requests go out before the resolver loads.

Pyodide compiles the standard library and ``packaging`` from source, so
importing what a resolution needs (``packaging``'s parsers, resolvelib,
micropkg's resolver and installer) takes ~150 ms in a fresh Pyodide 314 under
Node -- longer than a round trip to the index. The pages of the requested
projects are what the resolution reads first, and asking for them needs none
of that: the requests are sent first and answered while the imports run.

Nothing here imports ``packaging``: requested names are read with a regular
expression, and only when they are plain; anything else (a URL, a path, a
wheel's file name, a marker) waits for the real parser. A guess that turns
out unused is dropped by the index (:meth:`~micropkg.index.client.Index.drop_early`).
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Index

__all__ = ["load_machinery", "send_root_pages"]

# A project name at the start of a requirement, followed by what may follow a name
# (extras, a version, the end); a URL, a path or a marker is left to the parser.
_PLAIN_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\]\s*)?(?:[<>=!~(]|$)")

# What resolving and installing import, packaging first, in the order they import each other.
_MACHINERY = (
    "packaging.utils", "packaging.specifiers", "packaging.markers", "packaging.requirements",
    "micropkg.resolution.catalog", "micropkg.installation.environment", "resolvelib", "micropkg.resolution.resolver", "micropkg.installation.installer",
)


def send_root_pages(indexes: Sequence[Index], requirements: str | Iterable[str]) -> list[asyncio.Future[None]]:
    """Ask the first index for the pages of the plainly named ``requirements``.

    Returns a future per request, done once it is on its way.
    """
    on_their_way: list[asyncio.Future[None]] = []
    if not indexes:
        return on_their_way
    for text in [requirements] if isinstance(requirements, str) else requirements:
        match = _PLAIN_NAME.match(text) if isinstance(text, str) else None
        if match is not None and not match.group(1).lower().endswith(".whl"):  # a wheel's file name
            on_their_way.append(indexes[0].send_early(match.group(1)))
    return on_their_way


async def load_machinery(on_their_way: Sequence[asyncio.Future[None]] = ()) -> None:
    """Import the resolver and installer once the early requests are on their way.

    Before a page request goes out its cache entry is looked up (a few ms in
    a browser's Cache API): the imports wait for that, not for the answers,
    and let the event loop run between modules, because under Node the
    requests are written and read on this same thread. No timeout: each
    future is done at the latest when its request ends, and the resolution
    would wait for that page anyway (a timer here would also keep Node alive).
    """
    if on_their_way:
        await asyncio.wait(on_their_way)
        await asyncio.sleep(0)  # the connection opens, the request is written
    for name in _MACHINERY:
        if name not in sys.modules:
            importlib.import_module(name)
            await asyncio.sleep(0)

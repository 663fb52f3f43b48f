"""A lock's files, sent for before the installer loads (``micropkg.lock_install``).

An install from a lock knows every file it will download once the lock is read:
:func:`send_files` starts their requests then, and the transport takes each over
when the installer reads that file (:meth:`~.early.EarlyRequest.take`), as it takes
over an install's early page requests (:mod:`.early`, whose machinery this shares).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from .early import EarlyRequest, _handled, start_fetch
from .early_fetch import first_fetch

__all__ = ["send_files"]





def send_files(requests: Iterable[tuple[str, Mapping[str, str]]], credentials: str | None = None) -> dict[str, EarlyRequest]:
    """Start downloading each ``(url, headers)`` now, by URL: the files of an install that knows
    them before its machinery has loaded (a lock's), so that the machinery loads while they
    are on their way. Under Node through Node's http modules, as fetch() would first load
    undici (see ``runtime.early_fetch``), and answered without it. The transport takes each over when the
    file is read (:meth:`EarlyRequest.take`); the caller aborts those it never read.

    A request that cannot be started is left out: the transport sends it, and reports its failure.
    """
    import js

    fetch = first_fetch()
    handled = _handled()
    sent: dict[str, EarlyRequest] = {}
    for url, headers in requests:
        if url in sent:
            continue  # asked twice: the first is taken over, the second read sends its own
        try:
            controller = js.AbortController.new()
            promise = start_fetch(url, headers, credentials, controller.signal, fetch)
            handled(promise)  # rejected after an abort nobody awaits: not an unhandled rejection
        except Exception:  # noqa: BLE001, S112 - sent again when read, and its failure reported then
            continue
        sent[url] = request = EarlyRequest.sent(url, headers, promise, controller)
        request.sent_at = time.perf_counter()
    return sent

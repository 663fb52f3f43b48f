"""``install(lock=...)``: the lock is read, its files are sent for, then the installer loads.

A lock names every file an install will download, so its requests need not
wait for the machinery that reads them: once the lock is parsed, each file's
request leaves through the runtime's ``fetch`` (``runtime.early_files.send_files``;
not for a project whose ``.dist-info`` is there at the locked version), and
the installer's modules load while they are on their way -- a module at a time, so that under
Node, where requests are written and answers read on this same thread, the
event loop runs in between. The transport takes each request over when the
installer reads that file; from there it is an ordinary download (timeouts,
retries, the hash and size checks against the lock). A request never read
(the install failed first) is aborted.

A lock at a URL is itself asked for first (:func:`send_lock`), before its parsers
(``tomllib``, and ``packaging`` through ``model.lock``) load: a fresh Pyodide compiles
those while the lock is on its way, instead of before asking for it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .installation.installer import Installed
    from .model.lock import Lock
    from .model.simple import DistFile
    from .reporter import Reporter
    from .runtime.early import EarlyRequest
    from .session import Session

__all__ = ["install_from_lock", "send_lock"]

# What reading a lock needs, loaded while the lock is on its way (send_lock): the session's
# transports, then the parsers (packaging's, through model.lock; tomllib for a pylock.toml).
_LOCK_READER = (
    "micropkg.net.transport", "micropkg.net.retry", "micropkg.model.simple", "micropkg.index.client",
    "micropkg.runtime.fetch", "micropkg.session", "micropkg.model.lock", "micropkg.lock.pyodide_lock",
)
_PYLOCK = ("tomllib", "micropkg.lock.pylock")


def send_lock(lock: str, credentials: str | None = None) -> EarlyRequest | None:
    """Inside Pyodide, ask for the lock at the URL ``lock`` now; the session's read takes the
    request over (``Session.load_lock``).

    None for a lock's text, a path, or a location that is not plainly an https URL (or http
    to this machine): the session reads those as before. A relative location in a page is
    resolved as the page's links are; were the session to resolve it otherwise, it would
    stop this request and send its own.
    """
    from .index.head_start import secure_url
    from .model.location import scheme_of
    from .session import lock_is_text

    if lock_is_text(lock) or not lock.strip():  # nothing to ask for; "" would name the page itself
        return None
    from .runtime import detect

    if not detect.in_pyodide():
        return None
    url: object = lock
    if not scheme_of(lock):
        if lock.startswith("/") or os.path.exists(lock) or not detect.in_browser():
            return None  # a path in Pyodide's file system, or Node's: read, not fetched
        from .runtime.js import js_function

        url = js_function("(text) => { try { return new URL(text, location.href).href; } catch { return null; } }")(lock)
    if not isinstance(url, str) or not secure_url(url):
        return None
    from .runtime import early

    return early.send_page(url, {}, None, credentials)


async def install_from_lock(
    session: Session, lock: str, reporter: Reporter, credentials: str | None = None,
) -> list[Installed]:
    """Install what ``lock`` (a location or the text of a ``pylock.toml`` or
    ``pyodide-lock.json``) lists for this runtime (``install(lock=...)``)."""
    from .index.head_start import defer_unused_modules, import_steps
    from .reporter import mark

    lock_request = send_lock(lock, credentials)
    try:
        defer_unused_modules()  # before the lock's modules import packaging
        if lock_request is not None:
            await asyncio.wait([lock_request.on_its_way])
            if lock_request.sent_at is not None:
                mark(reporter, "request", at=lock_request.sent_at)
            # What reads the lock loads while it is on its way.
            await import_steps(_LOCK_READER + (() if lock_request.url.partition("?")[0].endswith(".json") else _PYLOCK))
        mark(reporter, "parsing")
        parsed = await session.load_lock(lock, early=lock_request)
    finally:
        if lock_request is not None:
            lock_request.abort()  # unless the read took it
    return await _install_parsed(session, parsed, reporter, credentials, marked=lock_request is not None)


async def _install_parsed(
    session: Session, parsed: Lock, reporter: Reporter, credentials: str | None, *, marked: bool,
) -> list[Installed]:
    from .model.lock import plan_from_lock
    from .reporter import mark

    root, target = session.site_packages, session.target
    # The files leave now: the installer loads (and what it reads them with) while they are on their way.
    sent = _send_files(session, _not_installed(plan_from_lock(parsed, target, {})[1], root), credentials)
    first = min((r.sent_at for r in sent.values() if r.sent_at is not None), default=None)
    if not marked and first is not None:
        mark(reporter, "request", at=first)  # a lock given as text: its files are the first requests
    try:
        if sent:
            await _load_installer()
        from .installation.environment import distributions
        from .installation.installer import install_lock
        from .runtime import native

        # What is installed, as the installer judges it: what it keeps is not read (its request is aborted).
        planned = plan_from_lock(parsed, target, {dist.name: dist.version for dist in distributions([root])})

        async def read(location: str) -> bytes:
            return await session.read(location, early=sent.pop(location, None))

        builds = session.builder(reporter) if any(p.sdist_to_build is not None for p in parsed.packages) else None
        try:
            return await install_lock(
                parsed, target, root, read if sent else session.read,
                load_dynlibs=native.load_dynlibs, dynlibs_to_load=native.dynlibs_to_load,
                reporter=reporter, builds=builds, planned=planned,
            )
        finally:
            if builds is not None:
                builds.close()
    finally:
        for request in sent.values():  # nobody read them: the install failed first
            request.abort()


def _not_installed(files: dict[str, DistFile], root: Path) -> dict[str, DistFile]:
    """``files`` less those whose ``.dist-info`` directory (the wheel's name and version, as its
    file name spells them) is in ``root``: a listing of one directory, where the installer's
    own judgement (``installation.environment``) reads every distribution's METADATA and
    RECORD, and loads later. A file it is wrong about is sent when read, or aborted unread."""
    try:
        listed = set(os.listdir(root))
    except OSError:
        return files
    return {url: f for url, f in files.items() if "-".join(f.filename.split("-")[:2]) + ".dist-info" not in listed}


# What a lock install loads once its files are on their way, in this order: see _load_installer.
_INSTALLER = (
    "micropkg.installation.environment", "micropkg.model.wheel", "micropkg.index.downloads",
    "micropkg.installation.writer", "micropkg.installation.installer", "micropkg.runtime.native",
)


async def _load_installer() -> None:
    """Import the installer a module at a time, letting the event loop run between them:
    under Node the requests just sent are written (and their answers read) on this thread."""
    from .index.head_start import import_steps

    await asyncio.sleep(0)  # the connections open, the requests are written
    await import_steps(_INSTALLER)


# At most this many early requests: the downloads' own bound on requests at once
# (index.fetches.Fetches), which a lock of hundreds of files must not get around.
_AT_ONCE = 24


def _send_files(session: Session, files, credentials: str | None) -> dict[str, EarlyRequest]:
    """The lock's downloads, started now (``runtime.early_files.send_files``), by the location they
    will be read from; none outside Pyodide, and none the session would refuse to send
    (that refusal is made when the file is read, as before)."""
    from .errors import InsecureURL
    from .net.transport import require_secure_url, split_credentials
    from .runtime import detect

    if not detect.in_pyodide():
        return {}
    wanted: dict[str, tuple[str, dict[str, str]]] = {}
    # The biggest first: a browser asks an HTTP/1.1 origin six at a time, in the order asked,
    # and a big wheel's checks then run while the small ones still come.
    for url, _ in sorted(files.items(), key=lambda item: -(item[1].size or 0)):
        location = url.partition("#")[0]  # as the downloads read it
        if location.split(":", 1)[0].lower() not in ("http", "https"):
            continue  # a path: read from a file system, not sent
        try:
            require_secure_url(location, allow_insecure_http=session.allow_insecure_http, what="URL")
        except InsecureURL:
            continue
        wanted[location] = split_credentials(location)
        if len(wanted) == _AT_ONCE:
            break  # the rest as the downloads bound them, when they are read
    if not wanted:
        return {}
    from .runtime.early_files import send_files

    sent = send_files(wanted.values(), credentials)
    return {location: sent[plain] for location, (plain, _) in wanted.items() if plain in sent}

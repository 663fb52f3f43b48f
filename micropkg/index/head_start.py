"""An install's head start: its first page requests go out before the resolver loads.

Pyodide compiles the standard library and ``packaging`` from source, so
importing what a resolution needs (``packaging``'s parsers, resolvelib,
micropkg's resolver and installer, and before them the session, the index
client and the transports) takes ~150 ms in a fresh Pyodide 314 under
Node -- longer than a round trip to the index. The pages of the requested
projects are what the resolution reads first, and asking for them needs none
of that: inside Pyodide, :func:`send_first_pages` sends them as
``install()`` begins, straight through the runtime's ``fetch``
(:mod:`micropkg.runtime.early`), and the imports run while they are on their
way (the session's first; the resolver's once the installed-tree cache has
missed, see :func:`load_machinery`). Elsewhere (CPython, tests with a mock transport) :func:`send_root_pages`
asks the session's first index once it exists.

Nothing here imports ``packaging``: requested names are read with a regular
expression, and only when they are plain; anything else (a URL, a path, a
wheel's file name, a marker) waits for the real parser. A guess that turns
out unused is dropped (:meth:`~micropkg.index.client.Index.drop_early`).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.machinery
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..net.cache import Cache
    from ..runtime.chain import Chain
    from ..runtime.early import Answers, EarlyRequests


class _Index(Protocol):  # index.client.Index, which imports this module
    def send_early(self, name: str) -> asyncio.Future[None]: ...


__all__ = [
    "ACCEPT", "METADATA_HOSTS", "PYPI", "bare_extras", "bare_names", "defer_unused_modules", "first_index", "import_steps", "load_machinery",
    "page_url", "secure_url",
    "send_first_pages", "send_root_pages",
]

PYPI = "https://pypi.org/simple"
# PEP 691 content negotiation: JSON preferred, HTML accepted (the index client sends the same).
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
# File hosts known to serve PEP 658 ``.metadata`` files even when the index page does not
# advertise them (PyPI's does; PyPI's pages seen from some networks omit the key).
METADATA_HOSTS = frozenset({"files.pythonhosted.org"})

# A project name at the start of a requirement, followed by what may follow a name
# (extras, a version, the end); a URL, a path or a marker is left to the parser.
_NAME_AND_EXTRAS = r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\]\s*)?"
_PLAIN_NAME = re.compile(_NAME_AND_EXTRAS + r"(?:[<>=!~(]|$)")
_BARE_NAME = re.compile(_NAME_AND_EXTRAS + r"$")  # nothing after it: any release may do
_SEPARATORS = re.compile(r"[-_.]+")
# An index URL the early requests may use: https, or http to this machine, no user
# information (its credentials become a header the session works out), nothing unusual.
_SECURE_INDEX = re.compile(r"(?:https://[A-Za-z0-9.-]+|http://(?:localhost|127(?:\.[0-9]{1,3}){3}))(?::[0-9]{1,5})?/[!-?A-Z\]-~]*")

# What opening a session imports, leaf modules first: each is one step of load_machinery, and
# none takes much longer than ~15 ms in a fresh Pyodide 314 (its standard library has no
# bytecode), so an answer that arrives meanwhile waits no longer than that for its turn
# (the chain's next request goes out from that turn). The last ones are what install()
# reads before resolving: the installed-tree cache and "already satisfied".
_SESSION = (
    "micropkg.net.transport", "micropkg.net.retry", "micropkg.model.simple", "micropkg.model.sources",
    "micropkg.index.client", "micropkg.runtime.fetch", "micropkg.session",
    "micropkg.model.records", "micropkg.installation.tree_cache", "micropkg.warm",
    "micropkg.installation.satisfied",
)
# What resolving and installing import besides, packaging first (its private modules are the
# largest parts of ``packaging.utils``).
_RESOLVER = (
    "packaging._manylinux", "packaging.tags", "packaging.version", "packaging.utils",
    "packaging.specifiers", "packaging._tokenizer", "packaging._parser", "packaging.markers", "packaging.requirements",
    "micropkg.model.target", "micropkg.model.candidates", "micropkg.model.headers", "micropkg.model.wheel",
    "micropkg.index.downloads", "micropkg.resolution.catalog", "micropkg.installation.environment",
    "resolvelib.resolvers.abstract", "resolvelib", "micropkg.model.plan", "micropkg.resolution.provider",
    "micropkg.resolution.resolver", "micropkg.installation.installer",
)
# Standard modules packaging imports at its top, for functions micropkg does not call inside
# Pyodide (the running machine's tags, ``default_environment()``: micropkg builds the
# runtime's own). Pyodide 314's standard library has no bytecode, so importing them compiles
# them (~40 ms); deferred (defer_unused_modules), that happens only if one is used.
_DEFERRED = ("platform", "sysconfig")

# The first of the indexes set with set_index_urls (micropkg.session keeps them all).
default_first: tuple[str, dict[str, str]] | None = None


def _normalized(name: str) -> str:
    """PEP 503's normalized name (PEP 685's for an extra): without importing packaging."""
    return _SEPARATORS.sub("-", name).lower()


def page_url(index_url: str, project: str) -> str:
    """The URL of ``project``'s page on the index at ``index_url`` (a base or a template)."""
    name = _normalized(project)
    if "{package_name}" in index_url:
        return index_url.replace("{package_name}", name)
    return index_url.rstrip("/") + "/" + name + "/"


def secure_url(url: str) -> bool:
    """Whether a request to ``url`` may leave before the session's checks: https, or http to this machine, no user information."""
    return _SECURE_INDEX.fullmatch(url) is not None


def first_index(index_urls: object) -> tuple[str, dict[str, str]] | None:
    """The first index of ``index_urls`` (as ``install`` takes them) and its headers, when
    it is plainly given; None for anything the session must check first."""
    if index_urls is None:
        return default_first or (PYPI, {})
    first: object
    if isinstance(index_urls, str):
        first = index_urls
    elif isinstance(index_urls, Mapping):
        first = next(iter(index_urls.items()), None)
    elif isinstance(index_urls, (list, tuple)) and index_urls:
        first = index_urls[0]
    else:
        return None
    url, headers = (first, {}) if isinstance(first, str) else first if isinstance(first, (tuple, list)) and len(first) == 2 else (None, None)
    if not isinstance(url, str) or not isinstance(headers, Mapping):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        return None
    return url, dict(headers)


def bare_names(requirements: str | Iterable[str]) -> list[str]:
    """The names of ``requirements`` that are a name alone (extras allowed): any release may do."""
    return _names(requirements, _BARE_NAME)


def bare_extras(requirements: str | Iterable[str]) -> dict[str, list[str]]:
    """The extras asked for of each project named bare (PEP 503 and PEP 685 normalized)."""
    extras: dict[str, list[str]] = {}
    for text in [requirements] if isinstance(requirements, str) else requirements:
        match = _BARE_NAME.match(text) if isinstance(text, str) else None
        if match is not None and match.group("extras"):
            names = {_normalized(e.strip()) for e in match.group("extras").split(",") if e.strip()}
            project = _normalized(match.group(1))
            extras[project] = sorted(names | set(extras.get(project, ())))
    return extras


def plain_names(requirements: str | Iterable[str]) -> list[str]:
    """The project names of the plainly named ``requirements``, in order."""
    return _names(requirements, _PLAIN_NAME)


def _names(requirements: str | Iterable[str], pattern: re.Pattern[str]) -> list[str]:
    names = []
    for text in [requirements] if isinstance(requirements, str) else requirements:
        match = pattern.match(text) if isinstance(text, str) else None
        if match is not None and not match.group(1).lower().endswith(".whl"):  # a wheel's file name
            names.append(match.group(1))
    return names


def send_first_pages(
    requirements: str | Iterable[str], index_urls: object, *, cache: str, credentials: str | None, follow: bool = True,
) -> EarlyRequests | None:
    """Inside Pyodide, start asking the first index for the pages of the plainly named
    ``requirements`` not installed yet. None elsewhere, or when the index or the cache
    mode needs the session's checks first (which then send them).

    With ``follow``, the answers of the pages of projects named bare (no version, no
    marker) are followed in JavaScript (:mod:`micropkg.runtime.chain`): their likely
    picks' metadata and wheels, and their dependencies' pages, are asked for meanwhile.
    """
    if sys.platform != "emscripten" or cache not in ("default", "off"):
        return None
    index = first_index(index_urls)
    if index is None or not secure_url(index[0]):
        return None
    present = _installed()
    names = [name for name in plain_names(requirements) if _normalized(name) not in present]
    if not names:
        return None
    from ..runtime import detect, early

    # In a browser a page request does not depend on what micropkg keeps (no If-None-Match: the
    # browser's HTTP cache revalidates, see runtime.stores.page_cache), so it leaves before the
    # store is opened: opening it reads localStorage, synchronously (3-7 ms in a fresh Chromium
    # profile, 2026-12-05), and a kept page is rarely fresh where the HTTP cache's is not. A page
    # the store turns out to hold, fresh, stops its request (EarlyRequest.unless_kept).
    look_first = not detect.in_browser()
    kept = _page_cache(cache) if look_first else None
    url, headers = index
    bare = {page_url(url, name) for name in bare_names(requirements)} if follow else set()
    extras = bare_extras(requirements)
    requests = early.EarlyRequests()

    def start_chain(answers: Answers) -> Chain:
        from ..runtime.chain import Chain

        chain = Chain(
            url, headers, accept=ACCEPT, credentials=credentials, installed=present, metadata_hosts=METADATA_HOSTS,
            store=kept.store if kept is not None else None, extras=extras,
        )
        chain.start(answers)
        return chain

    answers = requests.follow(start_chain) if bare else None
    for name in names:
        page = page_url(url, name)
        if page not in requests.pages:
            requests.pages[page] = early.send_page(
                page, {"Accept": ACCEPT, **headers}, kept, credentials, answers if page in bare else None,
            )
    if not look_first:
        kept = _page_cache(cache)
        if kept is not None:
            for request in requests.pages.values():
                request.unless_kept(kept)
    return requests


def _page_cache(mode: str) -> Cache | None:
    from ..runtime import stores

    return stores.page_cache(mode)


def _installed() -> set[str]:
    """The normalized names with a ``.dist-info`` here: such a request may need no request at
    all, and the session decides that (installation.satisfied)."""
    from ..runtime import detect

    try:
        entries = os.listdir(detect.site_packages())
    except OSError:
        return set()
    return {
        _normalized(entry[: -len(".dist-info")].rpartition("-")[0])
        for entry in entries if entry.endswith(".dist-info")
    }


def send_root_pages(indexes: Sequence[_Index], requirements: str | Iterable[str]) -> list[asyncio.Future[None]]:
    """Ask the first index for the pages of the plainly named ``requirements``.

    Returns a future per request, done once it is on its way.
    """
    if not indexes:
        return []
    return [indexes[0].send_early(name) for name in plain_names(requirements)]


async def load_machinery(
    on_their_way: Sequence[asyncio.Future[None]] = (), *, resolver: bool = True, first: Callable[[], None] | None = None,
) -> None:
    """Import the session and, with ``resolver``, the resolver and installer, once the
    early requests are on their way.

    ``install()`` loads the session first and the resolver only once the
    installed-tree cache (:mod:`micropkg.warm`) missed: a warm page load that
    restores its files must not import ``packaging`` or the resolver at all.

    Before a page request goes out its cache entry is looked up (a few ms in
    a browser's Cache API): the imports wait for that, not for the answers,
    and let what waits in the event loop run between modules
    (:func:`~micropkg.runtime.js.give_way`): the answers are read on this same
    thread, and the chain's next requests leave from there. No timeout: each
    future is done at the latest when its request ends, and the resolution
    would wait for that page anyway (a timer here would also keep Node alive).
    ``first`` runs once the requests are written, before any import (the chain's making).
    """
    if on_their_way:
        await asyncio.wait(on_their_way)
        await asyncio.sleep(0)  # the connection opens, the request is written
    if first is not None:
        first()
    defer_unused_modules()
    await import_steps(_SESSION + _RESOLVER if resolver else _SESSION)


async def import_steps(names: Sequence[str]) -> None:
    """Import the modules ``names`` not imported yet, one at a time, and between two of them
    let what waits in the event loop run (:func:`~micropkg.runtime.js.give_way`)."""
    from ..runtime.js import give_way

    for name in names:
        if name not in sys.modules:
            _load(name)
            await give_way()


def defer_unused_modules() -> None:
    """Make the :data:`_DEFERRED` modules not imported yet run on their first use."""
    if _DeferredFinder not in sys.meta_path:
        sys.meta_path.insert(0, _DeferredFinder)


class _DeferredFinder:
    """Finds the :data:`_DEFERRED` modules, as :class:`_Deferred` ones: their code waits.

    Not a spec from the path: finding a module in Pyodide's standard library zip
    (zipimport) compiles it, for its file name; that is the cost avoided.
    """

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name not in _DEFERRED or path is not None:
            return None
        return importlib.machinery.ModuleSpec(name, _DeferredFinder)  # type: ignore[arg-type]  # a loader by its methods

    @staticmethod
    def create_module(spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Deferred(spec.name)
        if spec.name == "platform":
            module.__dict__.update(_platform_answers())
        return module

    @staticmethod
    def exec_module(module: types.ModuleType) -> None:
        """Nothing yet (see _Deferred)."""


class _Deferred(types.ModuleType):
    """A module whose code runs when something it defines is first read.

    Not importlib.util.LazyLoader: its modules load on any attribute read, and an
    ``import`` statement reads ``__spec__`` of a module already in ``sys.modules``.
    """

    def __getattr__(self, attr: str) -> object:  # only what the module does not have yet
        if attr == "__path__":  # the import system asks whether it is a package: neither one is
            raise AttributeError(attr)
        name = self.__name__
        spec = importlib.machinery.PathFinder.find_spec(name)  # where an import would find it
        if spec is None or spec.loader is None:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}: the module itself is not on sys.path")
        self.__class__ = types.ModuleType  # type: ignore[assignment]  # first: its own code may read it while it runs
        self.__spec__, self.__loader__, self.__package__ = spec, spec.loader, spec.parent
        if spec.has_location:
            self.__file__ = spec.origin
        try:
            spec.loader.exec_module(self)
        except BaseException:
            del sys.modules[name]  # as a failed import leaves it: not there
            raise
        return getattr(self, attr)


def _platform_answers() -> dict[str, Callable[[], object]]:
    """Inside Pyodide, the ``platform`` functions ``packaging.markers.default_environment()``
    calls, answering as ``platform`` would (``runtime.detect.marker_environment``, which
    tests/runtime/test_head_start.py compares with the loaded module's).

    ``Marker.evaluate()`` calls ``default_environment()`` for every marker, even when it is
    handed a whole environment, as micropkg does: without these the first dependency with a
    marker compiled ``platform`` (26 ms under Node, 2026-12-05) while the chain's answers
    waited. Any other attribute loads the module, whose own functions then replace these.
    """
    if sys.platform != "emscripten":
        return {}
    from ..runtime.detect import marker_environment

    environment = marker_environment()
    python = environment["python_full_version"]
    values = {
        "machine": environment["platform_machine"], "release": environment["platform_release"],
        "system": environment["platform_system"], "version": environment["platform_version"],
        "python_version": python, "python_implementation": environment["platform_python_implementation"],
        "python_version_tuple": tuple(python.split(".")),
    }
    return {name: (lambda value=value: value) for name, value in values.items()}


def _load(name: str) -> None:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # packaging's and resolvelib's inner modules differ between their releases: one that
        # is not there is one step less, and whatever needs it fails on its own import.
        if exc.name != name:
            raise

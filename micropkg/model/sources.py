"""Where a candidate comes from, as types rather than strings to parse.

A candidate's source decides how its file is read (through an index's
client, the Pyodide distribution's file host, a direct URL, a lock's
location) and what is recorded about it once installed (PEP 751's
``index``, micropip's ``PYODIDE_SOURCE``). Every question about a source is
answered here, once: "did it come from an index?" is :attr:`index_url`.
"""

from __future__ import annotations

from typing import ClassVar

from ..value import Value

__all__ = [
    "INSTALLED", "DirectSource", "DistributionSource", "IndexSource", "InstalledSource", "LockSource", "Source",
]


class IndexSource(Value):
    """A package index: a Simple API base URL, or a ``{package_name}`` template. Immutable by convention."""

    __slots__ = ("url",)
    kind: ClassVar[str] = "index"

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def index_url(self) -> str | None:
        # PEP 751 records a Simple API base URL; a {package_name} template (PyPI's JSON
        # API) or a path in the runtime's file system is nothing another installer could use.
        if "{" in self.url or not self.url.lower().startswith(("https:", "http:")):
            return None
        return self.url

    def __str__(self) -> str:
        return self.url


class DistributionSource(Value):
    """The Pyodide distribution whose ``pyodide-lock.json`` is at ``url``. Immutable by convention."""

    __slots__ = ("url",)
    kind: ClassVar[str] = "pyodide distribution"

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return self.url


class DirectSource(Value):
    """A direct reference: ``name @ URL``, a bare wheel URL, an ``emfs:`` or ``file:`` path. Immutable by convention."""

    __slots__ = ("url",)
    kind: ClassVar[str] = "direct URL"

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return self.url


class LockSource(Value):
    """An entry of the lock at ``location``; ``index`` is the index the lock names for it, if any.
    Immutable by convention."""

    __slots__ = ("location", "index")
    kind: ClassVar[str] = "lock"

    def __init__(self, location: str, index: str | None = None) -> None:
        self.location = location
        self.index = index

    @property
    def index_url(self) -> str | None:
        return self.index

    def __str__(self) -> str:
        return self.index or f"lock {self.location}"


class InstalledSource(Value):
    """Already installed in the runtime: nothing to read. Immutable (it has no fields)."""

    __slots__ = ()
    kind: ClassVar[str] = "installed"

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return "installed"


INSTALLED = InstalledSource()

Source = IndexSource | DistributionSource | DirectSource | LockSource | InstalledSource

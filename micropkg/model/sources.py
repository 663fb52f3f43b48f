"""Where a candidate comes from, as types rather than strings to parse.

A candidate's source decides how its file is read (through an index's
client, the Pyodide distribution's file host, a direct URL, a lock's
location) and what is recorded about it once installed (PEP 751's
``index``, micropip's ``PYODIDE_SOURCE``). Every question about a source is
answered here, once: "did it come from an index?" is :attr:`index_url`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "INSTALLED", "DirectSource", "DistributionSource", "IndexSource", "InstalledSource", "LockSource", "Source",
]


@dataclass(frozen=True)
class IndexSource:
    """A package index: a Simple API base URL, or a ``{package_name}`` template."""

    url: str
    kind: ClassVar[str] = "index"

    @property
    def index_url(self) -> str | None:
        # PEP 751 records a Simple API base URL; a {package_name} template (PyPI's JSON
        # API) or a path in the runtime's file system is nothing another installer could use.
        if "{" in self.url or not self.url.lower().startswith(("https:", "http:")):
            return None
        return self.url

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class DistributionSource:
    """The Pyodide distribution whose ``pyodide-lock.json`` is at ``url``."""

    url: str
    kind: ClassVar[str] = "pyodide distribution"

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class DirectSource:
    """A direct reference: ``name @ URL``, a bare wheel URL, an ``emfs:`` or ``file:`` path."""

    url: str
    kind: ClassVar[str] = "direct URL"

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class LockSource:
    """An entry of the lock at ``location``; ``index`` is the index the lock names for it, if any."""

    location: str
    index: str | None = None
    kind: ClassVar[str] = "lock"

    @property
    def index_url(self) -> str | None:
        return self.index

    def __str__(self) -> str:
        return self.index or f"lock {self.location}"


@dataclass(frozen=True)
class InstalledSource:
    """Already installed in the runtime: nothing to read."""

    kind: ClassVar[str] = "installed"

    @property
    def index_url(self) -> str | None:
        return None

    def __str__(self) -> str:
        return "installed"


INSTALLED = InstalledSource()

Source = IndexSource | DistributionSource | DirectSource | LockSource | InstalledSource

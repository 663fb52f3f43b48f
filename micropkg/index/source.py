"""The one interface every package source implements.

An index client (:class:`~micropkg.index.client.Index`) and the Pyodide
distribution (:class:`~micropkg.index.distribution.Distribution`) answer the
same three questions: the project's page, a file's core metadata, and a
file's bytes. The resolution layer and the downloads ask only these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..model.simple import DistFile, ProjectPage
from ..model.sources import DistributionSource, IndexSource

__all__ = ["PackageSource"]


class PackageSource(ABC):
    """Where project pages, metadata and files come from."""

    url: str

    @property
    @abstractmethod
    def source(self) -> IndexSource | DistributionSource:
        """What candidates from here record as their source."""

    @abstractmethod
    async def project(self, name: str) -> ProjectPage | None:
        """The page of ``name``; None when this source does not know it ("not here")."""

    @abstractmethod
    async def metadata(self, file: DistFile) -> bytes | None:
        """``file``'s core metadata (PEP 658); None when the source has no separate file for it."""

    @abstractmethod
    async def wheel(self, file: DistFile) -> bytes:
        """``file``'s bytes, checked against the hashes the source stated."""

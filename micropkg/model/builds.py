"""What the resolution and the downloads need of sdist builds, without importing the builder.

The resolver must not import :mod:`micropkg.build` (it sits above it in the
layer table): it asks for an sdist candidate's metadata, and the downloads for
its wheel, through this :class:`SdistBuilds` protocol, which the session
wires to :class:`micropkg.build.builder.Builder`. Without one (``only_binary``),
sdists are never candidates.
"""

from __future__ import annotations

from typing import Protocol

from .candidates import Candidate

__all__ = ["SdistBuilds"]


class SdistBuilds(Protocol):
    async def metadata(self, candidate: Candidate, sdist: bytes) -> bytes:
        """The core metadata (METADATA bytes) of the wheel ``sdist`` builds into: PEP 517's
        ``prepare_metadata_for_build_wheel``, or the built wheel's own METADATA."""
        ...

    async def wheel(self, candidate: Candidate, sdist: bytes) -> tuple[str, bytes]:
        """The wheel ``sdist`` builds into: its file name and bytes (built once, then cached)."""
        ...

    def close(self) -> None:
        """Remove what builds left behind (temporary directories of builds not carried through)."""
        ...

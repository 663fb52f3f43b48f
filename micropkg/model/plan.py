"""A resolution's result: the plan an install carries out.

The resolver writes a :class:`Plan`; the installer, the lock writer and
``resolve()``'s caller read it. None of them needs the resolver to do so.
A plan holds two kinds of lines: a :class:`Pin` is a project to install
from a file, which it always has; a :class:`Kept` is a project already
installed that satisfies the request and stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from packaging.version import Version

from .candidates import Candidate
from .simple import DistFile
from .sources import Source

if TYPE_CHECKING:  # a lock's plan has neither: its install imports no requirement parser
    from packaging.requirements import Requirement

    from .metadata import CoreMetadata

__all__ = ["Kept", "Pin", "Plan", "ResolutionStats", "WalkBack"]


@dataclass(frozen=True)
class Pin:
    """A project to install: a version, the file chosen for it, and why."""

    name: NormalizedName
    version: Version
    candidate: Candidate
    required_by: tuple[str, ...]  # "the request" or "name version"
    # The core metadata the resolver read for this version (PEP 658 file, range read,
    # or the wheel itself): the installer checks the wheel's own METADATA against it.
    metadata: CoreMetadata | None = None

    def __post_init__(self) -> None:
        if self.candidate.file is None:
            raise TypeError(f"Pin {self.name} {self.version} needs a file; an installed version is a Kept")

    @property
    def file(self) -> DistFile:
        return self.candidate.file  # type: ignore[return-value]  # checked in __post_init__

    @property
    def source(self) -> Source:
        return self.candidate.source


@dataclass(frozen=True)
class Kept:
    """An installed project the plan keeps as it is."""

    name: NormalizedName
    version: Version
    candidate: Candidate
    required_by: tuple[str, ...]
    metadata: CoreMetadata | None = None

    @property
    def source(self) -> Source:
        return self.candidate.source


@dataclass(frozen=True)
class WalkBack:
    """A requested project ends older than its newest release that fits this runtime."""

    name: NormalizedName
    chosen: Version
    newest: Version
    reason: str  # why the newer releases were not taken, written for people

    def __str__(self) -> str:
        return f"installed {self.name} {self.chosen}, not {self.newest}: {self.reason}"


@dataclass(frozen=True)
class ResolutionStats:
    """How a resolution went: for the reporter, benchmarks and curious users."""

    attempts: int  # fetch rounds: resolvelib runs, each after fetching what the previous one lacked
    resolver_seconds: float  # time inside resolvelib and the provider, network excluded
    requests: int  # index requests (pages, metadata, ranges; wheels read for metadata or on speculation)
    round_seconds: tuple[float, ...] = ()  # resolver CPU per round
    received: int = 0  # bytes of the answers to those requests
    # (phase, seconds since resolve()/install() was called): waiting, resolving (repeating per
    # round), resolved -- the reporter's phases (micropkg.reporter.PHASES) of the resolution
    phases: tuple[tuple[str, float], ...] = ()


@dataclass
class Plan:
    pins: list[Pin | Kept] = field(default_factory=list)
    stats: ResolutionStats | None = None
    # Requested projects that end older than their newest release (see WalkBack).
    walked_back: list[WalkBack] = field(default_factory=list)
    # Requirements of the request whose markers are false on the runtime: not resolved.
    ignored: list[Requirement] = field(default_factory=list)

    def __iter__(self) -> Iterator[Pin | Kept]:
        return iter(self.pins)

    def __len__(self) -> int:
        return len(self.pins)

    @property
    def to_install(self) -> list[Pin]:
        return [p for p in self.pins if isinstance(p, Pin)]

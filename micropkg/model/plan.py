"""A resolution's result: the plan an install carries out.

The resolver writes a :class:`Plan`; the installer, the lock writer and
``resolve()``'s caller read it. None of them needs the resolver to do so.
A plan holds two kinds of lines: a :class:`Pin` is a project to install
from a file, which it always has; a :class:`Kept` is a project already
installed that satisfies the request and stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from packaging.version import Version

from ..value import MutableValue, Value
from .candidates import Candidate
from .simple import DistFile
from .sources import Source

if TYPE_CHECKING:  # a lock's plan has neither: its install imports no requirement parser
    from packaging.requirements import Requirement

    from .metadata import CoreMetadata

__all__ = ["Kept", "Pin", "Plan", "ResolutionStats", "WalkBack"]


class _Chosen(Value):
    """A project of a plan: its version, the candidate chosen, and why it is there."""

    __slots__ = ("name", "version", "candidate", "required_by", "metadata")

    def __init__(
        self,
        name: NormalizedName,
        version: Version,
        candidate: Candidate,
        required_by: tuple[str, ...],  # "the request" or "name version"
        # The core metadata the resolver read for this version (PEP 658 file, range read,
        # or the wheel itself): the installer checks the wheel's own METADATA against it.
        metadata: CoreMetadata | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.candidate = candidate
        self.required_by = required_by
        self.metadata = metadata

    @property
    def source(self) -> Source:
        return self.candidate.source


class Pin(_Chosen):
    """A project to install: a version, the file chosen for it, and why. Immutable by convention."""

    __slots__ = ()
    _fields = _Chosen.__slots__

    def __init__(
        self,
        name: NormalizedName,
        version: Version,
        candidate: Candidate,
        required_by: tuple[str, ...],
        metadata: CoreMetadata | None = None,
    ) -> None:
        if candidate.file is None:
            raise TypeError(f"Pin {name} {version} needs a file; an installed version is a Kept")
        super().__init__(name, version, candidate, required_by, metadata)

    @property
    def file(self) -> DistFile:
        return self.candidate.file  # type: ignore[return-value]  # checked in __init__


class Kept(_Chosen):
    """An installed project the plan keeps as it is. Immutable by convention."""

    __slots__ = ()
    _fields = _Chosen.__slots__


class WalkBack(Value):
    """A requested project ends older than its newest release that fits this runtime.
    Immutable by convention."""

    __slots__ = ("name", "chosen", "newest", "reason")

    def __init__(self, name: NormalizedName, chosen: Version, newest: Version, reason: str) -> None:
        self.name = name
        self.chosen = chosen
        self.newest = newest
        self.reason = reason  # why the newer releases were not taken, written for people

    def __str__(self) -> str:
        return f"installed {self.name} {self.chosen}, not {self.newest}: {self.reason}"


class ResolutionStats(Value):
    """How a resolution went: for the reporter, benchmarks and curious users. Immutable by convention."""

    __slots__ = ("attempts", "resolver_seconds", "requests", "round_seconds", "received", "phases")

    def __init__(
        self,
        attempts: int,  # fetch rounds: resolvelib runs, each after fetching what the previous one lacked
        resolver_seconds: float,  # time inside resolvelib and the provider, network excluded
        requests: int,  # index requests (pages, metadata, ranges; wheels read for metadata or on speculation)
        round_seconds: tuple[float, ...] = (),  # resolver CPU per round
        received: int = 0,  # bytes of the answers to those requests
        # (phase, seconds since resolve()/install() was called): waiting, resolving (repeating per
        # round), resolved -- the reporter's phases (micropkg.reporter.PHASES) of the resolution
        phases: tuple[tuple[str, float], ...] = (),
    ) -> None:
        self.attempts = attempts
        self.resolver_seconds = resolver_seconds
        self.requests = requests
        self.round_seconds = round_seconds
        self.received = received
        self.phases = phases


class Plan(MutableValue):
    """The pins of a resolution, how it went, and what of the request it left out."""

    __slots__ = ("pins", "stats", "walked_back", "ignored")

    def __init__(
        self,
        pins: list[Pin | Kept] | None = None,
        stats: ResolutionStats | None = None,
        # Requested projects that end older than their newest release (see WalkBack).
        walked_back: list[WalkBack] | None = None,
        # Requirements of the request whose markers are false on the runtime: not resolved.
        ignored: list[Requirement] | None = None,
    ) -> None:
        self.pins: list[Pin | Kept] = [] if pins is None else pins
        self.stats = stats
        self.walked_back: list[WalkBack] = [] if walked_back is None else walked_back
        self.ignored: list[Requirement] = [] if ignored is None else ignored

    def __iter__(self) -> Iterator[Pin | Kept]:
        return iter(self.pins)

    def __len__(self) -> int:
        return len(self.pins)

    @property
    def to_install(self) -> list[Pin]:
        return [p for p in self.pins if isinstance(p, Pin)]

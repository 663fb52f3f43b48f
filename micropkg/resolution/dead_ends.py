"""What a resolution learns cannot be satisfied, whatever else it chooses.

A requirement that no release of its project can meet on this runtime -- the
project publishes no wheel for Emscripten, only sdists, or nothing that fits
the requirement's specifier -- is a fact, not a conflict: no choice elsewhere
changes it. :class:`DeadEnds` learns it once per requirement and ends at once
every branch that needs it: a candidate whose metadata asks for it is never
offered to resolvelib again, so backtracking does not replay it.

The walk-back policy (documented in the README). pip keeps walking a project
back to the newest release that works, however old; micropip stops at the
first missing wheel. micropkg walks back *within* the newest major version of
a project whose releases need an unavailable dependency, and stops at the
major-version boundary with a :class:`~micropkg.UnavailableDependency` error
that names the blocker, the chain from the request, and the pin that accepts
an older major version. A requested project that ends older than its newest
release for any reason is reported (:class:`~micropkg.model.plan.WalkBack`).
For 0.x versions the "major" version is the first two parts (0.3 → 0.2 is a
boundary), as semantic versioning reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version

from ..model.candidates import Candidate, Verdict, describe_files, judge_files
from ..model.target import Target
from ..value import Value
from .catalog import Catalog

__all__ = ["DeadEnd", "DeadEnds", "Unavailability", "major_of", "unavailable_reason"]


def major_of(version: Version) -> tuple[int, ...]:
    """The part of ``version`` whose change may break users: ``(2,)`` for 2.x, ``(0, 3)`` for 0.3.x."""
    release = version.release
    return release[:1] if release[0] > 0 else release[:2]


class DeadEnd(Value):
    """``candidate`` needs ``requirement``, which nothing on this runtime satisfies, because ``reason``.
    Immutable by convention."""

    __slots__ = ("candidate", "requirement", "blocker", "reason")

    def __init__(self, candidate: Candidate, requirement: str, blocker: NormalizedName, reason: str) -> None:
        self.candidate = candidate
        self.requirement = requirement  # as written in the candidate's metadata
        self.blocker = blocker
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.candidate.name} {self.candidate.version} needs {self.requirement}, and {self.reason}"


class DeadEnds:
    """Dead ends found so far, by project and version."""

    def __init__(self) -> None:
        self.by_project: dict[NormalizedName, dict[Version, DeadEnd]] = {}
        self._checked: dict[str, DeadEnd | None] = {}  # file URL -> verdict, once per candidate

    def known(self, candidate: Candidate) -> bool:
        return candidate.file is not None and candidate.file.url in self._checked

    def verdict(self, candidate: Candidate) -> DeadEnd | None:
        return self._checked.get(candidate.file.url) if candidate.file is not None else None

    def record(self, candidate: Candidate, dead: DeadEnd | None) -> None:
        if candidate.file is None:
            return
        self._checked[candidate.file.url] = dead
        if dead is not None:
            self.by_project.setdefault(candidate.name, {})[candidate.version] = dead

    def blockers(self) -> list[DeadEnd]:
        """One dead end per blocking project, newest candidate first."""
        seen: dict[NormalizedName, DeadEnd] = {}
        for versions in self.by_project.values():
            for version in sorted(versions, reverse=True):
                dead = versions[version]
                seen.setdefault(dead.blocker, dead)
        return list(seen.values())


def unavailable_reason(name: NormalizedName, catalog: Catalog, target: Target, specifier: str = "") -> str:
    """Why no release of ``name`` (matching ``specifier``) can be installed here, for people."""
    return Unavailability(catalog, target).reason(name, specifier)


class Unavailability:
    """:func:`unavailable_reason`, judging each project's files once.

    A walk-back meets the same blocker in every release it reads (litellm pins a
    different aiohttp in each), and judging a page of thousands of files again
    for each was four fifths of litellm's resolution.
    """

    def __init__(
        self, catalog: Catalog, target: Target, usable: Callable[[NormalizedName], Sequence[Version]] | None = None,
    ) -> None:
        self.catalog = catalog
        self.target = target
        # The versions with a file for this runtime, newest first, when the caller knows them already.
        self._usable = usable
        self._judged: dict[NormalizedName, list[Verdict]] = {}

    def _verdicts(self, name: NormalizedName) -> list[Verdict]:
        if name not in self._judged:
            page, _ = self.catalog.page(name)
            self._judged[name] = judge_files(page, self.target, sdists=self.catalog.builds is not None)
        return self._judged[name]

    def reason(self, name: NormalizedName, specifier: str = "") -> str:
        catalog, target = self.catalog, self.target
        if self._usable is not None:
            usable = list(self._usable(name))
        else:
            found = {v.version for v in self._verdicts(name) if v.refused is None and v.version is not None}
            usable = sorted(found, reverse=True)
        if usable:
            shown = ", ".join(str(v) for v in usable[:5]) + (" ..." if len(usable) > 5 else "")
            return f"no release of {name} that fits {specifier} has a file for this runtime (releases that do: {shown})"
        verdicts = self._verdicts(name)
        wheels = [v for v in verdicts if v.file.is_wheel]
        emscripten = [v for v in wheels if any("emscripten" in t.platform or "pyodide" in t.platform for t in v.tags)]
        distribution = catalog.distribution
        where = f"; it is in Pyodide's distribution ({distribution.url})" if distribution and distribution.entry(name) else ""
        if not wheels:
            if catalog.builds is not None:  # sdists are built, yet none of these is usable: say why
                problems = sorted({v.refused for v in verdicts if v.refused})
                return f"{name} publishes no wheels, and none of its sdists can be built here ({'; '.join(problems)}){where}"
            return f"{name} publishes no wheels, only sdists, which only_binary leaves unbuilt{where}"
        if not emscripten and not any(t.platform == "any" for v in wheels for t in v.tags):
            return f"{name} has no build for Emscripten (its wheels are for other platforms){where}"
        versions = [v.version for v in verdicts if v.version is not None]
        newest = max(versions)
        newest_files = [v for v in verdicts if v.version == newest]
        offered = describe_files(newest_files)
        # Tag mismatches are summed up by `offered`; other reasons are worth spelling out.
        reasons = sorted({v.refused for v in newest_files if v.refused and not v.refused.startswith(("tags ", "a source"))})
        why = f": {'; '.join(reasons)}" if reasons else ""
        return f"{name} has no wheel that installs on {target.describe()} (its newest release, {newest}, has {offered}{why}){where}"


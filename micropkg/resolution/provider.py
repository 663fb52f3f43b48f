"""resolvelib's provider: Python packaging, taught to resolvelib.

Identifiers are canonical names (``name[extra,...]`` for a request with
extras, which depends on the plain ``name`` at the same version, so extras
stay scoped to the requirement that asked for them); Requires-Python is a
dependency on the virtual project ``<python>``. The provider reads the
:class:`~micropkg.resolution.catalog.Catalog` synchronously and raises
:class:`~micropkg.resolution.catalog.Missing` for what is not fetched yet;
it never offers a candidate it knows to be a dead end
(:mod:`micropkg.resolution.dead_ends`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import resolvelib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ..errors import MicropkgError, ProjectNotFound
from ..model.candidates import Candidate, Releases, judge_files
from ..model.location import filename_of
from ..model.simple import DistFile
from ..model.sources import INSTALLED, DirectSource
from ..model.target import Target, UnevaluableMarker
from ..value import Value
from .catalog import Catalog
from .conflicts import EdgeLog
from .dead_ends import DeadEnd, DeadEnds, Unavailability, major_of

__all__ = ["PYTHON", "Provider", "Req", "dependencies_of", "split_identifier"]

PYTHON = "<python>"
# How many of a major version's newest releases must need an unavailable dependency before
# the rest of that major version is taken to need it too (see _without_dead_ends).
DEAD_STREAK = 8
_ALIVE = object()  # a requirement some decided candidate meets


def _major_text(major: tuple[int, ...]) -> str:
    return ".".join(map(str, major))


class Req(Value):
    """A requirement as the resolver sees it, with who asked for it. Immutable by convention."""

    __slots__ = ("name", "specifier", "extras", "url", "parent", "text")

    def __init__(
        self,
        name: NormalizedName,
        specifier: SpecifierSet,
        extras: frozenset[str] = frozenset(),
        url: str | None = None,
        parent: Candidate | None = None,  # None: the user asked
        text: str = "",
    ) -> None:
        self.name = name
        self.specifier = specifier
        self.extras = extras
        self.url = url
        self.parent = parent
        self.text = text

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def pinned(self) -> bool:
        return any(s.operator in ("==", "===") and "*" not in s.version for s in self.specifier)

    def __str__(self) -> str:
        return self.text or f"{self.identifier}{self.specifier}"

    @classmethod
    def from_requirement(cls, req: Requirement, parent: Candidate | None = None) -> Req:
        return cls(
            name=canonicalize_name(req.name),
            specifier=req.specifier,
            extras=frozenset(canonicalize_name(e) for e in req.extras),
            url=req.url,
            parent=parent,
            text=str(req),
        )


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def split_identifier(identifier: str) -> tuple[NormalizedName, frozenset[str]]:
    name, _, rest = identifier.partition("[")
    extras = frozenset(e for e in rest.rstrip("]").split(",") if e)
    return NormalizedName(name), extras


class Provider(resolvelib.AbstractProvider):
    def __init__(
        self,
        catalog: Catalog,
        target: Target,
        *,
        constraints: Mapping[NormalizedName, Sequence[Req]],
        installed: Mapping[NormalizedName, Version],
        pre: bool,
        reinstall: bool,
        deps: bool,
    ) -> None:
        self.catalog = catalog
        self.target = target
        self.sdists = catalog.builds is not None  # sdists are candidates when they can be built
        self.constraints = constraints
        self.installed = installed
        self.pre = pre
        self.reinstall = reinstall
        self.deps = deps
        self.log = EdgeLog(installed={n: str(v) for n, v in installed.items()} if not reinstall else {})
        self._releases: dict[NormalizedName, Releases] = {}
        self.walk_backs: dict[NormalizedName, int] = {}
        self.dead = DeadEnds()
        self.unavailable = Unavailability(catalog, target, self._usable_versions)
        # Releases of a dependency that meet a requirement, by (name, specifier, pinned): the
        # releases of a walk-back repeat their requirements, and dead-end checks ask for each.
        self._matching: dict[tuple[NormalizedName, str, bool], list[Candidate]] = {}

    def identify(self, requirement_or_candidate) -> str:
        if isinstance(requirement_or_candidate, str):  # the <python> pseudo-candidate
            return PYTHON
        if isinstance(requirement_or_candidate, Req):
            return requirement_or_candidate.identifier
        return _identifier(requirement_or_candidate.name, requirement_or_candidate.extras)

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):
        reqs = [info.requirement for info in information[identifier]]
        direct = any(isinstance(r, Req) and r.url for r in reqs)
        pinned = any(isinstance(r, Req) and r.pinned for r in reqs)
        causes = {info.requirement.name for info in backtrack_causes if isinstance(info.requirement, Req)}
        name = split_identifier(identifier)[0]
        # Cheap and decisive first: Python itself, direct URLs, pins, then what caused backtracking.
        return (identifier != PYTHON, not direct, not pinned, name not in causes, identifier)

    def find_matches(self, identifier, requirements, incompatibilities):
        if identifier == PYTHON:
            specs = [r.specifier for r in requirements[identifier]]
            ok = all(s.contains(Version(self.target.python_full_version), prereleases=True) for s in specs)
            return [self.target.python_full_version] if ok else []
        name, extras = split_identifier(identifier)
        reqs: list[Req] = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        url = next((r.url for r in reqs if r.url), None)
        if url is not None:
            candidates = [self._direct_candidate(name, url)]
        else:
            # An sdist whose build was refused (it needs a compiler) is no candidate: the
            # release is as unavailable here as one with no file at all.
            buildable = [c for c in self.index_candidates(name, reqs) if self.catalog.unbuildable(c) is None]
            candidates = self._without_dead_ends(name, buildable)
        return [c.with_extras(extras) for c in candidates if c.version not in bad]

    def _without_dead_ends(self, name: NormalizedName, candidates: list[Candidate]) -> list[Candidate]:
        """``candidates`` less those known to need something unavailable, within the newest
        major version once one of its releases is such a dead end (see dead_ends)."""
        if not candidates:
            return candidates
        top = major_of(candidates[0].version)
        alive = [c for c in candidates if self.dead_end(c) is None]
        dead_in_top = [v for v in self.dead.by_project.get(name, {}) if major_of(v) == top]
        if dead_in_top:
            alive = [c for c in alive if major_of(c.version) == top]
            # The newest DEAD_STREAK releases of the major version all need what nothing here
            # provides, and none of it is known to do without: the rest are taken to need it
            # too, rather than read one by one (awscli has hundreds of 1.x releases, each
            # needing pyyaml). The error says so and names the pin that would try them.
            if len(dead_in_top) >= DEAD_STREAK and not any(self.dead.known(c) for c in alive):
                alive = []
        return alive

    def dead_end(self, candidate: Candidate, visiting: frozenset[str] = frozenset()) -> DeadEnd | None:
        """The unavailable requirement ``candidate`` needs, directly or through every release of
        a dependency, once that is decided; None while it is not, or when there is none."""
        if self.dead.known(candidate):
            return self.dead.verdict(candidate)
        if candidate.file is None or not self.deps or not self.catalog.has_metadata(candidate):
            return None
        try:
            requires = dependencies_of(self.catalog.metadata(candidate).requires_dist, candidate, self.target)
        except MicropkgError:
            return None  # reported by the resolution if it reads this candidate
        undecided = False
        for req in requires:
            if req.url is not None or (req.name in self.installed and not self.reinstall) or req.name in visiting:
                continue
            dead = self._dead_requirement(candidate, req, visiting | {candidate.name})
            if dead is None:
                undecided = True
            elif isinstance(dead, DeadEnd):
                self.dead.record(candidate, dead)
                return dead
        if not undecided:
            self.dead.record(candidate, None)
        return None

    def _dead_requirement(self, parent: Candidate, req: Req, visiting: frozenset[str]) -> DeadEnd | object | None:
        """Whether ``req`` can be met: a DeadEnd, _ALIVE, or None while undecided."""
        if not self.catalog.has_page(req.name):
            return None
        try:
            _, source = self.catalog.page(req.name)
        except ProjectNotFound:
            return DeadEnd(parent, str(req), req.name, f"no index knows {req.name}")
        except MicropkgError:
            return _ALIVE  # a failed page is the resolution's to report
        key = (req.name, str(req.specifier), req.pinned)
        if key not in self._matching:
            self._matching[key] = self.releases(req.name).select(
                [req.specifier], pinned=req.pinned, pre=self.pre, source=source.source,
            )
        matches = [c for c in self._matching[key] if self.catalog.unbuildable(c) is None]
        if not matches and self._matching[key]:
            refused = self.catalog.unbuildable(self._matching[key][0])
            why = f"its sdist {refused.filename} {refused.reason}" if refused else "its sdists cannot be built"
            return DeadEnd(parent, str(req), req.name,
                           f"{req.name} offers no wheel for this runtime, and {why}, which cannot be built in the browser")
        if not matches:
            if not self._released(req):
                # No release of it fits at all, on any platform: a version conflict for
                # resolvelib and the conflict explanation, not a missing build.
                return _ALIVE
            reason = self.unavailable.reason(req.name, str(req.specifier))
            return DeadEnd(parent, str(req), req.name, reason)
        # Dead through the dependency when every release of it in reach (its newest major,
        # once a dead end is known there) is decided dead: the same blocker, one link longer.
        top = major_of(matches[0].version)
        if not any(major_of(v) == top for v in self.dead.by_project.get(req.name, {})):
            return _ALIVE if any(self.dead.known(c) and self.dead.verdict(c) is None for c in matches) else None
        in_reach = [c for c in matches if major_of(c.version) == top]
        verdicts = [self.dead_end(c, visiting) for c in in_reach]
        if any(v is None for v in verdicts):
            if any(self.dead.known(c) for c, v in zip(in_reach, verdicts) if v is None):
                return _ALIVE
            decided = [v for v in verdicts if v is not None]
            if len(decided) < DEAD_STREAK:
                return None
            # As in _without_dead_ends: the newest DEAD_STREAK dead, none known alive.
        first = next(v for v in verdicts if v is not None)
        return DeadEnd(parent, str(req), first.blocker, f"every {req.name} {_major_text(top)}.x needs it: {first}")

    def _released(self, req: Req) -> bool:
        """Whether any release of ``req``'s project fits its specifier, whatever its files' tags;
        a project with no release at all counts (it is unavailable, not in conflict)."""
        page, _ = self.catalog.page(req.name)
        versions = [v.version for v in judge_files(page, self.target, sdists=self.sdists) if v.version is not None]
        return not versions or any(req.specifier.contains(v, prereleases=True) for v in versions)

    def _direct_candidate(self, name: NormalizedName, url: str) -> Candidate:
        from packaging.utils import parse_wheel_filename

        filename = filename_of(url)
        _, version, _, _ = parse_wheel_filename(filename)
        # "#sha256=<hex>" on a direct URL is the hash its bytes must have (checked on read).
        algorithm, _, digest = url.partition("#")[2].partition("=")
        hashes = {algorithm.lower(): digest.lower()} if algorithm and digest else {}
        return Candidate(name, version, DistFile(filename=filename, url=url, hashes=hashes), DirectSource(url))

    def index_candidates(self, name: NormalizedName, reqs: Sequence[Req]) -> list[Candidate]:
        """What the sources offer for ``reqs`` (or the installed copy), before dead ends and refused builds."""
        specs = [r.specifier for r in reqs] + [c.specifier for c in self.constraints.get(name, ())]
        pinned = any(r.pinned for r in reqs) or any(c.pinned for c in self.constraints.get(name, ()))
        installed = self.installed.get(name)
        if installed is not None and not self.reinstall:
            # What the runtime has stays: its modules may be imported already, and
            # replacing them under a running program is what reinstall=True is for.
            if all(s.contains(installed, prereleases=True) for s in specs):
                return [Candidate(name, installed, None, INSTALLED)]
            return []
        _, index = self.catalog.page(name)
        return self.releases(name).select(specs, pinned=pinned, pre=self.pre, source=index.source)

    def _usable_versions(self, name: NormalizedName) -> list[Version]:
        _, source = self.catalog.page(name)
        return [c.version for c in self.releases(name).select(pre=True, source=source.source)]

    def releases(self, name: NormalizedName) -> Releases:
        # Judging and sorting every file of a project with thousands of releases
        # is costly and its answer never changes within one resolution: once per project.
        if name not in self._releases:
            page, _ = self.catalog.page(name)
            verdicts = self.catalog.ranked(judge_files(page, self.target, usable_only=True, sdists=self.sdists))
            self._releases[name] = Releases(name, verdicts, sources=self.catalog.sources)
        return self._releases[name]

    def is_satisfied_by(self, requirement, candidate) -> bool:
        if isinstance(candidate, str):
            return requirement.specifier.contains(Version(candidate), prereleases=True)
        if requirement.url:
            return candidate.file is not None and candidate.file.url == requirement.url
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate):
        if isinstance(candidate, str):
            return []
        deps: list = []
        if candidate.extras:
            # name[extra] stands for name at the same version plus the extra's requirements.
            direct = isinstance(candidate.source, DirectSource)
            pin = SpecifierSet(f"=={candidate.version}")
            deps.append(Req(candidate.name, pin, parent=candidate, url=candidate.source.url if direct else None))
        if not self.deps:
            return deps
        meta = self.catalog.metadata(candidate)
        if meta.requires_python is not None and not candidate.extras:
            deps.append(Req(NormalizedName(PYTHON), meta.requires_python, parent=candidate,
                            text=f"Requires-Python {meta.requires_python}"))
        deps.extend(dependencies_of(meta.requires_dist, candidate, self.target))
        for dep in deps:
            self.log.add(candidate, dep)
        return deps


def dependencies_of(requires: Iterable[Requirement], candidate: Candidate, target: Target) -> list[Req]:
    """The Requires-Dist entries that apply on ``target`` for ``candidate`` (and its extras).

    Raises :class:`~micropkg.ResolutionError` naming the candidate for a marker
    that cannot be evaluated here.
    """
    out = []
    for req in requires:
        try:
            if candidate.extras:
                # Only what the extras add: the base dependencies come through name==version.
                if req.marker is None or target.marker_ok(req.marker, ""):
                    continue
                if not any(target.marker_ok(req.marker, e) for e in candidate.extras):
                    continue
            elif not target.marker_ok(req.marker, ""):
                continue
        except UnevaluableMarker as exc:
            raise exc.in_dependency(candidate.name, candidate.version, req, installed=candidate.installed) from exc
        out.append(Req.from_requirement(req, parent=candidate))
    return out

"""Backtracking resolution on resolvelib, fed by an asynchronous catalog.

The provider teaches resolvelib about Python packaging: identifiers are
canonical names (``name[extra,...]`` for a request with extras, which depends
on the plain ``name`` at the same version, so extras stay scoped to the
requirement that asked for them); Requires-Python is a dependency on the
virtual project ``<python>``.

The driver (:func:`resolve`) bridges sync and async without JSPI:

1. walk the request greedily, fetching each requirement's page and its best
   candidate's metadata as soon as the parent's metadata is known, all
   concurrently -- this pre-loads the common case in about two round trips per
   level of dependency depth;
2. run resolvelib over what is known; if it needs more (a backtrack to an
   older release), it raises :class:`~micropkg.resolution.catalog.Missing`;
3. fetch what was missing -- for a walk-back, the metadata of the next several
   releases at once -- and run resolvelib again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import resolvelib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ..errors import MicropkgError, ResolutionError
from ..model.candidates import Candidate, Releases, judge_files
from ..model.location import filename_of
from ..model.plan import Kept, Pin, Plan, ResolutionStats
from ..model.simple import DistFile
from ..model.sources import INSTALLED, DirectSource
from ..model.target import Target
from .catalog import Catalog, Missing
from .conflicts import EdgeLog, explain

__all__ = ["Req", "resolve"]

PYTHON = "<python>"
# How many older releases' metadata to fetch at once when walking back
# (the first batch; it doubles per further walk-back of the same project).
WALK_BACK_BATCH = 16
WALK_BACK_LIMIT = 256


@dataclass(frozen=True)
class Req:
    """A requirement as the resolver sees it, with who asked for it."""

    name: NormalizedName
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    url: str | None = None
    parent: Candidate | None = None  # None: the user asked
    text: str = ""

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


def _split(identifier: str) -> tuple[NormalizedName, frozenset[str]]:
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
        self.constraints = constraints
        self.installed = installed
        self.pre = pre
        self.reinstall = reinstall
        self.deps = deps
        self.log = EdgeLog(installed={n: str(v) for n, v in installed.items()} if not reinstall else {})
        self._releases: dict[NormalizedName, Releases] = {}
        self.walk_backs: dict[NormalizedName, int] = {}

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
        name = _split(identifier)[0]
        # Cheap and decisive first: Python itself, direct URLs, pins, then what caused backtracking.
        return (identifier != PYTHON, not direct, not pinned, name not in causes, identifier)

    def find_matches(self, identifier, requirements, incompatibilities):
        if identifier == PYTHON:
            specs = [r.specifier for r in requirements[identifier]]
            ok = all(s.contains(Version(self.target.python_full_version), prereleases=True) for s in specs)
            return [self.target.python_full_version] if ok else []
        name, extras = _split(identifier)
        reqs: list[Req] = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        url = next((r.url for r in reqs if r.url), None)
        if url is not None:
            candidates = [self._direct_candidate(name, url)]
        else:
            candidates = self._index_candidates(name, reqs)
        return [c.with_extras(extras) for c in candidates if c.version not in bad]

    def _direct_candidate(self, name: NormalizedName, url: str) -> Candidate:
        from packaging.utils import parse_wheel_filename

        filename = filename_of(url)
        _, version, _, _ = parse_wheel_filename(filename)
        # "#sha256=<hex>" on a direct URL is the hash its bytes must have (checked on read).
        algorithm, _, digest = url.partition("#")[2].partition("=")
        hashes = {algorithm.lower(): digest.lower()} if algorithm and digest else {}
        return Candidate(name, version, DistFile(filename=filename, url=url, hashes=hashes), DirectSource(url))

    def _index_candidates(self, name: NormalizedName, reqs: Sequence[Req]) -> list[Candidate]:
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

    def releases(self, name: NormalizedName) -> Releases:
        # Judging and sorting every file of a project with thousands of releases
        # is costly and its answer never changes within one resolution: once per project.
        if name not in self._releases:
            page, _ = self.catalog.page(name)
            verdicts = self.catalog.ranked(judge_files(page, self.target, usable_only=True))
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
    """The Requires-Dist entries that apply on ``target`` for ``candidate`` (and its extras)."""
    out = []
    for req in requires:
        if candidate.extras:
            # Only what the extras add: the base dependencies come through name==version.
            if req.marker is None or target.marker_ok(req.marker, ""):
                continue
            if not any(target.marker_ok(req.marker, e) for e in candidate.extras):
                continue
        elif not target.marker_ok(req.marker, ""):
            continue
        out.append(Req.from_requirement(req, parent=candidate))
    return out


async def _prefetch(catalog: Catalog, provider: Provider, roots: Sequence[Req]) -> None:
    """Greedy concurrent walk: each requirement's page, then its best candidate's metadata."""
    seen: set[tuple[str, str, str | None]] = set()
    picked: dict[NormalizedName, Version] = {}  # the walk's choice per project, for speculation

    async def walk(req: Req) -> None:
        key = (req.identifier, str(req.specifier), req.url)
        if key in seen or req.name == PYTHON:
            return
        seen.add(key)
        if req.url is not None:
            candidate = provider._direct_candidate(req.name, req.url)
        else:
            await catalog.fetch_page(req.name)
            try:
                matches = provider._index_candidates(req.name, [req])
            except MicropkgError:
                return  # recorded in the catalog; the resolver reports it with context
            if not matches:
                return
            candidate = matches[0]
        if candidate.installed or not provider.deps:
            return
        # The pick's wheel starts downloading beside its metadata, not after it: the
        # walk's pick is nearly always the final one, and this takes the last round
        # trip off the critical path (a lone package: page, then metadata and wheel
        # together). Two walks that chose different versions of a project mean the
        # pick is in doubt: only while the walk agrees with itself.
        if picked.setdefault(candidate.name, candidate.version) == candidate.version:
            catalog.speculate(candidate)
        await catalog.fetch_metadata(candidate)
        try:
            meta = catalog.metadata(candidate)
        except MicropkgError:
            return
        children = dependencies_of(meta.requires_dist, candidate.with_extras(req.extras), provider.target)
        if req.extras:
            children += dependencies_of(meta.requires_dist, candidate, provider.target)
        await asyncio.gather(*(walk(child) for child in children))

    await asyncio.gather(*(walk(r) for r in roots))


async def _fetch_missing(catalog: Catalog, provider: Provider, missing: Missing) -> None:
    tasks = [catalog.fetch_page(name) for name in missing.pages]
    for candidate in missing.files:
        tasks.append(catalog.fetch_metadata(candidate))
        # A walk-back rarely stops at the next release: fetch a batch of older
        # ones too, doubling each time the same project needs more, so walking
        # back through N releases costs about log2(N) round trips, not N.
        try:
            _, index = catalog.page(candidate.name)
        except (Missing, MicropkgError):
            continue
        rounds = provider.walk_backs.get(candidate.name, 0)
        provider.walk_backs[candidate.name] = rounds + 1
        batch = min(WALK_BACK_BATCH << rounds, WALK_BACK_LIMIT)
        older = [c for c in provider.releases(candidate.name).select(pre=True, source=index.source)
                 if c.version < candidate.version and not catalog.has_metadata(c)]
        tasks.extend(catalog.fetch_metadata(c) for c in older[:batch])
    await asyncio.gather(*tasks)


async def resolve(
    requirements: Sequence[Requirement],
    catalog: Catalog,
    target: Target,
    *,
    constraints: Sequence[Requirement] = (),
    installed: Mapping[NormalizedName, Version] | None = None,
    pre: bool = False,
    reinstall: bool = False,
    deps: bool = True,
    keep_going: bool = False,
    max_rounds: int = 2000,
) -> Plan:
    """Resolve ``requirements`` for ``target``; the plan lists every pin and who required it."""
    roots = [Req.from_requirement(r) for r in requirements]
    constraint_map: dict[NormalizedName, list[Req]] = {}
    for c in constraints:
        constraint_map.setdefault(canonicalize_name(c.name), []).append(Req.from_requirement(c))
    provider = Provider(
        catalog, target, constraints=constraint_map, installed=installed or {},
        pre=pre, reinstall=reinstall, deps=deps,
    )
    for root in roots:
        provider.log.add(None, root)
    await _prefetch(catalog, provider, roots)
    resolver = resolvelib.Resolver(provider, resolvelib.BaseReporter())
    attempts, cpu = 0, 0.0
    while True:
        attempts += 1
        started = time.perf_counter()
        try:
            result = resolver.resolve(roots, max_rounds=max_rounds)
            cpu += time.perf_counter() - started
            break
        except Missing as missing:
            cpu += time.perf_counter() - started
            await _fetch_missing(catalog, provider, missing)
        except resolvelib.ResolutionImpossible as exc:
            error = explain(exc.causes, catalog, target, provider.log)
            raise _with_others(error, roots, provider) if keep_going else error from None
        except resolvelib.ResolutionTooDeep as exc:
            raise ResolutionError(
                f"Resolution gave up after {max_rounds} rounds of backtracking. "
                "Pin some of the projects involved to narrow the search."
            ) from exc
        except MicropkgError as error:
            if not keep_going:
                raise
            raise _with_others(error, roots, provider) from None
    plan = _to_plan(result, catalog)
    plan.stats = ResolutionStats(attempts=attempts, resolver_seconds=cpu, requests=catalog.requests)
    return plan


def _with_others(first: MicropkgError, roots: Sequence[Req], provider: Provider) -> MicropkgError:
    """keep_going=True: also report every other requirement of the request that cannot be met alone."""
    errors: list[MicropkgError] = [first]
    for root in roots:
        if root.url is not None:
            continue
        try:
            if not provider._index_candidates(root.name, [root]):
                raise explain([_Info(root, None)], provider.catalog, provider.target, provider.log)
        except (MicropkgError, Missing) as exc:
            if isinstance(exc, MicropkgError) and str(exc) not in {str(e) for e in errors}:
                errors.append(exc)
    if len(errors) == 1:
        return first
    text = "\n".join(f"{i}. {e}" for i, e in enumerate(errors, 1))
    return ResolutionError(f"{len(errors)} problems with the request:\n{text}", causes=tuple(errors))


@dataclass(frozen=True)
class _Info:
    # The shape of resolvelib's RequirementInformation, for single-requirement checks.
    requirement: Req
    parent: Candidate | None


def _to_plan(result, catalog: Catalog) -> Plan:
    pins = []
    for identifier, candidate in result.mapping.items():
        if identifier == PYTHON or _split(identifier)[1]:
            continue  # <python> and name[extra] entries are views of other pins
        parents = []
        for parent_id in result.graph.iter_parents(identifier):
            if parent_id is None:
                parents.append("the request")
            else:
                base = _split(parent_id)[0]
                parent = result.mapping[parent_id]
                if base != identifier:
                    parents.append(f"{base} {parent.version}")
        required_by = tuple(sorted(set(parents)))
        if candidate.installed:
            pins.append(Kept(candidate.name, candidate.version, candidate, required_by))
            continue
        # The metadata the resolution used travels with the pin: the installer checks the
        # wheel against it without asking the resolver (the distribution's builds have none).
        known = catalog.has_metadata(candidate) and not catalog.from_distribution(candidate)
        used = catalog.metadata(candidate) if known else None
        pins.append(Pin(candidate.name, candidate.version, candidate, required_by, used))
    pins.sort(key=lambda p: p.name)
    return Plan(pins)


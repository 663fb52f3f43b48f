"""Backtracking resolution on resolvelib, fed by an asynchronous catalog.

The provider teaches resolvelib about Python packaging: identifiers are
canonical names (``name[extra,...]`` for a request with extras, which depends
on the plain ``name`` at the same version, so extras stay scoped to the
requirement that asked for them); Requires-Python is a dependency on the
virtual project ``<python>``.

The driver (:func:`resolve`) bridges sync and async without JSPI (the
provider is in :mod:`micropkg.resolution.provider`):

1. walk the request greedily, fetching each requirement's page and its best
   candidate's metadata as soon as the parent's metadata is known, all
   concurrently -- this pre-loads the common case in about two round trips per
   level of dependency depth;
2. run resolvelib over what is known; if it needs more (a backtrack to an
   older release), it raises :class:`~micropkg.resolution.catalog.Missing`;
3. fetch what was missing -- for a walk-back, the metadata of the next several
   releases at once, and the pages of what they depend on -- and run resolvelib
   again. A rerun replays resolvelib's earlier steps, but cheaply: every
   candidate found to be a dead end (it needs something nothing here provides)
   is no longer offered, so the replay does not backtrack through it again.

The search is bounded: by ``budget`` seconds of wall time and ``max_rounds``
of resolvelib; when either runs out, :class:`~micropkg.ResolutionTooLong`
names the projects being walked back, the blockers found, and a pin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import resolvelib
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ..errors import CannotBuild, MicropkgError, ResolutionError, ResolutionTooLong, UnavailableDependency
from ..model.candidates import Candidate
from ..model.plan import Kept, Pin, Plan, ResolutionStats, WalkBack
from ..model.target import Target
from ..reporter import since_call
from ..value import Value
from .catalog import Catalog, Missing
from .conflicts import explain
from .dead_ends import major_of
from .provider import DEAD_STREAK, PYTHON, Provider, Req, dependencies_of, split_identifier

__all__ = ["Req", "resolve"]
# How many older releases' metadata to fetch at once when walking back
# (the first batch; it doubles per further walk-back of the same project).
WALK_BACK_BATCH = 16
WALK_BACK_LIMIT = 256


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
                matches = provider.index_candidates(req.name, [req])
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
            children = dependencies_of(meta.requires_dist, candidate.with_extras(req.extras), provider.target)
            if req.extras:
                children += dependencies_of(meta.requires_dist, candidate, provider.target)
        except MicropkgError:
            return  # reported by the resolution if it picks this candidate
        await asyncio.gather(*(walk(child) for child in children))

    await asyncio.gather(*(walk(r) for r in roots))


async def _fetch_missing(catalog: Catalog, provider: Provider, missing: Missing) -> None:
    tasks = [catalog.fetch_page(name) for name in missing.pages]
    batch_of: list[Candidate] = list(missing.files)
    for candidate in missing.files:
        tasks.append(catalog.fetch_metadata(candidate))
        # A walk-back rarely stops at the next release: fetch a batch of older
        # ones too, doubling each time the same project needs more, so walking
        # back through N releases costs about log2(N) round trips, not N. Only
        # within the candidate's major version when a dead end is known there:
        # the provider never crosses that boundary (see dead_ends).
        try:
            _, index = catalog.page(candidate.name)
        except (Missing, MicropkgError):
            continue
        rounds = provider.walk_backs.get(candidate.name, 0)
        provider.walk_backs[candidate.name] = rounds + 1
        batch = min(WALK_BACK_BATCH << rounds, WALK_BACK_LIMIT)
        bounded = candidate.name in provider.dead.by_project
        older = [
            c for c in provider.releases(candidate.name).select(pre=True, source=index.source)
            if c.version < candidate.version and not catalog.has_metadata(c)
            and not (bounded and major_of(c.version) != major_of(candidate.version))
        ]
        batch_of.extend(older[:batch])
        tasks.extend(catalog.fetch_metadata(c) for c in older[:batch])
    await asyncio.gather(*tasks)
    # The pages of what those releases depend on, in the same round: with them the
    # provider can tell a dead end at once, instead of one backtrack per release.
    pages: set[str] = set()
    for candidate in batch_of:
        try:
            requires = dependencies_of(catalog.metadata(candidate).requires_dist, candidate, provider.target)
        except (Missing, MicropkgError):
            continue
        pages.update(r.name for r in requires if r.url is None and not catalog.has_page(r.name))
    await asyncio.gather(*(catalog.fetch_page(name) for name in pages))


class _Counting(resolvelib.BaseReporter):
    """Counts resolvelib's rejections per project: what the search was walking back."""

    def __init__(self) -> None:
        self.rejected: dict[str, int] = {}

    def rejecting_candidate(self, criterion, candidate) -> None:
        name = getattr(candidate, "name", None)
        if name is not None:
            self.rejected[name] = self.rejected.get(name, 0) + 1


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
    budget: float = 20.0,
) -> Plan:
    """Resolve ``requirements`` for ``target``; the plan lists every pin and who required it."""
    started = time.monotonic()
    # The user's markers are evaluated for the runtime: 'x; sys_platform == "win32"' is not for it.
    meant = [target.applies(r) for r in requirements]
    ignored = [r for r, applies in zip(requirements, meant) if not applies]
    roots = [Req.from_requirement(r) for r, applies in zip(requirements, meant) if applies]
    constraint_map: dict[NormalizedName, list[Req]] = {}
    for c in constraints:
        if not target.applies(c):
            continue
        constraint_map.setdefault(canonicalize_name(c.name), []).append(Req.from_requirement(c))
    provider = Provider(
        catalog, target, constraints=constraint_map, installed=installed or {},
        pre=pre, reinstall=reinstall, deps=deps,
    )
    for root in roots:
        provider.log.add(None, root)
    phases = [("waiting", since_call())]
    await _prefetch(catalog, provider, roots)
    reporter = _Counting()
    resolver = resolvelib.Resolver(provider, reporter)
    rounds: list[float] = []
    while True:
        phases.append(("resolving", since_call()))
        begun = time.perf_counter()
        try:
            result = resolver.resolve(roots, max_rounds=max_rounds)
            rounds.append(time.perf_counter() - begun)
            break
        except Missing as missing:
            rounds.append(time.perf_counter() - begun)
            if time.monotonic() - started > budget:
                raise _too_long(provider, reporter, f"its {budget:g} s budget") from None
            phases.append(("waiting", since_call()))
            await _fetch_missing(catalog, provider, missing)
        except resolvelib.ResolutionImpossible as exc:
            error = (_unavailable(provider, exc.causes) or _unbuildable(provider, exc.causes)
                     or explain(exc.causes, catalog, target, provider.log))
            raise _with_others(error, roots, provider) if keep_going else error from None
        except resolvelib.ResolutionTooDeep:
            raise _too_long(provider, reporter, f"{max_rounds} rounds of backtracking") from None
        except MicropkgError as error:
            if not keep_going:
                raise
            raise _with_others(error, roots, provider) from None
    plan = _to_plan(result, catalog)
    plan.walked_back = _walked_back(plan, provider, roots)
    plan.ignored = ignored
    plan.stats = ResolutionStats(
        attempts=len(rounds), resolver_seconds=sum(rounds), requests=catalog.requests, round_seconds=tuple(rounds),
        received=catalog.received, phases=(*phases, ("resolved", since_call())),
    )
    return plan


def _unbuildable(provider: Provider, causes) -> CannotBuild | None:
    """The build's own refusal, when a requirement failed because every release in its reach is
    an sdist that cannot be built here (it needs a compiler): it says why, which "no version
    satisfies" would not."""
    for info in causes:
        req = info.requirement
        if not isinstance(req, Req):
            continue
        try:
            candidates = provider.index_candidates(req.name, [req])
        except (Missing, MicropkgError):
            continue
        refusals = [provider.catalog.unbuildable(c) for c in candidates]
        if candidates and all(refusals):
            return refusals[0]
    return None


def _unavailable(provider: Provider, causes) -> UnavailableDependency | None:
    """The error for a resolution that failed because releases of a project it needs were cut
    off at a dead end (see dead_ends), if it did; None for any other failure."""
    names = [info.requirement.name for info in causes if isinstance(info.requirement, Req)]
    cut = [provider.dead.by_project[n] for n in dict.fromkeys(names) if n in provider.dead.by_project]
    if not cut:
        return None
    dead = cut[0][max(cut[0])]
    blockers = [d for d in provider.dead.blockers() if d.blocker != dead.blocker]
    name, version = dead.candidate.name, dead.candidate.version
    newer_majors = sorted({major_of(v) for v in provider.dead.by_project[name]}, reverse=True)
    boundary = ".".join(map(str, newer_majors[-1]))
    others = ", ".join(f"{d.blocker} (needed by {d.candidate.name} {d.candidate.version})" for d in blockers)
    also = f" Other unavailable dependencies found: {others}." if others else ""
    if _older_major_exists(provider, name, newer_majors[-1]):
        way_out = (f"Install {dead.blocker} another way first, or accept an older {name} by pinning it"
                   f" (e.g. '{name}<{boundary}') if one of those does without {dead.blocker}.")
    else:  # a pin would name nothing
        way_out = f"Install {dead.blocker} another way first: no older release of {name} has a file for this runtime."
    read = sum(1 for v in provider.dead.by_project[name] if major_of(v) == newer_majors[-1])
    every = (f"Every release of {name} {boundary}.x that fits the request needs it too" if read < DEAD_STREAK else
             f"So do the {read} newest releases of {name} {boundary}.x that fit the request, and micropkg takes the"
             f" older ones of {boundary}.x to need it as well (pin one to try it, e.g. '{name}<{min(provider.dead.by_project[name])}')")
    return UnavailableDependency(
        f"Cannot install {name} {version} ({provider.log.chain(dead.candidate)}): it needs {dead.requirement},"
        f" and {dead.reason}. {every}, and"
        f" micropkg does not walk {name} back to an older major version on its own. {way_out}{also}",
        project=name,
        blocker=dead.blocker,
    )


def _older_major_exists(provider: Provider, name: NormalizedName, boundary: tuple[int, ...]) -> bool:
    try:
        _, source = provider.catalog.page(name)
    except (Missing, MicropkgError):
        return False
    return any(major_of(c.version) < boundary for c in provider.releases(name).select(pre=True, source=source.source))


def _too_long(provider: Provider, reporter: _Counting, what: str) -> ResolutionTooLong:
    walked = sorted(set(provider.walk_backs) | set(reporter.rejected),
                    key=lambda n: -(provider.walk_backs.get(NormalizedName(n), 0) + reporter.rejected.get(n, 0)))[:5]
    blockers = provider.dead.blockers()
    blocked = "; ".join(str(d) for d in blockers[:3])
    because = f" Dependencies nothing here provides: {blocked}." if blocked else ""
    pins = ", ".join(f"'{n}=={_newest_tried(provider, n)}'" for n in walked if _newest_tried(provider, n))
    hint = f" Pin the versions you want (e.g. {pins}) to decide it." if pins else " Pin some of the projects involved."
    return ResolutionTooLong(
        f"Resolution gave up after {what}, while walking back {', '.join(walked) or 'no project'}.{because}{hint}",
        projects=tuple(walked),
    )


def _newest_tried(provider: Provider, name: str) -> Version | None:
    versions = [v for v in provider.dead.by_project.get(NormalizedName(name), {})]
    return max(versions) if versions else None


def _walked_back(plan: Plan, provider: Provider, roots: Sequence[Req]) -> list[WalkBack]:
    """Requested projects that end older than the newest release the request allows."""
    chosen = {pin.name: pin.version for pin in plan.pins}
    notices = []
    for root in roots:
        if root.url is not None or root.name not in chosen or root.name in provider.installed:
            continue
        try:
            newest = provider.index_candidates(root.name, [root])
        except (Missing, MicropkgError):
            continue
        # Releases with a wheel come first, sdist-only ones after (prefer-binary): the newest is the max.
        top = max((c.version for c in newest), default=None)
        if top is None or top <= chosen[root.name]:
            continue
        dead = [d for v, d in provider.dead.by_project.get(root.name, {}).items() if v > chosen[root.name]]
        blockers = provider.dead.blockers()
        sdist_only = [c.version for c in newest if c.version > chosen[root.name] and c.file and not c.file.is_wheel]
        if sdist_only and not dead:
            reason = (f"newer releases ({', '.join(map(str, sdist_only[:3]))}) publish only an sdist, and micropkg"
                      f" prefers a release with a wheel to building one in the browser; pin"
                      f" '{root.name}=={sdist_only[0]}' to build it from source")
        elif dead:
            reason = f"newer releases need {dead[0].requirement}, and {dead[0].reason}"
        elif blockers:
            reason = f"newer releases depend on what cannot be installed here: {blockers[0]}"
        else:
            reason = "newer releases conflict with other requirements of the request"
        notices.append(WalkBack(root.name, chosen[root.name], top, reason))
    return notices


def _with_others(first: MicropkgError, roots: Sequence[Req], provider: Provider) -> MicropkgError:
    """keep_going=True: also report every other requirement of the request that cannot be met alone."""
    errors: list[MicropkgError] = [first]
    for root in roots:
        if root.url is not None:
            continue
        try:
            if not provider.index_candidates(root.name, [root]):
                raise explain([_Info(root, None)], provider.catalog, provider.target, provider.log)
        except (MicropkgError, Missing) as exc:
            if isinstance(exc, MicropkgError) and str(exc) not in {str(e) for e in errors}:
                errors.append(exc)
    if len(errors) == 1:
        return first
    text = "\n".join(f"{i}. {e}" for i, e in enumerate(errors, 1))
    return ResolutionError(f"{len(errors)} problems with the request:\n{text}", causes=tuple(errors))


class _Info(Value):
    # The shape of resolvelib's RequirementInformation, for single-requirement checks.
    # Immutable by convention.
    __slots__ = ("requirement", "parent")

    def __init__(self, requirement: Req, parent: Candidate | None) -> None:
        self.requirement = requirement
        self.parent = parent


def _to_plan(result, catalog: Catalog) -> Plan:
    pins: list[Pin | Kept] = []
    for identifier, candidate in result.mapping.items():
        if identifier == PYTHON or split_identifier(identifier)[1]:
            continue  # <python> and name[extra] entries are views of other pins
        parents = []
        for parent_id in result.graph.iter_parents(identifier):
            if parent_id is None:
                parents.append("the request")
            else:
                base = split_identifier(parent_id)[0]
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


"""Which files of a project can be installed on a target, and why the others cannot.

Every file on a project page gets a :class:`Verdict`: usable (with its tag
rank) or refused with a reason a person can read. The resolver uses the usable
ones, best first; error messages and ``explain`` use the refused ones.

Source distributions are usable only when the caller can build them
(``sdists=True``: the session wires a builder, and ``only_binary`` is off).
Wheels stay preferred, as with pip's ``--prefer-binary``: a release with a
usable wheel beats every release that has only an sdist, however new, and an
sdist is taken only for a release without a usable wheel (or when a pin names
such a release). Building in a browser is slow (its build requirements are
downloaded and the backend runs in the page's one thread), it runs the
project's own code, and it can fail late, after the resolution; a wheel has
none of these costs.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..value import Value
from .simple import DistFile, ProjectPage
from .sources import Source
from .target import Target

if TYPE_CHECKING:  # specifiers load with the first requires-python judged, not with Candidate (a lock's)
    from packaging.specifiers import SpecifierSet
    from packaging.tags import Tag

__all__ = [
    "SDIST_RANK",
    "Candidate",
    "Releases",
    "Verdict",
    "describe_files",
    "judge_file",
    "judge_files",
]


class Candidate(Value):
    """One installable version of a project: the file chosen for it, or what is installed.
    Immutable by convention."""

    __slots__ = ("name", "version", "file", "source", "extras")

    def __init__(
        self, name: NormalizedName, version: Version, file: DistFile | None, source: Source, extras: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.version = version
        self.file = file  # None: the distribution already installed in the runtime
        self.source = source
        self.extras = extras

    @property
    def installed(self) -> bool:
        return self.file is None

    def with_extras(self, extras: frozenset[str]) -> Candidate:
        return Candidate(self.name, self.version, self.file, self.source, extras)

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras} {self.version}"


class Verdict(Value):
    """What a file is worth on a target: its version and tags, and its rank or why it is refused.
    Immutable by convention."""

    __slots__ = ("file", "version", "tags", "rank", "refused")

    def __init__(self, file: DistFile, version: Version | None, tags: frozenset[Tag], rank: int | None, refused: str | None) -> None:
        self.file = file
        self.version = version
        self.tags = tags
        self.rank = rank  # tag rank on the target, when usable
        self.refused = refused  # why the file cannot be installed here, None if it can

    @property
    def usable_version(self) -> Version:
        """The version of a usable file (every usable file has one)."""
        if self.version is None or self.rank is None:
            raise TypeError(f"{self.file.filename} is not usable here: {self.refused}")
        return self.version

    @property
    def usable_rank(self) -> int:
        if self.rank is None:
            raise TypeError(f"{self.file.filename} is not usable here: {self.refused}")
        return self.rank


# An sdist's rank: after every wheel tag of the same release (lower ranks are better).
SDIST_RANK = 1 << 30
# The archive kinds micropkg can unpack (PEP 625 names .tar.gz; older sdists are .zip).
SDIST_SUFFIXES = (".tar.gz", ".zip")


def judge_file(file: DistFile, name: NormalizedName, target: Target, *, sdists: bool = False) -> Verdict:
    if file.filename.endswith(".whl"):
        try:
            wheel_name, version, _, tags = parse_wheel_filename(file.filename)
        except InvalidWheelFilename as exc:
            return Verdict(file, None, frozenset(), None, f"invalid wheel filename ({exc})")
        if wheel_name != name:
            return Verdict(file, version, tags, None, f"the wheel is for project {wheel_name!r}")
        rank = target.tag_rank(tags)
        if rank is None:
            return Verdict(file, version, tags, None, f"tags {_tag_text(tags)} do not fit {target.describe()}")
        if file.requires_python:
            from packaging.specifiers import InvalidSpecifier  # loaded by python_ok in any case

            try:
                python_ok = target.python_ok(file.requires_python)
            except InvalidSpecifier:
                return Verdict(file, version, tags, None, f"invalid requires-python {file.requires_python!r}")
            if not python_ok:
                return Verdict(
                    file, version, tags, None,
                    f"requires-python {file.requires_python!r} excludes Python {target.python_full_version}",
                )
        return Verdict(file, version, tags, rank, None)
    try:
        sdist_name, sdist_version = parse_sdist_filename(file.filename)
    except InvalidSdistFilename:
        # .tar.bz2, .egg, .exe...: packaging (and PEP 625) know only .tar.gz and .zip
        return Verdict(file, None, frozenset(), None, "not an sdist micropkg can build (only .tar.gz and .zip)")
    if not sdists:
        return Verdict(file, sdist_version, frozenset(), None, "a source distribution, not built with only_binary")
    if sdist_name != name:
        return Verdict(file, sdist_version, frozenset(), None, f"the sdist is for project {sdist_name!r}")
    if not file.filename.lower().endswith(SDIST_SUFFIXES):
        return Verdict(file, sdist_version, frozenset(), None, "an sdist in an archive format micropkg does not unpack")
    if file.requires_python:
        from packaging.specifiers import InvalidSpecifier

        try:
            if not target.python_ok(file.requires_python):
                return Verdict(
                    file, sdist_version, frozenset(), None,
                    f"requires-python {file.requires_python!r} excludes Python {target.python_full_version}",
                )
        except InvalidSpecifier:
            return Verdict(file, sdist_version, frozenset(), None, f"invalid requires-python {file.requires_python!r}")
    return Verdict(file, sdist_version, frozenset(), SDIST_RANK, None)


def judge_files(
    page: ProjectPage, target: Target, *, usable_only: bool = False, sdists: bool = False,
) -> list[Verdict]:
    """A verdict per file; with ``usable_only``, files that plainly cannot be used are left out.

    The resolver wants only the usable ones, and parsing every name on a page of
    ~15,000 files (pydantic-core) costs a second in Pyodide; explanations want all.
    ``sdists``: source distributions are usable (see the module docstring).
    """
    name = NormalizedName(page.name)
    if usable_only:
        files = [f for f in page.wheels_for(target.platforms) if target.may_fit(f.filename)]
        if sdists:
            files += page.files_ending(SDIST_SUFFIXES)
        return [v for v in (judge_file(f, name, target, sdists=sdists) for f in files) if v.refused is None]
    return [judge_file(f, name, target, sdists=sdists) for f in page.files]


class Releases:
    """The usable releases of one project on one target, sorted for fast selection.

    A resolver asks "which versions satisfy these specifiers?" thousands of
    times for projects with thousands of releases (botocore has ~2000).
    Checking every version against every specifier is what made that slow, so
    each specifier first narrows a window by bisection over the sorted public
    versions; only the versions inside the window get the exact PEP 440 check.
    """

    def __init__(
        self, name: NormalizedName, verdicts: Iterable[Verdict], *, sources: Mapping[str, Source] | None = None
    ) -> None:
        self.name = name
        # File URL -> the source (index or distribution) that listed it, when the
        # page merges several; a file not in it comes from select()'s ``source``.
        self._sources = sources or {}
        best: dict[Version, Verdict] = {}  # best file per version, yanked or not
        best_unyanked: dict[Version, Verdict] = {}
        self._usable = [v for v in verdicts if v.refused is None and v.version is not None and v.rank is not None]
        for verdict in self._usable:
            for table in (best, best_unyanked) if verdict.file.yanked is None else (best,):
                current = table.get(verdict.usable_version)
                if current is None or verdict.usable_rank < current.usable_rank:
                    table[verdict.usable_version] = verdict
        self._versions = sorted(best)  # ascending
        # Local labels are ignored by ==, <=, >= of a public version: bisect on public keys.
        self._keys = [Version(v.public) if v.local else v for v in self._versions]
        self._best = best
        self._best_unyanked = best_unyanked

    def _window(self, specifiers: Sequence[SpecifierSet]) -> tuple[int, int]:
        lo, hi = 0, len(self._versions)
        for spec_set in specifiers:
            for spec in spec_set:
                op, text = spec.operator, spec.version
                if op == "===" or text.endswith(".*"):
                    continue  # arbitrary equality and prefix matches: no narrowing
                try:
                    bound = Version(text)
                except InvalidVersion:
                    continue
                if bound.local:
                    continue  # keys are public versions: a local bound cannot be placed among them
                if op in (">=", "~="):
                    lo = max(lo, bisect.bisect_left(self._keys, bound))
                elif op == ">":
                    lo = max(lo, bisect.bisect_right(self._keys, bound))
                elif op == "<":
                    hi = min(hi, bisect.bisect_left(self._keys, bound))
                elif op == "<=":
                    hi = min(hi, bisect.bisect_right(self._keys, bound))
                elif op == "==":
                    lo = max(lo, bisect.bisect_left(self._keys, bound))
                    hi = min(hi, bisect.bisect_right(self._keys, bound))
        return lo, hi

    def select(
        self,
        specifiers: Sequence[SpecifierSet] = (),
        *,
        pinned: bool = False,
        pre: bool = False,
        source: Source,
    ) -> list[Candidate]:
        """Candidates satisfying every specifier, best first (newest version, then best tag).

        Releases with a usable wheel come first, newest first, then the releases
        that have only an sdist, newest first (pip's ``--prefer-binary``; see
        the module docstring). Yanked files count only when ``pinned`` (PEP 592:
        ``==``/``===``). Pre-releases count when ``pre``, when a specifier names
        one, or when no final release matches (PEP 440).
        """
        table = self._best if pinned else self._best_unyanked
        if any(spec.operator == "===" for spec_set in specifiers for spec in spec_set):
            # Arbitrary equality compares spellings ("1.0" is not "1.0.0"), which the
            # version-keyed tables merge: check every file's own version instead.
            table = {}
            for verdict in self._usable:
                if (pinned or verdict.file.yanked is None) and verdict.usable_version not in table and all(
                    s.contains(verdict.usable_version, prereleases=True) for s in specifiers
                ):
                    table[verdict.usable_version] = verdict
            lo, hi = 0, len(self._versions)
        else:
            lo, hi = self._window(specifiers)
        versions = [
            v for v in reversed(self._versions[lo:hi])
            if v in table and all(s.contains(table[v].usable_version, prereleases=True) for s in specifiers)
        ]
        if not (pre or any(s.prereleases for s in specifiers)):
            finals = [v for v in versions if not v.is_prerelease]
            if finals:
                versions = finals
        # Stable: within each kind, newest first still.
        versions.sort(key=lambda v: table[v].usable_rank >= SDIST_RANK)
        sources = self._sources
        return [
            Candidate(self.name, table[v].usable_version, table[v].file, sources.get(table[v].file.url, source))
            for v in versions
        ]


def _tag_text(tags: Iterable[Tag]) -> str:
    by_platform: dict[str, set[str]] = defaultdict(set)
    for tag in tags:
        by_platform[tag.platform.removesuffix("_wasm32")].add(tag.interpreter)
    return ", ".join(f"{'/'.join(sorted(i))} {p}" for p, i in sorted(by_platform.items()))


def describe_files(verdicts: Sequence[Verdict]) -> str:
    """What a project offers, grouped: "cp312 pyemscripten_2024_0 wheels and an sdist"."""
    wheel_kinds: dict[str, int] = defaultdict(int)
    sdists = 0
    for v in verdicts:
        if v.file.filename.endswith(".whl"):
            wheel_kinds[_tag_text(v.tags) or "unparseable"] += 1
        else:
            sdists += 1
    parts = [f"{kind} wheels" for kind in sorted(wheel_kinds)]
    if sdists:
        parts.append("an sdist" if sdists == 1 else f"{sdists} sdists")
    if not parts:
        return "no files"
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]

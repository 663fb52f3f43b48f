"""Releases.select narrows by bisection; it must agree with checking every version."""

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from micropkg.model.candidates import Releases, judge_files
from micropkg.model.simple import DistFile, ProjectPage
from micropkg.model.sources import IndexSource

from .test_resolver_scenarios import TARGET

SRC = IndexSource("https://idx.example/simple")

VERSION_TEXTS = [
    "0.9", "1.0.dev0", "1.0a1", "1.0rc1", "1.0", "1.0.0", "1.0+local", "1.0.post1", "1.0.1",
    "1.1", "1.1+abc.1", "2.0b2", "2.0", "2.0.post0.dev1", "2.1", "10.0", "1!0.5",
]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "~=", "==="]


def page_of(versions):
    files = [
        DistFile(filename=f"p-{v}-py3-none-any.whl", url=f"https://h.example/p-{v}-py3-none-any.whl",
                 hashes={"sha256": "0" * 64}, yanked="bad" if i % 5 == 4 else None)
        for i, v in enumerate(versions)
    ]
    return ProjectPage(name=canonicalize_name("p"), url="https://h.example/simple/p/", files=tuple(files))


specifier = st.builds(
    lambda op, v, star: f"{op}{v}{'.*' if star and op in ('==', '!=') and '+' not in v else ''}",
    st.sampled_from(OPERATORS), st.sampled_from(VERSION_TEXTS), st.booleans(),
)


def brute_force(page, specs, pinned, pre):
    best = {}
    for verdict in judge_files(page, TARGET):
        if verdict.refused or (verdict.file.yanked is not None and not pinned):
            continue
        if all(s.contains(verdict.version, prereleases=True) for s in specs):
            best.setdefault(verdict.version, verdict)
    versions = sorted(best, reverse=True)
    if not (pre or any(s.prereleases for s in specs)):
        finals = [v for v in versions if not v.is_prerelease]
        versions = finals or versions
    return versions


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(VERSION_TEXTS), min_size=1, max_size=12, unique=True),
    st.lists(st.lists(specifier, min_size=1, max_size=3), max_size=3),
    st.booleans(), st.booleans(),
)
def test_select_agrees_with_brute_force(versions, spec_lists, pinned, pre):
    specs = []
    for texts in spec_lists:
        try:
            specs.append(SpecifierSet(",".join(texts)))
        except InvalidSpecifier:
            return  # e.g. ~=10 (needs two components): not a valid specifier at all
    page = page_of(versions)
    got = [c.version for c in Releases(page.name, judge_files(page, TARGET)).select(specs, pinned=pinned, pre=pre, source=SRC)]
    assert got == brute_force(page, specs, pinned, pre)


def test_a_pin_picks_one_version_out_of_thousands():
    page = page_of([f"1.{minor}.{patch}" for minor in range(40) for patch in range(50)])
    releases = Releases(page.name, judge_files(page, TARGET))
    assert [c.version for c in releases.select([SpecifierSet("==1.31.7")], pinned=True, source=SRC)] == [Version("1.31.7")]
    window = releases.select([SpecifierSet(">=1.37.0,<1.38.0")], source=SRC)
    assert window[0].version == Version("1.37.48") and window[-1].version == Version("1.37.0")

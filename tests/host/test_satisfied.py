"""Already satisfied without the index (micropkg.installation.satisfied), and the user's markers.

The check must make the resolver's own judgement of installed distributions:
besides the cases, a property test runs both on generated installed sets and
requests and requires them to agree (satisfied exactly when the resolver keeps
everything and installs nothing).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from micropkg.errors import InvalidRequirement, MicropkgError, ResolutionError
from micropkg.index.client import Index
from micropkg.installation.satisfied import already_satisfied
from micropkg.model.metadata import parse_metadata
from micropkg.model.plan import Pin
from micropkg.model.requirements import parse_requirements
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .memory_index import INDEX_URL, memory_transport, metadata_bytes
from .test_resolver_scenarios import TARGET


def install(root: Path, name: str, version: str, **facts) -> None:
    """A distribution as site-packages holds it: ``<name>-<version>.dist-info/METADATA``."""
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_bytes(metadata_bytes(name, version, facts))


def check(root: Path, requirements, *, deps: bool = True):
    return already_satisfied(requirements, root, lambda: TARGET, deps=deps)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site-packages"
    root.mkdir()
    install(root, "app", "1.0", requires=["lib>=1", "native; sys_platform == 'win32'"])
    install(root, "lib", "1.2", requires=["app"])  # a cycle, as real projects have
    install(root, "plugin", "2.0", requires=["extra-dep; extra == 'x'"], extras=["x"])
    return root


def test_a_request_met_with_its_dependencies(site):
    satisfied = check(site, ["app"])
    assert satisfied is not None
    assert satisfied.kept == (("app", "1.0"), ("lib", "1.2")) and satisfied.ignored == ()


@pytest.mark.parametrize("request_", [
    "app>=2",  # the installed version does not fit
    "missing",  # not installed
    ["app", "missing"],
    "plugin[x]",  # the extra's dependency is not installed
    "app @ https://example.org/app-1.0-py3-none-any.whl",  # a URL is resolved as such
    "https://example.org/app-1.0-py3-none-any.whl",
])
def test_anything_unmet_goes_to_the_resolver(site, request_):
    assert check(site, request_) is None


def test_a_dependency_unmet_goes_to_the_resolver(site):
    install(site, "top", "1.0", requires=["lib>=2"])
    assert check(site, "top") is None
    install(site, "top2", "1.0", requires=["gone"])
    assert check(site, "top2") is None


def test_dependency_markers_are_evaluated_for_the_runtime(site):
    # app's "native; sys_platform == 'win32'" does not apply on Emscripten.
    assert check(site, "app") is not None
    install(site, "web", "1.0", requires=["gone; sys_platform == 'emscripten'"])
    assert check(site, "web") is None


def test_extras_are_followed_only_when_asked(site):
    assert check(site, "plugin") is not None
    assert check(site, "plugin[x]") is None
    install(site, "extra-dep", "0.1")
    assert check(site, "plugin[x]").kept == (("extra-dep", "0.1"), ("plugin", "2.0"))


def test_without_deps_only_the_requirements_count(site):
    install(site, "lonely", "1.0", requires=["gone"])
    assert check(site, "lonely") is None
    assert check(site, "lonely", deps=False).kept == (("lonely", "1.0"),)


def test_an_installed_pre_release_satisfies_as_the_resolver_keeps_it(site):
    install(site, "beta", "2.0b1")
    assert check(site, "beta>=1") is not None


def test_requires_python_the_runtime_lacks_goes_to_the_resolver(site):
    install(site, "old", "1.0", metadata_requires_python="<3")
    assert check(site, "old") is None


def test_a_user_marker_false_here_is_ignored(site):
    satisfied = check(site, ['nowhere; sys_platform == "win32"', "app"])
    assert satisfied is not None
    assert [str(r) for r in satisfied.ignored] == ['nowhere; sys_platform == "win32"']
    assert check(site, 'nowhere; sys_platform == "emscripten"') is None


def test_a_plain_name_not_installed_is_decided_without_the_target(site):
    def no_target():
        raise AssertionError("the target was made: the quick look should have answered")

    assert already_satisfied(["app", "not-here>=1"], site, no_target) is None
    assert already_satisfied("x", site / "no-such-dir", no_target) is None


def test_an_unevaluable_user_marker_is_an_invalid_requirement(site):
    with pytest.raises(InvalidRequirement) as info:
        check(site, "app; python_version ~= 'abc'")
    message = str(info.value)
    assert "app; python_version ~= \"abc\"" in message and "cannot be evaluated" in message


def test_an_unevaluable_marker_of_an_installed_distribution_names_it(site):
    install(site, "broken", "3.1", requires=["lib; python_version ~= 'abc'"])
    with pytest.raises(ResolutionError) as info:
        check(site, "broken")
    message = str(info.value)
    assert "the installed broken 3.1" in message and "python_version ~= \"abc\"" in message


def test_not_strings_go_to_the_resolver(site):
    assert check(site, ["app", 3]) is None


# -- the same judgement as the resolver ---------------------------------------------------

NAMES = ["p0", "p1", "p2", "p3"]
VERSIONS = ["1.0", "2.0"]
requirement = st.builds(
    lambda name, spec, marker, extra: name + extra + spec + marker,
    st.sampled_from(NAMES),
    st.sampled_from(["", ">=1", ">=2", "<2", "==1.0"]),
    st.sampled_from(["", "; sys_platform == 'emscripten'", "; sys_platform == 'win32'", "; extra == 'x'"]),
    st.sampled_from(["", "[x]"]),
)
installed_set = st.dictionaries(
    st.sampled_from(NAMES),
    st.tuples(st.sampled_from(VERSIONS), st.lists(requirement, max_size=3)),
)


def _resolver_keeps_everything(installed: dict, request: list[str]) -> bool:
    """Whether the resolver, with ``installed``, plans nothing to install (False if it fails)."""
    index = {name: {v: {} for v in VERSIONS} for name in NAMES}
    versions = {canonicalize_name(n): Version(v) for n, (v, _) in installed.items()}
    metadata = {
        canonicalize_name(n): parse_metadata(metadata_bytes(n, v, {"requires": reqs, "extras": ["x"]}), source=n)
        for n, (v, reqs) in installed.items()
    }
    catalog = Catalog([Index(INDEX_URL, memory_transport(index))], installed_metadata=metadata)
    try:
        plan = asyncio.run(resolve(parse_requirements(request), catalog, TARGET, installed=versions))
    except MicropkgError:
        return False
    return not any(isinstance(pin, Pin) for pin in plan)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(installed_set, st.lists(requirement, min_size=1, max_size=3))
def test_satisfied_exactly_when_the_resolver_keeps_everything(installed, request):
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, (version, reqs) in installed.items():
            install(root, name, version, requires=reqs, extras=["x"])
        satisfied = check(root, request)
    assert (satisfied is not None) == _resolver_keeps_everything(installed, request), (installed, request)

"""Markers: the user's own are evaluated for the runtime; one that cannot be evaluated
anywhere is an error naming where it was written, never packaging's exception."""

from __future__ import annotations

import asyncio

import pytest
from packaging.markers import UndefinedComparison
from packaging.requirements import Requirement

from micropkg.errors import InvalidRequirement, ResolutionError
from micropkg.index.client import Index
from micropkg.model.requirements import parse_requirements
from micropkg.model.target import UnevaluableMarker
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .memory_index import INDEX_URL, memory_transport
from .test_resolver_scenarios import TARGET

BAD = "python_version ~= 'abc'"


def run(index: dict, request: list[str], **options):
    transport = memory_transport(index)
    catalog = Catalog([Index(INDEX_URL, transport)])
    plan = asyncio.run(resolve(parse_requirements(request), catalog, TARGET, **options))
    return plan, transport


def test_the_control_packaging_itself_raises():
    with pytest.raises(UndefinedComparison):
        Requirement(f"x; {BAD}").marker.evaluate({**TARGET.markers, "extra": ""})


def test_marker_ok_says_which_marker():
    with pytest.raises(UnevaluableMarker) as info:
        TARGET.marker_ok(Requirement(f"x; {BAD}").marker)
    assert info.value.marker == 'python_version ~= "abc"' and "'3.14' and 'abc'" in info.value.cause


def test_a_requirement_whose_marker_is_false_here_is_not_resolved():
    index = {"web": {"1.0": {}}, "winonly": {"1.0": {}}}
    plan, transport = run(index, ["web", 'winonly; sys_platform == "win32"'])
    assert {p.name for p in plan} == {"web"}
    assert [str(r) for r in plan.ignored] == ['winonly; sys_platform == "win32"']
    assert not any("winonly" in r.url for r in transport.requests)  # not even its page


def test_a_requirement_whose_marker_holds_here_is_resolved():
    plan, _ = run({"web": {"1.0": {}}}, ['web; sys_platform == "emscripten" and python_version >= "3.14"'])
    assert [p.name for p in plan] == ["web"] and plan.ignored == []


def test_a_constraint_whose_marker_is_false_here_does_not_apply():
    index = {"web": {"1.0": {}, "2.0": {}}}
    plan, _ = run(index, ["web"], constraints=parse_requirements(['web<2; sys_platform == "win32"']))
    assert [str(p.version) for p in plan] == ["2.0"]


def test_an_unevaluable_marker_of_the_user_is_an_invalid_requirement():
    with pytest.raises(InvalidRequirement) as info:
        run({"web": {"1.0": {}}}, [f"web; {BAD}"])
    message = str(info.value)
    assert message.startswith("Invalid requirement 'web; python_version ~= \"abc\"'")
    assert "cannot be evaluated on this runtime" in message and "Correct the marker" in message


def test_an_unevaluable_marker_of_a_dependency_names_project_version_and_marker():
    index = {"app": {"2.1": {"requires": ["lib", f"helper; {BAD}"]}}, "lib": {"1.0": {}}, "helper": {"1.0": {}}}
    with pytest.raises(ResolutionError) as info:
        run(index, ["app"])
    message = str(info.value)
    assert type(info.value) is ResolutionError
    assert "app 2.1 declares 'Requires-Dist: helper; python_version ~= \"abc\"'" in message
    assert "'app!=2.1'" in message


def test_an_unevaluable_marker_in_a_release_never_picked_is_no_error():
    # 2.2 needs a project no index knows: the walk-back reads 2.1 and 2.0 together, and
    # 2.0's bad marker is read (by the dead-end check too) but 2.1 is chosen.
    index = {
        "app": {"2.2": {"requires": ["gone"]}, "2.1": {"requires": ["lib"]}, "2.0": {"requires": [f"lib; {BAD}"]}},
        "lib": {"1.0": {}},
    }
    plan, transport = run(index, ["app"])
    assert {p.name: str(p.version) for p in plan} == {"app": "2.1", "lib": "1.0"}
    assert any(r.url.endswith("app-2.0-py3-none-any.whl.metadata") for r in transport.requests)

"""The resolution scenario suite: JSON data in tests/data/resolution (index
snapshots, and cases: a request, expected pins or error; see tests/harness/scenarios.py).

Each case runs on CPython against an in-memory index through a
MockTransport, for a Pyodide 314 target (cp314, pyemscripten_2026_0).
"""

from __future__ import annotations

import asyncio

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

import micropkg.errors as errors
from micropkg.index.client import Index
from micropkg.model.metadata import parse_metadata
from micropkg.model.requirements import parse_requirements
from micropkg.model.tags import PlatformInfo
from micropkg.model.target import Target
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve
from tests.harness.scenarios import load_index, scenarios

from .memory_index import INDEX_URL, memory_transport, metadata_bytes

TARGET = Target.for_platform(
    PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(5, 0, 3)), "3.14.2"
)


def _cases():
    for scenario in scenarios():
        yield pytest.param(scenario.index, scenario.case, id=scenario.id)


def run_case(index: dict, case: dict):
    options = dict(case.get("options", {}))
    installed = {canonicalize_name(n): Version(v) for n, v in options.pop("installed", {}).items()}
    installed_meta = {
        n: parse_metadata(metadata_bytes(n, str(v), {}), source="installed") for n, v in installed.items()
    }
    constraints = parse_requirements(options.pop("constraints", []))
    transport = memory_transport(index)
    catalog = Catalog([Index(INDEX_URL, transport)], installed_metadata=installed_meta)
    plan = asyncio.run(
        resolve(parse_requirements(case["request"]), catalog, TARGET,
                constraints=constraints, installed=installed, **options)
    )
    return plan, transport


@pytest.mark.parametrize("index, case", list(_cases()))
def test_scenario(index, case):
    if "error" in case:
        expected = case["error"]
        with pytest.raises(getattr(errors, expected["type"])) as info:
            run_case(index, case)
        for fragment in expected["contains"]:
            assert fragment in str(info.value), f"{fragment!r} not in:\n{info.value}"
        return
    plan, _ = run_case(index, case)
    got = {
        pin.name: str(pin.version) + (" (installed)" if pin.candidate.installed else "") for pin in plan
    }
    assert got == case["pins"]
    for name, filename in case.get("files", {}).items():
        (pin,) = [p for p in plan if p.name == name]
        assert pin.file.filename == filename


def test_plan_says_who_required_each_pin():
    index = load_index("basics")
    plan, _ = run_case(index, {"request": ["app"]})
    by_name = {p.name: p for p in plan}
    assert by_name["app"].required_by == ("the request",)
    assert by_name["core"].required_by == ("lib 2.1", "util 2.0")

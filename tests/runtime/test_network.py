"""Installs from live PyPI, under Node (Chromium cannot reach PyPI here: CORS is stripped).

Marked ``network``: they need PyPI, and conftest skips them outside Node.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

pytestmark = pytest.mark.network


@pytest.mark.pyodide_abi("2026_0")
@run_in_pyodide(packages=["micropkg"])
async def test_luau_wasm_from_pypi(selenium):
    import micropkg

    installed = await micropkg.install("luau-wasm")
    import luau_wasm

    assert [(i.name, i.source) for i in installed] == [("luau-wasm", "https://pypi.org/simple")]
    output = luau_wasm.execute(
        'local animals = {"fox", "owl", "frog", "rabbit"}\n'
        "table.sort(animals, function(a, b) return #a < #b end)\n"
        'for i, name in animals do\n print(i .. ". " .. name .. " (" .. #name .. ")")\nend\n'
    )
    assert output.split("\n")[:4] == ["1. fox (3)", "2. owl (3)", "3. frog (4)", "4. rabbit (6)"]


@pytest.mark.pyodide_abi("2026_0")
@run_in_pyodide(packages=["micropkg"])
async def test_aioboto3_resolves_where_greedy_resolution_fails(selenium):
    # micropip 0.11.1 fails here: it pins botocore from aiobotocore's first
    # requirement, then boto3 asks for another botocore.
    import micropkg

    installed = await micropkg.install("aioboto3==14.1.0")
    versions = {i.name: i.version for i in installed}
    import aioboto3
    import boto3
    import botocore

    assert versions["aioboto3"] == "14.1.0"
    assert aioboto3.__name__ == "aioboto3"
    assert boto3.__version__ == versions["boto3"] and botocore.__version__ == versions["botocore"]
    from importlib.metadata import requires
    from packaging.requirements import Requirement

    # The botocore chosen satisfies every requirement on it.
    for dist in ("aiobotocore", "boto3", "s3transfer"):
        for req in map(Requirement, requires(dist) or []):
            if req.name == "botocore" and (req.marker is None or req.marker.evaluate({"extra": ""})):
                assert req.specifier.contains(botocore.__version__, prereleases=True), (dist, str(req))


@run_in_pyodide(packages=["micropkg"])
async def test_httpx_with_the_http2_extra(selenium):
    import micropkg

    installed = await micropkg.install("httpx[http2]")
    names = {i.name for i in installed} | set(micropkg.list())  # an earlier test may have brought idna
    import h2
    import httpx

    # The extra pulled h2 (and its hpack/hyperframe); httpx's own deps came too.
    assert {"httpx", "h2", "hpack", "hyperframe"} <= {i.name for i in installed}
    missing = {"httpcore", "anyio", "idna", "certifi", "h11"} - names
    assert not missing, (missing, names)
    assert httpx.__name__ == "httpx" and h2.__name__ == "h2"


@run_in_pyodide(packages=["micropkg"])
async def test_walk_back_through_hundreds_of_releases(selenium):
    # boto3 releases almost daily and pins botocore to one minor series, so an
    # old botocore pin makes the resolver walk boto3 back through hundreds of releases.
    import time

    import micropkg

    started = time.perf_counter()
    # reinstall=True: resolve as if nothing were installed (an earlier test in
    # this runtime may have installed another botocore).
    plan = await micropkg.resolve(["boto3", "botocore==1.31.0"], reinstall=True)
    seconds = time.perf_counter() - started
    pins = {p.name: str(p.version) for p in plan}
    assert pins["botocore"] == "1.31.0"
    assert pins["boto3"].startswith("1.28."), pins
    # The figure for the record (printed, not asserted: speed lives in benchmarks).
    print(f"walk-back resolution: {seconds:.1f} s, {plan.stats}")

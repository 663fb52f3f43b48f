"""The harness works end to end inside a real Pyodide (Node and Chromium).

These prove the plumbing later tests rely on: micropkg's wheel loads from the
prepared folder with its dependencies, and Pyodide reaches the loopback index
(in Chromium that needs the index's CORS headers).

Two ways to write a runtime test appear here: a whole test decorated with
``@run_in_pyodide`` (fixture values after ``selenium`` are pickled into
Pyodide), and a host test that sets the index up, then calls a nested
``@run_in_pyodide`` function and checks the index's request log afterwards.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.index_server import SIMPLE_JSON


@pytest.fixture(scope="module")
def micropkg_version() -> str:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return tomllib.loads(pyproject.read_text())["project"]["version"]


@pytest.fixture
def luau_sha256(real_wheels) -> str:
    return next(w.sha256 for w in real_wheels if w.project == "luau-wasm")


@run_in_pyodide(packages=["micropkg"])
def test_micropkg_wheel_loads_with_its_dependencies(selenium, micropkg_version):
    import importlib.metadata

    import packaging
    import resolvelib

    import micropkg

    assert "site-packages" in micropkg.__path__[0]
    assert importlib.metadata.version("micropkg") == micropkg_version
    assert packaging.__name__ == "packaging" and resolvelib.__name__ == "resolvelib"


def test_pyfetch_reaches_the_loopback_index(selenium, index_server, real_wheels, runtime):
    luau = next(w for w in real_wheels if w.project == "luau-wasm")

    @run_in_pyodide
    async def fetch_project_page(selenium, url, accept):
        from pyodide.http import pyfetch

        response = await pyfetch(url, headers={"Accept": accept})
        return response.status, response.headers["content-type"], await response.json()

    status, content_type, document = fetch_project_page(selenium, index_server.project_url("luau-wasm"), SIMPLE_JSON)

    assert (status, content_type) == (200, SIMPLE_JSON)
    assert [f["hashes"]["sha256"] for f in document["files"]] == [luau.sha256]
    # Accept with this value is CORS-safelisted: no preflight, even in Chromium.
    assert index_server.log.counts() == {"simple-project": 1}


def test_wheel_registered_by_the_test_downloads_with_its_metadata(selenium, index_server, make_wheel, runtime):
    wheel = make_wheel("harness-fresh", "3.0", requires_dist=["harness-dep"])
    index_server.add(wheel)

    @run_in_pyodide
    async def download(selenium, url):
        import hashlib

        from pyodide.http import pyfetch

        # A header outside the CORS safelist makes Chromium ask first (OPTIONS).
        wheel = await pyfetch(url, headers={"X-Micropkg-Test": "1"})
        metadata = await pyfetch(url + ".metadata")
        return hashlib.sha256(await wheel.bytes()).hexdigest(), await metadata.bytes()

    sha256, metadata = download(selenium, index_server.file_url(wheel.filename))

    assert sha256 == wheel.sha256
    assert metadata == wheel.metadata
    assert index_server.log.count("file") == 1 and index_server.log.count("metadata") == 1
    assert index_server.log.count("preflight") == (0 if runtime == "node" else 1)


@pytest.mark.network
@run_in_pyodide
async def test_live_pypi_lists_the_real_wheel(selenium, luau_sha256):
    from pyodide.http import pyfetch

    response = await pyfetch(
        "https://pypi.org/simple/luau-wasm/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    document = await response.json()

    assert response.status == 200
    assert luau_sha256 in [f["hashes"]["sha256"] for f in document["files"]]


@run_in_pyodide
def test_pyodide_info_describes_the_running_pyodide(selenium, pyodide_info):
    import sys
    import sysconfig

    import pyodide

    assert pyodide.__version__ == pyodide_info["version"]
    assert "%d.%d" % sys.version_info[:2] == pyodide_info["python"].rsplit(".", 1)[0]
    assert sysconfig.get_config_var("PYODIDE_ABI_VERSION") == pyodide_info["abi_version"]


@pytest.mark.pyodide_abi("2026_0")
@run_in_pyodide
def test_pyodide_abi_marker_selects_python_314(selenium):
    import sys

    assert sys.version_info[:2] == (3, 14)

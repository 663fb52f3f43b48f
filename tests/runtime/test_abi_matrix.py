"""Wheel choice follows each runtime's ABI exactly, on every supported Pyodide.

Pyodide 0.27 (Python 3.12, ``2024_0``), 0.29 (3.13, ``2025_0``) and 314
(3.14, ``2026_0``) run through pytest-pyodide (``scripts/test`` runs this
file on each). Pyodide 315 (3.15, ``2026_5``) runs through
:mod:`tests.runtime.node_runner`, because pytest-pyodide cannot drive it:
those tests are plain host tests that boot the prepared 315 folder in Node.

The loopback index holds real msgpack 1.2.4 wheels for three ABIs
(cp313 ``2025_0``, cp314 ``2026_0``, cp315 ``2026_5``): each runtime installs
its own, never another's, and where none fits the error names the ones that exist.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness import pyodide_dist
from tests.runtime.node_runner import run_python

MSGPACK_ABIS = {"2025_0": "cp313", "2026_0": "cp314", "2026_5": "cp315"}
NODE_RUNNER_VERSIONS = ("315.0.0-alpha.2",)


def _tags(pyodide_info) -> tuple[str, str]:
    major, minor = pyodide_info["python"].split(".")[:2]
    return f"cp{major}{minor}", pyodide_info["abi_version"]


def _other_abi(abi: str) -> str:
    return "2024_0" if abi != "2024_0" else "2025_0"


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirements, index_url):
    import micropkg

    try:
        installed = await micropkg.install(requirements, index_urls=[index_url], pyodide_packages=False)
    except micropkg.MicropkgError as exc:
        return None, (type(exc).__name__, str(exc))
    return [i.filename for i in installed], None


def test_msgpack_for_this_abi_or_an_error_naming_the_abis_that_exist(selenium, index_server, pyodide_info):
    python, abi = _tags(pyodide_info)
    installed, error = _install(selenium, "msgpack", index_server.simple_url)
    if abi in MSGPACK_ABIS:
        assert error is None and installed == [f"msgpack-1.2.4-{python}-{python}-pyemscripten_{abi}_wasm32.whl"]
        return
    kind, message = error
    assert kind == "NoCompatibleFile" and installed is None
    for other_abi, other_python in MSGPACK_ABIS.items():
        assert f"{other_python} pyemscripten_{other_abi}" in message
    assert f"this runtime is {python} pyemscripten_{abi}" in message


def test_a_wheel_for_another_pyemscripten_version_is_never_installed(selenium, index_server, make_wheel, pyodide_info):
    python, abi = _tags(pyodide_info)
    other = _other_abi(abi)
    # Same interpreter tag, newer version, another ABI: still refused. The older
    # release has this runtime's ABI under Pyodide's pre-PEP 783 platform name.
    index_server.add(make_wheel("rt-abi", "2.0", tag=f"{python}-{python}-pyemscripten_{other}_wasm32"))
    index_server.add(make_wheel("rt-abi", "1.0", tag=f"{python}-{python}-pyodide_{abi}_wasm32"))
    installed, error = _install(selenium, "rt-abi", index_server.simple_url)
    assert error is None and installed == [f"rt_abi-1.0-{python}-{python}-pyodide_{abi}_wasm32.whl"]
    index_server.add(make_wheel("rt-abi-other", "2.0", tag=f"{python}-{python}-pyemscripten_{other}_wasm32"))
    installed, error = _install(selenium, "rt-abi-other", index_server.simple_url)
    kind, message = error
    assert kind == "NoCompatibleFile"
    assert f"{python} pyemscripten_{other}" in message and f"this runtime is {python} pyemscripten_{abi}" in message



def test_a_wheel_for_this_interpreter_and_no_abi_installs(selenium, index_server, make_wheel, pyodide_info):
    # ``cp314-none-any`` (pure Python, for CPython 3.14 only) is a tag pip accepts;
    # packaging leaves it out unless told the interpreter.
    python, _ = _tags(pyodide_info)
    index_server.add(make_wheel("rt-interp", "1.0", tag=f"{python}-none-any"))
    installed, error = _install(selenium, "rt-interp", index_server.simple_url)
    assert error is None and installed == [f"rt_interp-1.0-{python}-none-any.whl"]


@run_in_pyodide(packages=["micropkg"])
def _runtime_facts(selenium):
    import importlib.machinery
    import os
    import sysconfig

    from micropkg.runtime import detect

    return {
        "abi": [detect.abi_version(), sysconfig.get_config_var("PYODIDE_ABI_VERSION")],
        # sysconfig says "//lib/...": the same folder, spelled with the prefix "/" joined on.
        "site": [str(detect.site_packages()), os.path.samefile(detect.site_packages(), sysconfig.get_path("purelib"))],
        "suffix": [importlib.machinery.EXTENSION_SUFFIXES[0], sysconfig.get_config_var("EXT_SUFFIX")],
    }


def test_the_adapter_reads_what_sysconfig_says(selenium, pyodide_info):
    # The adapter avoids sysconfig (its data module costs a fresh runtime a
    # compile): its cheaper sources must agree with it on every Pyodide.
    facts = _runtime_facts(selenium)
    assert facts["abi"] == [pyodide_info["abi_version"]] * 2
    assert facts["site"][1] is True and facts["site"][0].startswith("/lib/python") and facts["site"][0].endswith("/site-packages")
    assert facts["suffix"][0] == facts["suffix"][1] and facts["suffix"][0].endswith("-emscripten.so")

# -- Pyodide 315, through the Node runner ------------------------------------------------------

_MAIN_315 = '''
async def main(args):
    import sys
    import micropkg

    installed = await micropkg.install(["msgpack", "rt-pure315"], index_urls=[args["index"]], pyodide_packages=False)
    import msgpack
    import msgpack._cmsgpack
    import rt_pure315

    try:
        await micropkg.install("rt-abi315==2.0", index_urls=[args["index"]], pyodide_packages=False)
        refused = None
    except micropkg.NoCompatibleFile as exc:
        refused = str(exc)
    return {
        "python": list(sys.version_info[:2]),
        "installed": sorted(i.filename for i in installed),
        "roundtrip": msgpack.unpackb(msgpack.packb({"a": [1, 2]})),
        "extension": msgpack._cmsgpack.__file__,
        "pure": rt_pure315.VALUE,
        "refused": refused,
    }
'''


@pytest.mark.parametrize("version", NODE_RUNNER_VERSIONS)
def test_pyodide_315_installs_its_own_abi_under_node(version, index_server, make_wheel):
    dist_dir = pyodide_dist.prepare(version)
    index_server.add(make_wheel("rt-pure315", "1.0", files={"rt_pure315/__init__.py": b"VALUE = 315\n"}))
    index_server.add(make_wheel("rt-abi315", "2.0", tag="cp315-cp315-pyemscripten_2026_0_wasm32"))
    result = run_python(dist_dir, _MAIN_315, {"index": index_server.simple_url})
    assert result["python"] == [3, 15]
    assert result["installed"] == [
        "msgpack-1.2.4-cp315-cp315-pyemscripten_2026_5_wasm32.whl", "rt_pure315-1.0-py3-none-any.whl",
    ]
    assert result["roundtrip"] == {"a": [1, 2]} and result["extension"].endswith(".so") and result["pure"] == 315
    assert "cp315 pyemscripten_2026_0" in result["refused"]
    assert "this runtime is cp315 pyemscripten_2026_5" in result["refused"]
    counts = index_server.log.counts()
    assert counts["file"] == 2, counts  # the two wheels installed, nothing else downloaded


@pytest.mark.parametrize("version", NODE_RUNNER_VERSIONS)
def test_pyodide_315_explain_and_sources_under_node(version, index_server, make_wheel):
    dist_dir = pyodide_dist.prepare(version)
    wheel = make_wheel("rt-direct315", "1.0", requires_dist=["rt-dep315"])
    index_server.add(make_wheel("rt-dep315", "1.0"))
    code = '''
async def main(args):
    import micropkg
    from pathlib import Path

    text = str(await micropkg.explain("msgpack", index_urls=[args["index"]], pyodide_packages=False))
    path = "/tmp/" + args["filename"]
    Path(path).write_bytes(bytes.fromhex(args["wheel"]))
    installed = await micropkg.install(path, index_urls=[args["index"]])
    return {"explain": text, "installed": sorted((i.name, i.source) for i in installed)}
'''
    result = run_python(dist_dir, code, {"index": index_server.simple_url, "filename": wheel.filename, "wheel": wheel.data.hex()})
    lines = result["explain"].splitlines()
    assert lines[0] == f"msgpack: 3 files for cp315 pyemscripten_2026_5, from {index_server.simple_url}"
    assert lines[1].split()[:2] == ["taken", "msgpack-1.2.4-cp315-cp315-pyemscripten_2026_5_wasm32.whl"]
    assert result["installed"] == [["rt-dep315", index_server.simple_url], ["rt-direct315", f"emfs:/tmp/{wheel.filename}"]]

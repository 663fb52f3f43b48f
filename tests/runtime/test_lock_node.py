"""A lock's wheels in plain Node: sent through Node's http module, read without undici's Response.

``runtime.early_files.send_files`` sends a lock's files before the installer loads;
under Node through ``node:http``, answered by a small Response of its own
(``runtime.early_fetch._NODE_FETCH``) so that fetch()'s undici is not compiled for them.
pytest-pyodide's Node context has no ``Response`` global (there everything goes
through fetch()), so these tests run in a Node of their own
(tests/runtime/node_runner.py), as tests/runtime/test_first_request_node.py does.
"""

from __future__ import annotations

import asyncio
import urllib.parse

from micropkg.commands.cli import lock_requirements
from micropkg.lock.pylock import dumps
from micropkg.model.pyodide_releases import target_for_pyodide
from tests.harness.fetch_hook import RECORDING_FETCH
from tests.runtime.node_runner import run_python

_INSTALL = """
async def main(args):
    import js
    import micropkg
    from pyodide.code import run_js

    def undici():  # Node's fetch() and Response, compiled on first use
        return any("undici" in str(name) for name in js.process.moduleLoadList)

    before = undici()
    from pyodide.ffi import create_proxy

    through_fetch = []
    hook = create_proxy(lambda url: through_fetch.append(url))
    restore = run_js(args["recording_fetch"])(hook)
    try:
        installed = await micropkg.install(lock=args["lock"])
    except micropkg.MicropkgError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "through_fetch": through_fetch}
    finally:
        restore()
        hook.destroy()
    import rt_node_lock, rt_node_lock_dep  # noqa: F401, E401 - importing is the check
    return {"installed": sorted(i.name for i in installed), "through_fetch": through_fetch,
            "undici": [before, undici()]}
"""


def _lock(index_server, pyodide_info) -> str:
    target = target_for_pyodide(pyodide_info["version"])
    return dumps(asyncio.run(lock_requirements(["rt-node-lock"], target, index_urls=[index_server.simple_url])))


def _wheel_paths(index_server) -> list[str]:
    return sorted(
        urllib.parse.urlsplit(index_server.file_url(f.filename)).path
        for project in ("rt-node-lock", "rt-node-lock-dep") for f in index_server.files(project)
    )


def _locked_pair(index_server, make_wheel, pyodide_info, tmp_path, monkeypatch) -> str:
    """A lock of rt-node-lock and its dependency on the test index, the cache in ``tmp_path``."""
    index_server.add(make_wheel("rt-node-lock", "1.0", requires_dist=["rt-node-lock-dep"]))
    index_server.add(make_wheel("rt-node-lock-dep", "1.0"))
    monkeypatch.setenv("MICROPKG_CACHE_DIR", str(tmp_path / "cache"))
    return _lock(index_server, pyodide_info)


def test_a_locks_wheels_are_read_through_node_http_and_asked_once(
    node_run, pyodide_dist_dir, index_server, make_wheel, pyodide_info, tmp_path, monkeypatch,
):
    text = _locked_pair(index_server, make_wheel, pyodide_info, tmp_path, monkeypatch)
    index_server.log.reset()
    done = run_python(pyodide_dist_dir, _INSTALL, {"lock": text, "recording_fetch": RECORDING_FETCH})
    assert done.get("installed") == ["rt-node-lock", "rt-node-lock-dep"], done
    assert done["through_fetch"] == []  # not one through fetch(): both through node:http
    assert done["undici"] == [False, False]  # and read without fetch()'s Response
    assert sorted(e.path for e in index_server.log.entries) == _wheel_paths(index_server)


def test_a_failing_early_answer_is_retried_and_a_missing_file_is_named(
    node_run, pyodide_dist_dir, index_server, make_wheel, pyodide_info, tmp_path, monkeypatch,
):
    text = _locked_pair(index_server, make_wheel, pyodide_info, tmp_path, monkeypatch)
    [dep] = index_server.files("rt-node-lock-dep")
    path = urllib.parse.urlsplit(index_server.file_url(dep.filename)).path
    args = {"lock": text, "recording_fetch": RECORDING_FETCH}

    index_server.inject(path, status=503, times=1)  # the early request's answer: retried (through fetch())
    index_server.log.reset()
    done = run_python(pyodide_dist_dir, _INSTALL, args)
    assert done.get("installed") == ["rt-node-lock", "rt-node-lock-dep"], done
    assert index_server.log.count(path=path) == 2
    assert [urllib.parse.urlsplit(url).path for url in done["through_fetch"]] == [path]

    index_server.inject(path, status=404)
    try:
        done = run_python(pyodide_dist_dir, _INSTALL, args)
    finally:
        index_server.clear_faults()
    assert "installed" not in done, done
    assert done["error"].startswith("HTTPStatusError") and "404" in done["error"] and dep.filename in done["error"], done

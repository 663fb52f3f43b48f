"""An install's first page request in plain Node leaves through Node's http module, not fetch().

Node 20 compiles undici, its fetch(), on the first call (~29 ms on this
machine), so ``runtime.early`` sends the requested pages through ``node:http``
and ``node:https``, answered as fetch() would be (without undici's Response). These tests run
in a Node of their own (tests/runtime/node_runner.py): pytest-pyodide's Node
context has no ``Response`` global, so there the early request still goes
through fetch() (tests/runtime/test_head_start.py covers that way).

What the answer must look like to the rest of micropkg is what fetch() would
give: a body decoded from its content coding, a redirect followed, the cache's
``If-None-Match`` sent.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import zlib
from collections.abc import Iterator

import pytest

from tests.harness.fetch_hook import RECORDING_FETCH
from tests.runtime.node_runner import run_python

_INSTALL = """
async def main(args):
    import micropkg
    from pyodide.code import run_js
    from pyodide.ffi import create_proxy

    through_fetch = []
    hook = create_proxy(lambda url: through_fetch.append(url))
    restore = run_js(args["recording_fetch"])(hook)
    try:
        installed = await micropkg.install(args["requirement"], index_urls=[args["index"]], pyodide_packages=False)
    except micropkg.MicropkgError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "through_fetch": through_fetch}
    finally:
        restore()
        hook.destroy()
    return {"installed": [[i.name, i.version] for i in installed], "through_fetch": through_fetch,
            "undici": any("undici" in str(name) for name in run_js("process.moduleLoadList"))}
"""


def _args(requirement: str, index: str) -> dict[str, str]:
    return {"requirement": requirement, "index": index, "recording_fetch": RECORDING_FETCH}


class _Pages(http.server.BaseHTTPRequestHandler):
    """Project pages as PEP 691 JSON, each in the coding its name says; the wheels come from
    the loopback index. ``seen`` records (path, If-None-Match, Accept-Encoding) per request."""

    pages: dict[str, bytes] = {}
    seen: list[tuple[str, str | None, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append((self.path, self.headers.get("If-None-Match"), self.headers.get("Accept-Encoding")))
        project = self.path.strip("/").rpartition("/")[2]
        if self.path.startswith("/simple/") and project.endswith("-moved"):
            self.send_response(302)
            self.send_header("Location", f"/elsewhere/{project}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if project not in self.pages:
            self.send_error(404)
            return
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        body = self.pages[project]
        coding = None
        if project.endswith(("-gzip", "-cut")):
            body, coding = gzip.compress(body), "gzip"
        elif project.endswith("-deflate"):
            body, coding = zlib.compress(body), "deflate"
        if project.endswith("-cut"):  # the connection drops halfway through the body
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Encoding", coding)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("ETag", '"v1"')
        self.send_header("Cache-Control", "max-age=0")
        if coding:
            self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pages(index_server, make_wheel) -> Iterator[tuple[str, type[_Pages]]]:
    handler = type("Handler", (_Pages,), {"pages": {}, "seen": []})
    for project in ("rt-node-gzip", "rt-node-deflate", "rt-node-moved", "rt-node-cut"):
        wheel = make_wheel(project, "1.0")
        index_server.add(wheel)
        handler.pages[project] = json.dumps({
            "meta": {"api-version": "1.1"}, "name": project, "versions": ["1.0"],
            "files": [{"filename": wheel.filename, "url": index_server.file_url(wheel.filename),
                       "hashes": {"sha256": wheel.sha256}}],
        }).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple/", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("project", ["rt-node-gzip", "rt-node-deflate"])
def test_the_first_page_leaves_without_fetch_and_its_coded_body_is_read(
    node_run, pyodide_dist_dir, pages, project, tmp_path, monkeypatch,
):
    index, handler = pages
    monkeypatch.setenv("MICROPKG_CACHE_DIR", str(tmp_path / "cache"))
    first = run_python(pyodide_dist_dir, _INSTALL, _args(project, index))
    assert first["installed"] == [[project, "1.0"]]
    page = f"/simple/{project}/"
    # Asked for once, through Node's http module, with fetch()'s codings; the wheel through fetch().
    assert [path for path, _, _ in handler.seen] == [page]
    assert handler.seen[0][2] == "gzip, deflate, br"
    assert not [url for url in first["through_fetch"] if url.endswith(page)], first["through_fetch"]
    assert any(url.endswith(".whl") for url in first["through_fetch"]), first["through_fetch"]
    # A new runtime with the same cache revalidates the kept (stale) page: If-None-Match, a 304.
    second = run_python(pyodide_dist_dir, _INSTALL, _args(project, index))
    assert second["installed"] == [[project, "1.0"]]
    assert handler.seen[1:] == [(page, '"v1"', "gzip, deflate, br")]


def test_a_redirected_first_page_is_followed_by_fetch(node_run, pyodide_dist_dir, pages, tmp_path, monkeypatch):
    index, handler = pages
    monkeypatch.setenv("MICROPKG_CACHE_DIR", str(tmp_path / "cache"))
    done = run_python(pyodide_dist_dir, _INSTALL, _args("rt-node-moved", index))
    assert done["installed"] == [["rt-node-moved", "1.0"]]
    # Node's http module asked first, and was told to go elsewhere; fetch() asked again and followed.
    assert [path for path, _, _ in handler.seen] == ["/simple/rt-node-moved/", "/simple/rt-node-moved/", "/elsewhere/rt-node-moved/"]
    assert [url for url in done["through_fetch"] if "rt-node-moved/" in url] == [index + "rt-node-moved/"]


def test_a_first_page_cut_short_is_a_named_network_error(node_run, pyodide_dist_dir, pages, tmp_path, monkeypatch):
    # The body gathered by Node's http module ends early: the install fails, naming the page,
    # as fetch() would have it fail (after its own retries), and does not wait forever.
    index, handler = pages
    monkeypatch.setenv("MICROPKG_CACHE_DIR", str(tmp_path / "cache"))
    done = run_python(pyodide_dist_dir, _INSTALL, _args("rt-node-cut", index))
    assert "installed" not in done, done
    assert done["error"].startswith("NetworkError") and index + "rt-node-cut/" in done["error"], done["error"]
    assert handler.seen[0][0] == "/simple/rt-node-cut/"


def test_a_cold_install_the_chain_foresaw_never_loads_undici(
    node_run, pyodide_dist_dir, index_server, make_wheel, tmp_path, monkeypatch,
):
    # Every request of this install is one the early machinery sent: the root page, then the
    # chain's metadata, wheels and the dependency's page. Their answers are read as they are,
    # not as undici's Responses, whose first use compiled undici (25 ms) as the first answer
    # arrived, while the chain waited to follow it.
    index_server.add(make_wheel("rt-node-chain", "1.0", requires_dist=["rt-node-chain-dep"]))
    index_server.add(make_wheel("rt-node-chain-dep", "1.0"))
    monkeypatch.setenv("MICROPKG_CACHE_DIR", str(tmp_path / "cache"))
    done = run_python(pyodide_dist_dir, _INSTALL, _args("rt-node-chain", index_server.simple_url))
    assert done.get("installed") == [["rt-node-chain", "1.0"], ["rt-node-chain-dep", "1.0"]], done
    assert done["through_fetch"] == [] and done["undici"] is False, done
    counts = index_server.log.counts()  # each asked once: the chain's requests were taken over
    assert (counts["simple-project"], counts["metadata"], counts["file"]) == (2, 2, 2), counts

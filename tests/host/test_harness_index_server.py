"""The loopback index answers like PyPI: Simple API (JSON and HTML), metadata, legacy JSON, CORS."""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.parse
import urllib.request

import pytest

from tests.harness.index_server import SIMPLE_JSON, IndexServer


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> http.client.HTTPResponse:
    """One request, redirects not followed (tests look at them)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request(method, target, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


@pytest.fixture
def luau(real_wheels):
    return next(w for w in real_wheels if w.project == "luau-wasm")


def test_project_page_as_json(index_server, luau):
    response = _get(index_server.project_url("luau-wasm"), {"Accept": SIMPLE_JSON})
    document = json.loads(response.body)
    [entry] = document["files"]

    assert response.status == 200
    assert response.headers["Content-Type"] == SIMPLE_JSON
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "luau-wasm"
    assert document["versions"] == ["0.1a0"]
    assert entry["filename"] == luau.filename
    assert entry["hashes"] == {"sha256": luau.sha256}
    assert entry["url"] == index_server.file_url(luau.filename)
    assert entry["requires-python"] == ">=3.10"
    assert entry["yanked"] is False
    assert entry["size"] == len(luau.data)
    assert entry["upload-time"].endswith("Z")
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(luau.metadata).hexdigest()}


def test_project_page_as_html(index_server, luau):
    response = _get(index_server.project_url("luau-wasm"), {"Accept": "text/html"})
    body = response.body.decode()
    metadata_sha256 = hashlib.sha256(luau.metadata).hexdigest()

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert f'href="{index_server.file_url(luau.filename)}#sha256={luau.sha256}"' in body
    assert 'data-requires-python="&gt;=3.10"' in body
    assert f'data-core-metadata="sha256={metadata_sha256}"' in body
    assert "data-yanked" not in body


def test_json_is_chosen_by_quality_and_html_is_the_default(index_server):
    url = index_server.project_url("harness-demo")
    prefers_html = f"{SIMPLE_JSON};q=0.2, text/html"

    assert _get(url).headers["Content-Type"] == "text/html"
    assert _get(url, {"Accept": prefers_html}).headers["Content-Type"] == "text/html"
    assert _get(url, {"Accept": f"text/html;q=0.1, {SIMPLE_JSON}"}).headers["Content-Type"] == SIMPLE_JSON
    forced = urllib.parse.urlencode({"format": SIMPLE_JSON})
    assert _get(f"{url}?{forced}").headers["Content-Type"] == SIMPLE_JSON


def test_core_metadata_file_and_switch(index_server, luau):
    metadata = _get(index_server.file_url(luau.filename) + ".metadata")
    assert metadata.status == 200
    assert metadata.body == luau.metadata

    index_server.core_metadata = False
    document = json.loads(_get(index_server.project_url("luau-wasm"), {"Accept": SIMPLE_JSON}).body)
    html = _get(index_server.project_url("luau-wasm")).body.decode()
    assert "core-metadata" not in document["files"][0]
    assert "data-core-metadata" not in html
    assert _get(index_server.file_url(luau.filename) + ".metadata").status == 200  # served anyway, as on PyPI here


def test_wheel_download_and_range(index_server, luau):
    whole = _get(index_server.file_url(luau.filename))
    tail = _get(index_server.file_url(luau.filename), {"Range": "bytes=-22"})

    assert whole.status == 200
    assert hashlib.sha256(whole.body).hexdigest() == luau.sha256
    assert tail.status == 206
    assert tail.body == luau.data[-22:]
    assert tail.headers["Content-Range"] == f"bytes {len(luau.data) - 22}-{len(luau.data) - 1}/{len(luau.data)}"


def test_legacy_json(index_server):
    document = json.loads(_get(index_server.json_url("harness-demo")).body)
    [latest] = document["urls"]

    assert document["info"]["name"] == "harness-demo"
    assert document["info"]["version"] == "2.0.0"
    assert document["info"]["requires_python"] == ">=3.11"
    assert document["info"]["requires_dist"] == ["harness-dep>=1"]
    assert sorted(document["releases"]) == ["1.0.0", "2.0.0"]
    assert latest["filename"] == "harness_demo-2.0.0-py3-none-any.whl"
    assert latest["digests"]["sha256"] == index_server.file("harness_demo-2.0.0-py3-none-any.whl").sha256
    assert latest["url"] == index_server.file_url(latest["filename"])
    assert (latest["yanked"], latest["packagetype"], latest["size"] > 0) == (False, "bdist_wheel", True)
    assert _get(index_server.url + "pypi/harness-demo/2.0.0/json").status == 404  # as PyPI answers here

    index_server.version_json = True
    assert json.loads(_get(index_server.url + "pypi/harness-demo/1.0.0/json").body)["info"]["version"] == "1.0.0"


def test_redirects_and_not_found(index_server):
    redirected = _get(index_server.url + "simple/Harness_Demo/")
    no_slash = _get(index_server.url + "simple/harness-demo")
    legacy = _get(index_server.url + "pypi/Harness.Demo/json")

    assert (redirected.status, redirected.headers["Location"]) == (301, "/simple/harness-demo/")
    assert (no_slash.status, no_slash.headers["Location"]) == (301, "/simple/harness-demo/")
    assert (legacy.status, legacy.headers["Location"]) == (301, "/pypi/harness-demo/json")
    assert redirected.headers["Access-Control-Allow-Origin"] == "*"
    assert _get(index_server.project_url("no-such-project")).status == 404
    assert _get(index_server.file_url("nope-1.0-py3-none-any.whl")).status == 404


def test_cors_preflight(index_server):
    response = _get(
        index_server.project_url("harness-demo"),
        {"Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept, x-test"},
        method="OPTIONS",
    )

    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == "accept, x-test"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert index_server.log.count("preflight") == 1


def test_yanked_and_relative_urls(index_server, make_wheel):
    wheel = make_wheel("harness-yanked", "1.0", requires_python="<4,>=3.8")
    index_server.add(wheel, yanked="broken build")
    index_server.relative_urls = True
    document = json.loads(_get(index_server.project_url("harness-yanked"), {"Accept": SIMPLE_JSON}).body)
    html = _get(index_server.project_url("harness-yanked")).body.decode()
    legacy = json.loads(_get(index_server.json_url("harness-yanked")).body)

    assert document["files"][0]["yanked"] == "broken build"
    assert document["files"][0]["url"] == f"../../files/{wheel.filename}"
    assert 'data-yanked="broken build"' in html
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in html
    assert legacy["releases"]["1.0"][0]["url"] == f"../../../files/{wheel.filename}"
    assert urllib.parse.urljoin(index_server.json_url("harness-yanked"), legacy["releases"]["1.0"][0]["url"]) == index_server.file_url(wheel.filename)


def test_faults_and_request_log(index_server):
    path = "/simple/harness-demo/"
    index_server.inject(path, status=503, times=1)
    index_server.inject("/files/harness_dep-1.0.0-py3-none-any.whl", body=b"not a zip")

    assert _get(index_server.url + path[1:]).status == 503
    assert _get(index_server.url + path[1:]).status == 200  # the fault was for one request
    assert _get(index_server.file_url("harness_dep-1.0.0-py3-none-any.whl")).body == b"not a zip"
    assert index_server.log.counts() == {"simple-project": 2, "file": 1}
    assert [e.status for e in index_server.log] == [503, 200, 200]

    index_server.log.reset()
    assert len(index_server.log) == 0


def test_changes_are_undone_between_tests(tmp_path, make_wheel):
    with IndexServer() as server:
        state = server.snapshot()
        server.add(make_wheel("temporary", "1.0"))
        server.core_metadata = False
        server.inject("/simple/", status=500)
        assert _get(server.simple_url).status == 500

        server.restore(state)

        assert server.projects() == []
        assert server.core_metadata is True
        assert _get(server.simple_url).status == 200


def test_simple_index_and_static_mount(index_server, tmp_path):
    (tmp_path / "pyodide.asm.wasm").write_bytes(b"\0asm")
    url = index_server.mount("pyodide", tmp_path)
    document = json.loads(_get(index_server.simple_url, {"Accept": SIMPLE_JSON}).body)
    wasm = _get(url + "pyodide.asm.wasm")

    assert {"name": "luau-wasm"} in document["projects"]
    assert (wasm.status, wasm.body, wasm.headers["Content-Type"]) == (200, b"\0asm", "application/wasm")
    assert _get(url + "../../etc/passwd").status == 404

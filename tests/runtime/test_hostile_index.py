"""Inside Pyodide: hostile or broken index answers are refused, and nothing changes.

The loopback index answers honestly except where a case injects a fault
(``index_server.inject``): a page that is not JSON, an error page served
with 200, a page for another project, ``javascript:`` file URLs, metadata
that does not match its hash or the wheel, a truncated wheel, a redirect
to another scheme. Each case states the error type and what its message
names, and :func:`tests.runtime.safety_probe.check` asserts that nothing
was installed or written and that a good install works afterwards.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.harness.index_server import SIMPLE_JSON
from tests.runtime.safety_probe import check, safety_tally  # noqa: F401 - the fixture prints the tally


@dataclass(frozen=True)
class Case:
    requirements: str
    error: str
    message: tuple[str, ...]
    index_urls: tuple[str, ...] = ()  # default: the server's Simple API


CASES: dict[str, Callable] = {}


def case(function: Callable) -> Callable:
    CASES[function.__name__.replace("_", "-")] = function
    return function


def _page(server, name: str) -> dict:
    return json.loads(server.project_page(name, as_json=True)[1])


def _serve_json(server, name: str, document: dict) -> None:
    server.inject(f"/simple/{name}/", body=json.dumps(document).encode(), content_type=SIMPLE_JSON)


def _page_case(server, make_wheel, name: str, body: bytes, content_type: str, error: str, *message: str) -> Case:
    server.add(make_wheel(name, "1.0"))
    server.inject(f"/simple/{name}/", body=body, content_type=content_type)
    return Case(name, error, (server.project_url(name), *message))


# -- pages ------------------------------------------------------------------------------------------------


@case
def invalid_json(server, make_wheel, name):
    return _page_case(server, make_wheel, name, b'{"name": "x", "files": [', SIMPLE_JSON,
                      "IndexFormatError", "is not valid JSON")


@case
def json_not_an_object(server, make_wheel, name):
    return _page_case(server, make_wheel, name, b'["a", "b"]', SIMPLE_JSON,
                      "IndexFormatError", "expected a JSON object, got list")


@case
def html_not_utf8(server, make_wheel, name):
    return _page_case(server, make_wheel, name, b"<html><body>\xff\xfe\xfd</body></html>", "text/html",
                      "IndexFormatError", "is not UTF-8 HTML")


@case
def html_error_page_with_200(server, make_wheel, name):
    portal = b'<html><body><h1>Please sign in</h1><a href="/login">Sign in</a></body></html>'
    return _page_case(server, make_wheel, name, portal, "text/html",
                      "IndexFormatError", "is not a PEP 503 project page", "'Sign in'")


@case
def html_portal_without_links(server, make_wheel, name):
    # Before: read as an empty project, "... None has no files; this runtime is cp314 ...".
    portal = b"<html><head><title>Guest Wi-Fi</title></head><body><h1>Accept the terms to continue</h1></body></html>"
    return _page_case(server, make_wheel, name, portal, "text/html", "IndexFormatError",
                      "it links no files", "pypi:repository-version", "answered HTTP 200, content type 'text/html'")


@case
def json_error_document_with_200(server, make_wheel, name):
    return _page_case(server, make_wheel, name, b'{"detail": "Not Found"}', SIMPLE_JSON, "IndexFormatError",
                      "has no project name", f"answered HTTP 200, content type {SIMPLE_JSON!r}")


@case
def json_empty_page_without_api_version(server, make_wheel, name):
    body = json.dumps({"name": name, "files": []}).encode()
    return _page_case(server, make_wheel, name, body, SIMPLE_JSON, "IndexFormatError",
                      "lists no files and has no 'meta'", "answered HTTP 200")


@case
def html_error_page_with_503(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    server.inject(f"/simple/{name}/", status=503, body=b"<h1>Service Unavailable</h1>", content_type="text/html")
    return Case(name, "HTTPStatusError",
                (server.project_url(name), "answered HTTP 503 (Service Unavailable) on each of 4 attempts"))


@case
def wrong_content_type(server, make_wheel, name):
    return _page_case(server, make_wheel, name, b"\x89PNG\r\n", "image/png",
                      "IndexFormatError", "content type 'image/png', which is not an index page")


@case
def page_for_another_project(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    server.add(make_wheel("hi-victim", "1.0"))
    _serve_json(server, name, _page(server, "hi-victim"))
    return Case(name, "IndexFormatError",
                (server.project_url(name), "is for project 'hi-victim', but", f"{name!r} was asked for"))


@case
def file_of_another_project(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    server.add(make_wheel("hi-victim", "1.0"))
    document = _page(server, "hi-victim")
    document["name"] = name
    _serve_json(server, name, document)
    # Needed by the case's parent: a dependency nothing here provides (a NoCompatibleFile).
    return Case(name, "UnavailableDependency", (name, "the wheel is for project 'hi-victim'"))


@case
def unknown_api_version(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    document = _page(server, name)
    document["meta"]["api-version"] = "2.0"
    _serve_json(server, name, document)
    return Case(name, "IndexFormatError", (server.project_url(name), "uses API version '2.0'"))


@case
def javascript_file_url(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    document = _page(server, name)
    document["files"][0]["url"] = "javascript:alert(document.cookie)"
    _serve_json(server, name, document)
    return Case(name, "IndexFormatError",
                (server.project_url(name), "disallowed URL scheme 'javascript'", "'javascript:alert(document.cookie)'"))


@case
def data_file_url(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    document = _page(server, name)
    document["files"][0]["url"] = "data:application/zip;base64," + base64.b64encode(wheel.data).decode()
    _serve_json(server, name, document)
    return Case(name, "IndexFormatError", (server.project_url(name), "disallowed URL scheme 'data'"))


@case
def html_javascript_link(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    body = f'<html><body><a href="javascript:fetch(1)#sha256={wheel.sha256}">{wheel.filename}</a></body></html>'
    server.inject(f"/simple/{name}/", body=body.encode(), content_type="text/html")
    return Case(name, "IndexFormatError", (server.project_url(name), "disallowed URL scheme 'javascript'"))


@case
def file_without_hash(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel, metadata=None)
    body = f'<html><body><a href="{server.file_url(wheel.filename)}">{wheel.filename}</a></body></html>'
    server.inject(f"/simple/{name}/", body=body.encode(), content_type="text/html")
    return Case(name, "IndexFormatError", (wheel.filename, "without a hash"))


@case
def hashes_not_strings(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    document = _page(server, name)
    document["files"][0]["hashes"] = {"sha256": 12345}
    _serve_json(server, name, document)
    return Case(name, "IndexFormatError", (server.project_url(name), "must map names to hex strings"))


@case
def legacy_json_for_another_project(server, make_wheel, name):
    server.add(make_wheel(name, "1.0"))
    server.add(make_wheel("hi-victim", "1.0"))
    server.inject(f"/pypi/{name}/json", body=server.legacy_json("hi-victim", None), content_type="application/json")
    return Case(name, "IndexFormatError", (server.json_url(name), "'hi-victim'", f"{name!r} was asked for"),
                index_urls=(server.url + "pypi/{package_name}/json",))


# -- metadata ----------------------------------------------------------------------------------------------


@case
def metadata_hash_mismatch(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    server.inject(f"/files/{wheel.filename}.metadata", body=wheel.metadata + b"Requires-Dist: hi-evil\n")
    return Case(name, "IntegrityError", (server.file_url(wheel.filename) + ".metadata", "Hash mismatch"))


@case
def metadata_for_another_project(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel, metadata=b"Metadata-Version: 2.1\nName: hi-victim\nVersion: 1.0\n")
    return Case(name, "IndexFormatError", (server.file_url(wheel.filename) + ".metadata", "describes hi-victim 1.0"))


@case
def metadata_not_metadata(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel, metadata=b"<html><body>Not found</body></html>")
    return Case(name, "IndexFormatError", (server.file_url(wheel.filename) + ".metadata", "lacks a Name or Version"))


@case
def metadata_disagrees_with_the_wheel(server, make_wheel, name):
    # The index's metadata hides a dependency the wheel declares: resolution never saw it.
    wheel = make_wheel(name, "1.0", requires_dist=["hi-evil-dep"])
    server.add(wheel, metadata=make_wheel(name, "1.0").metadata)
    return Case(name, "InvalidWheel", (
        f"Refusing wheel {wheel.filename} (member '{name.replace('-', '_')}-1.0.dist-info/METADATA')",
        "Requires-Dist is ['hi-evil-dep'] in the wheel but [] in the index's file",
    ))


# -- files -----------------------------------------------------------------------------------------------------


@case
def truncated_wheel(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    half = len(wheel.data) // 2
    server.inject(f"/files/{wheel.filename}", body=wheel.data[:half])
    return Case(name, "IntegrityError",
                (server.file_url(wheel.filename), f"received {half} bytes, the index said {len(wheel.data)}"))


@case
def html_page_instead_of_the_wheel(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    server.inject(f"/files/{wheel.filename}", body=b"<html>Blocked by policy</html>", content_type="text/html")
    return Case(name, "IntegrityError", (server.file_url(wheel.filename), wheel.sha256))


@case
def redirect_to_a_data_url(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    target = "data:application/octet-stream;base64," + base64.b64encode(wheel.data).decode()
    server.inject(f"/files/{wheel.filename}", status=302, headers={"Location": target})
    return Case(name, "NetworkError", (f"Could not fetch {server.file_url(wheel.filename)}", "gave up after 4 attempts"))


@case
def redirect_to_javascript(server, make_wheel, name):
    wheel = make_wheel(name, "1.0")
    server.add(wheel)
    server.inject(f"/files/{wheel.filename}", status=302, headers={"Location": "javascript:alert(1)"})
    return Case(name, "NetworkError", (f"Could not fetch {server.file_url(wheel.filename)}",))


@pytest.mark.parametrize("case_id", list(CASES))
def test_hostile_index_answer_is_refused_and_nothing_changes(selenium, index_server, make_wheel, case_id):
    name = f"hi-{case_id}"
    expected = CASES[case_id](index_server, make_wheel, name)
    good = make_wheel(f"{name}-good", "1.0")
    index_server.add(good)
    index_server.add(make_wheel(f"{name}-parent", "1.0", requires_dist=[expected.requirements]))
    check(
        selenium,
        {"index_urls": list(expected.index_urls or [index_server.simple_url]),
         "requirements": f"{name}-parent",
         "good": {"requirement": good.name, "module": good.name.replace("-", "_"),
                  "index_urls": [index_server.simple_url]}},
        error=expected.error,
        message=expected.message,
    )

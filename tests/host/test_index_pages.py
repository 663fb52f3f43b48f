"""Answers with status 200 that are not project pages are refused, naming URL, status and type.

A captive portal, a proxy's login page or an error page served with 200 has
none of a project page's structure; read as one, it was an empty project
("x None has no files; this runtime is cp314 ...") and the error blamed the
runtime. An empty project's page is valid only when it says what it is: JSON
with ``meta.api-version`` and ``files: []`` (PEP 691), HTML with
``<meta name="pypi:repository-version">`` (PEP 629).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from micropkg.errors import IndexFormatError
from micropkg.index.client import Index
from micropkg.model.simple import parse_json_page
from micropkg.model.simple_html import parse_html_page
from micropkg.net.transport import MockTransport, Response

INDEX = "https://idx.example/simple"
PAGE = "https://idx.example/simple/demo/"
JSON = "application/vnd.pypi.simple.v1+json"


def project(body: bytes, content_type: str):
    transport = MockTransport(lambda r: Response(r.url, 200, {"content-type": content_type}, body))
    return asyncio.run(Index(INDEX, transport).project("demo"))


NOT_PAGES = [
    # HTML without one link: a portal, a proxy's block page, a CDN's error page.
    (b"<html><head><title>Wi-Fi</title></head><body><h1>Please accept the terms</h1></body></html>",
     "text/html", "it links no files and lacks the <meta name=\"pypi:repository-version\">"),
    (b"", "text/html", "it links no files"),
    (b"<html><body><a name='top'></a>Service unavailable</body></html>", "text/html", "it links no files"),
    (b"<html><body>Maintenance</body></html>", "application/vnd.pypi.simple.v1+html", "it links no files"),
    # JSON that is not a project page.
    (b'{"detail": "Not Found"}', JSON, "has no project name"),
    (b'{"message": "Forbidden", "code": 403}', "application/json", "has no project name"),
    (b'{"name": "demo"}', JSON, "has no 'files' list"),
    (b'{"name": "demo", "files": {}}', JSON, "has no 'files' list"),
    (b'{"name": "demo", "files": []}', JSON, "lists no files and has no 'meta'"),
    (b'{"meta": {}, "name": "demo", "files": []}', JSON, "lists no files and has no 'meta'"),
    (b'["demo"]', JSON, "expected a JSON object, got list"),
    (b'"demo"', "application/json", "expected a JSON object, got str"),
    (b"null", JSON, "expected a JSON object, got NoneType"),
]


@pytest.mark.parametrize(("body", "content_type", "problem"), NOT_PAGES)
def test_an_answer_that_is_not_a_project_page_names_url_status_and_type(body, content_type, problem):
    with pytest.raises(IndexFormatError) as info:
        project(body, content_type)
    message = str(info.value)
    assert problem in message
    assert PAGE in message and info.value.url == PAGE
    assert f"answered HTTP 200, content type {content_type!r}, {len(body)} bytes" in message


def test_an_empty_project_page_says_what_it_is():
    html = b'<html><head><meta name="pypi:repository-version" content="1.0"></head><body></body></html>'
    assert project(html, "text/html").files == ()
    document = {"meta": {"api-version": "1.1"}, "name": "demo", "files": []}
    assert project(json.dumps(document).encode(), JSON).files == ()


def test_an_unknown_repository_version_is_refused():
    html = b'<meta name="pypi:repository-version" content="2.0"><a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a>'
    with pytest.raises(IndexFormatError, match="uses repository version '2.0'; micropkg understands 1.x"):
        parse_html_page(PAGE, html, "demo")


def test_pages_with_files_need_no_version_statement():
    # Many static indexes (and older PyPI mirrors) omit both; their links say what they are.
    html = b'<a href="demo-1.0-py3-none-any.whl#sha256=' + b"ab" * 32 + b'">demo-1.0-py3-none-any.whl</a>'
    assert parse_html_page(PAGE, html, "demo").files[0].filename == "demo-1.0-py3-none-any.whl"
    document = {"name": "demo", "files": [{"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz"}]}
    assert parse_json_page(PAGE, json.dumps(document).encode()).files[0].filename == "demo-1.0.tar.gz"

"""Parsing project pages: PEP 691 JSON, PEP 503 HTML, PyPI's legacy JSON."""

import json

import pytest

from micropkg.errors import IndexFormatError
from micropkg.model.simple import DistFile, ProjectPage, parse_json_page
from micropkg.model.simple_html import parse_html_page, parse_legacy_json

URL = "https://index.example/simple/luau-wasm/"
SHA = "a" * 64


def test_json_page_fields():
    body = json.dumps({
        "meta": {"api-version": "1.1"},
        "name": "Luau_Wasm",
        "versions": ["0.1a0"],
        "files": [{
            "filename": "luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "url": "../../files/luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "hashes": {"sha256": SHA.upper()},
            "requires-python": ">=3.14",
            "yanked": "broken",
            "core-metadata": {"sha256": "b" * 64},
            "size": 272000,
            "upload-time": "2026-10-01T00:00:00Z",
        }],
    }).encode()
    page = parse_json_page(URL, body, "luau-wasm")
    assert page.name == "luau-wasm" and page.versions == ("0.1a0",)
    (f,) = page.files
    assert f.url == "https://index.example/files/luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert f.hashes == {"sha256": SHA}
    assert f.requires_python == ">=3.14" and f.yanked == "broken" and f.size == 272000
    assert f.core_metadata == {"sha256": "b" * 64}
    assert f.metadata_url == f.url + ".metadata"


def test_json_core_metadata_true_and_absent():
    files = [
        {"filename": "a-1-py3-none-any.whl", "url": "a-1-py3-none-any.whl", "core-metadata": True},
        {"filename": "a-2-py3-none-any.whl", "url": "a-2-py3-none-any.whl"},
        {"filename": "a-3-py3-none-any.whl", "url": "a-3-py3-none-any.whl", "dist-info-metadata": {"sha256": SHA}},
    ]
    page = parse_json_page(URL, json.dumps({"name": "a", "files": files}).encode())
    assert [f.core_metadata for f in page.files] == [{}, None, {"sha256": SHA}]
    assert all(f.yanked is None for f in page.files)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html>502 Bad Gateway</html>", "is not valid JSON"),
        (b"[]", "expected a JSON object"),
        (json.dumps({"meta": {"api-version": "2.0"}, "name": "a", "files": []}).encode(), "API version '2.0'"),
        (json.dumps({"name": "other", "files": []}).encode(), "is for project 'other'"),
        (json.dumps({"name": "a"}).encode(), "no 'files' list"),
        (json.dumps({"name": "a", "files": [{"url": "x"}]}).encode(), "lacks 'filename'"),
        (json.dumps({"name": "a", "files": [{"filename": "a-1-py3-none-any.whl", "url": "javascript:alert(1)"}]}).encode(),
         "disallowed URL scheme 'javascript'"),
    ],
)
def test_json_page_refusals_name_the_url(body, message):
    with pytest.raises(IndexFormatError) as info:
        parse_json_page(URL, body, "a").files  # file entries are checked when built
    assert message in str(info.value) and URL in str(info.value)


def _entry(filename: str, url: str | None = None) -> dict:
    return {"filename": filename, "url": url or f"https://f.example/{filename}", "hashes": {"sha256": SHA}}


def test_wheels_for_builds_only_the_wheels_that_may_fit():
    names = [
        "a-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "a-1.0-py3-none-any.whl", "a-1.0.tar.gz",
        "a-1.0-cp314-cp314-manylinux_2_17_x86_64.whl", "a-1.0-cp314-cp314-win_amd64.whl",
        "a-1.0-cp314-cp314-manylinux_2_17_x86_64.pyemscripten_2026_0_wasm32.whl",  # a compressed tag set
        "a-1.0-cp314-cp314-PYEMSCRIPTEN_2026_0_WASM32.whl",  # odd spelling: left to the full check
    ]
    # A broken URL on a file that cannot fit is never built, so it cannot fail the page.
    entries = [_entry(n) for n in names] + [_entry("a-1.0-cp314-cp314-macosx_11_0_arm64.whl", "javascript:x")]
    page = parse_json_page(URL, json.dumps({"name": "a", "files": entries}).encode(), "a")
    picked = page.wheels_for(frozenset({"any", "pyemscripten_2026_0_wasm32"}))
    assert [f.filename for f in picked] == [names[0], names[1], names[5], names[6]]
    assert picked[0].hashes == {"sha256": SHA} and picked[0].url == f"https://f.example/{names[0]}"
    with pytest.raises(IndexFormatError, match="javascript"):
        page.files  # every file, the broken one too


def test_wheels_for_names_a_malformed_entry():
    body = json.dumps({"name": "a", "files": [_entry("a-1.0-py3-none-any.whl"), {"url": "x"}]}).encode()
    with pytest.raises(IndexFormatError, match="lacks 'filename'"):
        parse_json_page(URL, body, "a").wheels_for(frozenset({"any"}))


def test_html_page():
    body = f"""<!DOCTYPE html><html><body>
    <a href="/files/a-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.8"
       data-core-metadata="sha256={'c' * 64}">a-1.0-py3-none-any.whl</a>
    <a href="https://other.example/a-0.9.tar.gz" data-yanked="">a-0.9.tar.gz</a>
    <a href="a-0.8-py3-none-any.whl" data-dist-info-metadata="true" data-yanked="bad build">a-0.8-py3-none-any.whl</a>
    </body></html>""".encode()
    page = parse_html_page(URL, body, "A")
    assert page.name == "a"
    one, sdist, old = page.files
    assert one.url == "https://index.example/files/a-1.0-py3-none-any.whl"
    assert one.hashes == {"sha256": SHA} and one.requires_python == ">=3.8"
    assert one.core_metadata == {"sha256": "c" * 64} and one.yanked is None
    assert sdist.yanked == "" and sdist.url == "https://other.example/a-0.9.tar.gz"
    assert old.yanked == "bad build" and old.core_metadata == {}
    assert old.url == URL + "a-0.8-py3-none-any.whl"


def test_html_page_refuses_data_urls():
    body = b'<a href="data:application/zip;base64,AAAA">a-1-py3-none-any.whl</a>'
    with pytest.raises(IndexFormatError, match="disallowed URL scheme 'data'"):
        parse_html_page(URL, body, "a")


def test_legacy_json():
    body = json.dumps({
        "info": {"name": "msgpack"},
        "releases": {
            "1.2.4": [{
                "filename": "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
                "url": "https://files.example/msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
                "digests": {"sha256": SHA, "md5": "0" * 32},
                "requires_python": ">=3.10", "yanked": False, "size": 10,
            }],
            "0.1": [],
        },
    }).encode()
    page = parse_legacy_json("https://pypi.example/pypi/msgpack/json", body, "msgpack")
    (f,) = page.files
    assert f.hashes["sha256"] == SHA and f.requires_python == ">=3.10" and f.yanked is None
    assert set(page.versions) == {"1.2.4", "0.1"}


def test_a_merged_page_stays_lazy_and_keeps_the_order_of_its_pages():
    # An index page merged with the Pyodide distribution's (or another index's) entry.
    entries = [_entry("a-1.0-py3-none-any.whl"), _entry("a-1.0-cp314-cp314-win_amd64.whl", "javascript:x")]
    big = parse_json_page(URL, json.dumps({"name": "a", "files": entries}).encode(), "a")
    small = ProjectPage("a", "https://dist.example/pyodide-lock.json", [DistFile("a-0.9-py3-none-any.whl", "https://cdn.example/a-0.9-py3-none-any.whl")])
    merged = ProjectPage.merged([big, small])
    assert (merged.name, merged.url) == ("a", URL)
    assert [f.filename for f in merged.wheels_for(frozenset({"any"}))] == ["a-1.0-py3-none-any.whl", "a-0.9-py3-none-any.whl"]
    with pytest.raises(IndexFormatError, match="javascript"):
        merged.files  # every file of every page: the broken one is built now


def test_normalized_name_is_packagings_canonical_name():
    from hypothesis import given
    from hypothesis import strategies as st
    from packaging.utils import canonicalize_name

    from micropkg.model.simple import normalized_name

    @given(st.text(alphabet="aAzZ09-_.~ ", max_size=12))
    def same(name):
        assert normalized_name(name) == canonicalize_name(name)

    same()
    assert normalized_name("Zope.Interface__x--Y") == "zope-interface-x-y"

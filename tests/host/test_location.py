"""model.location: the scheme rule, against urllib.parse.urlsplit as an oracle."""

from __future__ import annotations

import random
import urllib.parse

from micropkg.model.location import _PLAIN_PATH, _PLAIN_URL, filename_of, is_absolute, join_location, scheme_of

ALPHABET = "aZ09+-.:/\\@ \t\r\n\x00\x1f%#?é"


def test_scheme_of_is_urlsplits_scheme() -> None:
    rng = random.Random(3986)
    samples = [
        "https://pypi.org/simple/", "HTTP://x", "emfs:/tmp/a.whl", "file:///x", "/abs/path", "rel/path.whl",
        "c:\\windows", "1http://x", "+x:y", "a+b-c.d:rest", " \t https://x", "ht\ttps://x", "ht\ntp:x", ":x", "",
        "name @ https://x/y.whl", "x" * 40 + ":y", "\x00\x1fhttps:x",
    ]
    samples += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    for text in samples:
        assert scheme_of(text) == urllib.parse.urlsplit(text).scheme, repr(text)


def test_joins_and_absolutes_keep_their_rules() -> None:
    assert join_location("https://host/simple/x/", "../../f/a.whl") == "https://host/f/a.whl"
    assert join_location("emfs:/lock/pyodide-lock.json", "a.whl") == "emfs:/lock/a.whl"
    assert join_location("https://host/a", "https://other/b") == "https://other/b"
    assert is_absolute("/x") and is_absolute("emfs:x") and not is_absolute("x/y")


def test_joins_onto_http_urls_are_urljoins() -> None:
    # join_location takes a relative path onto an http(s) URL without urllib.parse (issue 17):
    # the same answer as urljoin, for the plain forms it takes and the rest it hands over.
    rng = random.Random(1808)
    bases = ["https://host", "https://host/", "http://127.0.0.1:8000/a/b/pylock.toml", "https://h/a/b/",
             "https://h/simple/x/?q=1#f", "https://user@h:443/a/./b/../c", "https://h/a%20b/c", "http://[::1]:80/x/y"]
    pieces = ["a", "b.whl", ".", "..", "...", "", "x:y", "1x:y", "%41", "?q", "#f", "//h", "/", "~u", "é", " ", ";p", "a=b"]
    relatives = ["../../f/a.whl", "./x.whl", "a/..", "x/.", "..", ".", "//other/x", "/root.whl", "?only", "#frag"]
    relatives += ["/".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(20_000)]
    for relative in relatives:
        base = rng.choice(bases)
        assert join_location(base, relative) == urllib.parse.urljoin(base, relative), (base, relative)
    # Not vacuous: most of them take the fast path.
    assert sum(bool(_PLAIN_PATH.fullmatch(r)) and not r.startswith("//") for r in relatives) > 5_000


def test_filenames_are_urlsplits_last_segment_unquoted() -> None:
    rng = random.Random(658)
    pieces = ["https://h", "http://h:1", "emfs:", "/", "a", "b.whl", "%2B", "?", "#", "=", "x:y", ".", "..", "é", " ", "~"]
    urls = ["https://files.example/packages/ab/cd/demo-1.0-py3-none-any.whl#sha256=00", "https://h", "/tmp/x.whl"]
    urls += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(20_000)]
    for url in urls:
        expected = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        assert filename_of(url) == expected, url
    assert sum(bool(_PLAIN_URL.fullmatch(u.split("#", 1)[0].split("?", 1)[0])) for u in urls) > 500
    # ... and the relative names (a Pyodide lockfile's file_name) take the other fast path.
    urls += ["markdown_it_py-4.0.0-py3-none-any.whl", "sub/dir/x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"]
    assert sum(not scheme_of(u) and bool(_PLAIN_PATH.fullmatch(u)) for u in urls) > 500
    for url in urls[-2:]:
        assert filename_of(url) == urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]

"""model.location: the scheme rule, against urllib.parse.urlsplit as an oracle."""

from __future__ import annotations

import random
import urllib.parse

from micropkg.model.location import is_absolute, join_location, scheme_of

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

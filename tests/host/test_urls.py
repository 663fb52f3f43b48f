"""micropkg.net.urls reads a plain URL's scheme, host and port as urllib.parse does (an oracle test).

The fast path exists so that an install's first request need not wait for
urllib.parse to compile in a fresh Pyodide; it must never judge a URL
differently: where it answers, urlsplit's answer is the same, and what it
does not answer (None) goes to urlsplit.
"""

import random
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micropkg.net.transport import redact_url, require_secure_url, split_credentials
from micropkg.net.urls import plain_parts


def oracle(url: str):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


CASES = [
    "https://pypi.org/simple", "https://pypi.org/simple/", "HTTPS://PyPI.org:443/Simple/six/",
    "http://127.0.0.1:8000/simple/", "http://localhost/x?y=1#z", "https://files.pythonhosted.org/a/b.whl#sha256=00",
    "https://host:0/", "https://host:00080/", "https://h/{package_name}/json", "git+https://h/x", "https://a..b/-",
    "https://h/%20x", "https://h?q", "https://h#f", "https://h",
]
REFUSED = [
    "https://user:pw@host/simple", "https://[::1]:8000/", "https://h:99999/", " https://h/", "https://h/ x",
    "https://h\t/", "https://h\\x", "https://hé/", "https:/h", "//h/x", "h/x", "https://h:/", "1http://h/", "",
]


@pytest.mark.parametrize("url", CASES)
def test_plain_urls_read_as_urlsplit_reads_them(url):
    assert plain_parts(url) == oracle(url)


@pytest.mark.parametrize("url", REFUSED)
def test_anything_unusual_is_left_to_urlsplit(url):
    assert plain_parts(url) is None


_ALPHABET = "aZ09.-+:/?#@[]%\\ \t~_!$&'()*,;=é"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=30), st.sampled_from(["https://", "http://", "HTTP://", "a+b.c-d://", "1x://", ""]))
def test_where_it_answers_urlsplit_agrees(tail, scheme):
    url = scheme + tail
    answer = plain_parts(url)
    if answer is None:
        return
    assert answer == oracle(url), url


def test_the_checks_built_on_it_answer_as_before():
    rng = random.Random(7)
    hosts = ["pypi.org", "127.0.0.1", "localhost", "example.com", "127.1.2.3", "x.localhost"]
    for _ in range(500):
        url = f"{rng.choice(['http', 'https'])}://{rng.choice(hosts)}{rng.choice(['', ':8080'])}/{rng.choice(['', 'simple/', 'a?b#c'])}"
        assert redact_url(url) == url and split_credentials(url) == (url, {})
        try:
            require_secure_url(url)
            allowed = True
        except Exception:
            allowed = False
        host = urllib.parse.urlsplit(url).hostname
        assert allowed == (url.startswith("https") or host in ("127.0.0.1", "localhost", "127.1.2.3", "x.localhost")), url

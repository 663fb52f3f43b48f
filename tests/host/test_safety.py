"""Safety on the host: which URLs are fetched, where credentials go, and installs that
undo themselves when native code fails to load after the files were written.

The same cases run inside Pyodide, against the loopback index, in
``tests/runtime/test_safety.py`` and ``tests/runtime/test_hostile_*.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

import micropkg
from micropkg.errors import HTTPStatusError, IndexFormatError, InsecureURL, InstallError, InvalidWheel
from micropkg.index.client import Index
from micropkg.installation.installer import check_metadata_agrees, install_plan
from micropkg.model.candidates import Candidate
from micropkg.model.metadata import parse_metadata
from micropkg.model.plan import Pin, Plan
from micropkg.model.simple import DistFile
from micropkg.model.simple_html import parse_html_page
from micropkg.model.sources import IndexSource
from micropkg.model.wheel import Wheel
from micropkg.net.transport import (
    MockTransport,
    Request,
    Response,
    SecureTransport,
    is_loopback,
    redact_url,
    require_secure_url,
    split_credentials,
)
from tests.harness.wheels import make_wheel

from .sites import snapshot

JSON = {"content-type": "application/vnd.pypi.simple.v1+json"}


def run(coro):
    return asyncio.run(coro)


# -- which URLs are fetched --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://pypi.org/simple",
        "http://127.0.0.1:8000/simple/",
        "http://127.9.9.9/simple/",
        "http://localhost:8000/simple/",
        "http://LOCALHOST/simple/",
        "http://index.localhost/simple/",
        "http://[::1]:8000/simple/",
    ],
)
def test_https_and_loopback_http_are_fetched(url: str) -> None:
    require_secure_url(url)


@pytest.mark.parametrize(
    "url, host",
    [
        ("http://pypi.org/simple", "pypi.org"),
        ("http://10.0.0.1/simple", "10.0.0.1"),
        ("http://127.0.0.1.nip.io/simple", "127.0.0.1.nip.io"),  # a name, whatever it spells
        ("http://0.0.0.0:8000/simple", "0.0.0.0"),
        ("http://[::2]/simple", "::2"),
    ],
)
def test_plain_http_elsewhere_is_refused_unless_allowed(url: str, host: str) -> None:
    with pytest.raises(InsecureURL) as info:
        require_secure_url(url, what="index URL")
    message = str(info.value)
    assert message.startswith(f"Refusing to fetch index URL {url} over plain http: {host!r} is not this machine")
    assert "allow_insecure_http=True" in message and info.value.url == url
    require_secure_url(url, allow_insecure_http=True)


@pytest.mark.parametrize("url", ["ftp://host/simple", "javascript:alert(1)", "data:text/html,x", "file:///etc"])
def test_other_schemes_are_refused_even_when_http_is_allowed(url: str) -> None:
    scheme = url.split(":")[0]
    with pytest.raises(InsecureURL, match=f"uses the scheme {scheme!r}"):
        require_secure_url(url, allow_insecure_http=True)


def test_refusals_do_not_show_credentials() -> None:
    with pytest.raises(InsecureURL) as info:
        require_secure_url("http://alice:s3cret@mirror.example/simple")
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
    assert info.value.url == "http://mirror.example/simple"


@pytest.mark.parametrize(
    "host, loopback",
    [("localhost", True), ("127.0.0.1", True), ("127.255.0.3", True), ("::1", True), ("[::1]", True),
     ("localhost.", True), ("128.0.0.1", False), ("example.com", False), ("", False), (None, False)],
)
def test_is_loopback(host, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_split_credentials_makes_a_basic_header_and_a_clean_url() -> None:
    url, headers = split_credentials("https://us%40er:p%3Ass@idx.example:8443/simple/")
    assert url == "https://idx.example:8443/simple/"
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"us@er:p:ss"
    assert split_credentials("https://idx.example/simple/") == ("https://idx.example/simple/", {})
    assert redact_url("https://token@idx.example/x?y=1#z") == "https://idx.example/x?y=1#z"


def _redirecting(final_url: str) -> MockTransport:
    return MockTransport(lambda request: Response(final_url, 200, {}, b"answer"))


@pytest.mark.parametrize(
    "start, final",
    [
        ("https://pypi.example/simple/demo/", "http://pypi.example/simple/demo/"),
        ("https://pypi.example/simple/demo/", "http://127.0.0.1/simple/demo/"),  # leaving https is enough
        ("http://127.0.0.1:9/simple/demo/", "http://evil.example/simple/demo/"),
        ("https://pypi.example/simple/demo/", "ftp://pypi.example/simple/demo/"),
    ],
)
def test_insecure_redirects_are_refused(start: str, final: str) -> None:
    transport = SecureTransport(_redirecting(final))
    with pytest.raises(InsecureURL) as info:
        run(transport.fetch(Request(start)))
    assert final in str(info.value)
    assert info.value.url == final


def test_secure_redirects_and_opted_in_http_are_followed() -> None:
    for start, final, allow in [
        ("https://pypi.example/simple/Demo/", "https://pypi.example/simple/demo/", False),
        ("http://127.0.0.1:9/simple/demo/", "https://files.example/demo/", False),  # an upgrade
        ("https://pypi.example/simple/demo/", "http://mirror.example/simple/demo/", True),
    ]:
        response = run(SecureTransport(_redirecting(final), allow_insecure_http=allow).fetch(Request(start)))
        assert response.body == b"answer"


def test_an_insecure_request_never_leaves() -> None:
    inner = _redirecting("http://mirror.example/x")
    with pytest.raises(InsecureURL):
        run(SecureTransport(inner).fetch(Request("http://mirror.example/x")))
    assert inner.requests == []


def test_the_public_api_refuses_http_indexes_and_wheel_urls_before_fetching() -> None:
    with pytest.raises(InsecureURL, match="index URL http://mirror.example/simple over plain http"):
        run(micropkg.resolve("demo", index_urls=["http://mirror.example/simple"]))
    with pytest.raises(InsecureURL, match="wheel URL http://files.example/demo-1.0-py3-none-any.whl"):
        run(micropkg.install("http://files.example/demo-1.0-py3-none-any.whl"))


# -- credentials stay with their origin ----------------------------------------------------------

WHEEL = b"wheel bytes"


def _index_transport(file_url: str) -> MockTransport:
    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": file_url,
                "hashes": {"sha256": hashlib.sha256(WHEEL).hexdigest()},
                "core-metadata": True,
            }
        ],
    }

    def handler(request: Request) -> Response:
        if request.url.endswith(".metadata"):
            return Response(request.url, 200, {}, b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        if request.url.endswith(".whl"):
            return Response(request.url, 200, {}, WHEEL)
        if request.url.endswith("/missing/"):
            return Response(request.url, 500, {"content-type": "text/plain"}, b"oops")
        return Response(request.url, 200, JSON, json.dumps(page).encode())

    return MockTransport(handler)


@pytest.mark.parametrize(
    "file_url, file_gets_credentials",
    [
        ("https://idx.example/files/demo-1.0-py3-none-any.whl", True),
        ("https://files.example/demo-1.0-py3-none-any.whl", False),  # another host
        ("https://idx.example:8443/files/demo-1.0-py3-none-any.whl", False),  # another port
        ("http://idx.example/files/demo-1.0-py3-none-any.whl", False),  # another scheme
    ],
)
def test_credentials_in_the_index_url_go_only_to_its_origin(file_url: str, file_gets_credentials: bool) -> None:
    transport = _index_transport(file_url)
    index = Index("https://alice:s3cret@idx.example/simple/", transport)
    assert index.url == "https://idx.example/simple/"
    page = run(index.project("demo"))
    run(index.metadata(page.files[0]))
    run(index.wheel(page.files[0]))
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    page_request, metadata_request, file_request = transport.requests
    assert all("s3cret" not in r.url and "alice" not in r.url for r in transport.requests)
    assert page_request.headers["Authorization"] == expected
    assert ("Authorization" in metadata_request.headers) is file_gets_credentials
    assert ("Authorization" in file_request.headers) is file_gets_credentials


def test_credentials_never_appear_in_error_messages() -> None:
    index = Index("https://alice:s3cret@idx.example/simple/", _index_transport("https://idx.example/f.whl"))
    with pytest.raises(HTTPStatusError) as info:
        run(index.project("missing"))
    assert "https://idx.example/simple/missing/" in str(info.value)
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)


# -- index pages that are something else --------------------------------------------------------


def test_an_html_page_whose_links_are_not_distributions_is_refused() -> None:
    body = b'<html><body><h1>Sign in to continue</h1><a href="/login">Log in</a></body></html>'
    with pytest.raises(IndexFormatError) as info:
        parse_html_page("https://portal.example/simple/demo/", body, "demo")
    assert str(info.value) == (
        "Index page https://portal.example/simple/demo/ is not a PEP 503 project page: none of its 1 links"
        " is a distribution file (the first is 'Log in'). Check the index URL."
    )
    # A project without files is still a project page, when it says it is one (PEP 629);
    # without that, a page with no links is a portal's or an error page (test_index_pages.py).
    meta = b'<html><head><meta name="pypi:repository-version" content="1.1"></head><body></body></html>'
    assert parse_html_page("https://idx.example/simple/demo/", meta, "demo").files == ()
    with pytest.raises(IndexFormatError, match="it links no files"):
        parse_html_page("https://idx.example/simple/demo/", b"<html><body></body></html>", "demo")


# -- the wheel's METADATA must be what the resolver used --------------------------------------------


def _wheel_with_metadata(metadata: bytes) -> Wheel:
    return Wheel.from_bytes(*make_wheel("demo", "1.0", metadata=metadata).file)


BASE = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def test_metadata_that_agrees_in_another_spelling_passes() -> None:
    wheel = _wheel_with_metadata(
        BASE + b"Requires-Python: >=3.8,<4\nRequires-Dist: Foo_Bar>=1.0\nRequires-Dist: b; extra == 'x'\n"
        b"Provides-Extra: x\n"
    )
    used = parse_metadata(
        BASE + b"Provides-Extra: X\nRequires-Dist: b ; extra == 'x'\nRequires-Dist: foo-bar >=1.0\n"
        b"Requires-Python: <4,>=3.8\n",
        source="https://idx.example/demo.whl.metadata",
    )
    check_metadata_agrees(wheel, used, "https://idx.example/demo.whl.metadata")


@pytest.mark.parametrize(
    "wheel_extra, index_extra, field",
    [
        (b"Requires-Dist: evil\n", b"", "Requires-Dist"),
        (b"Requires-Dist: dep>=2\n", b"Requires-Dist: dep>=1\n", "Requires-Dist"),
        (b"Requires-Python: >=3.13\n", b"", "Requires-Python"),
        (b"Provides-Extra: more\n", b"", "Provides-Extra"),
    ],
)
def test_metadata_that_disagrees_is_refused(wheel_extra: bytes, index_extra: bytes, field: str) -> None:
    wheel = _wheel_with_metadata(BASE + wheel_extra)
    used = parse_metadata(BASE + index_extra, source="index")
    with pytest.raises(InvalidWheel) as info:
        check_metadata_agrees(wheel, used, "https://alice:pw@idx.example/demo.whl.metadata")
    message = str(info.value)
    assert info.value.filename == "demo-1.0-py3-none-any.whl"
    assert info.value.member == "demo-1.0.dist-info/METADATA"
    assert f"{field} is " in message and "https://idx.example/demo.whl.metadata" in message
    assert "pw" not in message


# -- install_plan: the transaction stays open until native code has loaded ---------------------------


class FakeCatalog:
    """What install_plan reads from its Downloads: downloaded wheels (the metadata used is on each pin)."""

    first_wheel_at = None  # no download started during a resolution

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.used: dict[str, object] = {}

    def add(self, filename: str, data: bytes, metadata: bytes | None = None) -> Pin:
        wheel = Wheel.from_bytes(filename, data)
        url = f"https://idx.example/files/{filename}"
        self.blobs[url] = data
        self.used[url] = parse_metadata(metadata or wheel.metadata, source=url + ".metadata")
        file = DistFile(filename, url, {"sha256": hashlib.sha256(data).hexdigest()})
        candidate = Candidate(canonicalize_name(wheel.name), Version(str(wheel.version)), file, IndexSource("https://idx.example/simple/"))
        return Pin(candidate.name, candidate.version, candidate, ("the request",), self.used[url])

    async def wheel(self, candidate: Candidate) -> bytes:
        return self.blobs[candidate.file.url]

    async def verified_wheel(self, candidate: Candidate) -> Wheel:
        return Wheel.from_bytes(candidate.file.filename, self.blobs[candidate.file.url])

    def metadata(self, candidate: Candidate):
        return self.used[candidate.file.url]

    def from_distribution(self, candidate: Candidate) -> bool:
        return False  # every wheel here came from an index, with PEP 658 metadata


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site-packages"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    yield path
    for name in [n for n, m in sys.modules.items() if str(getattr(m, "__file__", "")).startswith(str(path))]:
        del sys.modules[name]


def _install(site: Path, pins: list[Pin], catalog: FakeCatalog, load_dynlibs) -> list:
    return run(
        install_plan(
            Plan(pins), catalog, site,
            requested={p.name for p in pins},
            load_dynlibs=load_dynlibs,
            dynlibs_to_load=lambda paths: [p for p in paths if p.endswith(".so")],
        )
    )


async def _loads(root: Path, paths) -> None:
    return None


def _failing_on(library: str, *, import_first: str | None = None):
    async def load(root: Path, paths) -> None:
        if import_first is not None:
            importlib.invalidate_caches()
            importlib.import_module(import_first)  # something ran code from the new files
        if library in paths:
            raise RuntimeError(f"WebAssembly.Module(): expected magic word in {library}")

    return load


def _native(name: str, version: str = "1.0", value: int = 1) -> tuple[str, bytes]:
    package = name.replace("-", "_")
    return make_wheel(name, version, files={
        f"{package}/__init__.py": f"VALUE = {value}\n".encode(),
        f"{package}/_speedups.so": b"not wasm",
    }).file


def test_native_code_failing_to_load_rolls_back_every_wheel(site: Path) -> None:
    catalog = FakeCatalog()
    pins = [catalog.add(*make_wheel("pure", "1.0").file), catalog.add(*_native("native"))]
    before = snapshot(site)
    with pytest.raises(InstallError) as info:
        _install(site, pins, catalog, _failing_on("native/_speedups.so", import_first="pure"))
    assert str(info.value) == (
        "Could not install native-1.0-py3-none-any.whl: loading its native code failed: WebAssembly.Module():"
        " expected magic word in native/_speedups.so. Nothing was installed: every change to"
        f" {str(site.resolve())!r} was rolled back."
    )
    assert snapshot(site) == before  # no files, no rollback directory
    assert "pure" not in sys.modules  # imported from a file that no longer exists


def test_a_failed_reinstall_keeps_the_old_version_and_its_modules(site: Path) -> None:
    catalog = FakeCatalog()
    _install(site, [catalog.add(*_native("demo", "1.0", value=1))], catalog, _loads)
    import demo  # noqa: PLC0415 - the old version, imported before the upgrade

    old_module, before = demo, snapshot(site)
    with pytest.raises(InstallError, match="loading its native code failed"):
        _install(site, [catalog.add(*_native("demo", "2.0", value=2))], catalog, _failing_on("demo/_speedups.so"))
    assert snapshot(site) == before
    assert sys.modules["demo"] is old_module and old_module.VALUE == 1


def test_a_successful_upgrade_forgets_the_old_modules(site: Path) -> None:
    catalog = FakeCatalog()
    _install(site, [catalog.add(*_native("demo", "1.0", value=1))], catalog, _loads)
    import demo  # noqa: F401, PLC0415

    installed = _install(site, [catalog.add(*_native("demo", "2.0", value=2))], catalog, _loads)
    assert [(i.name, i.version) for i in installed] == [("demo", "2.0")]
    assert "demo" not in sys.modules
    assert importlib.import_module("demo").VALUE == 2


def test_an_interrupt_while_loading_rolls_back_and_propagates(site: Path) -> None:
    async def interrupted(root: Path, paths) -> None:
        raise KeyboardInterrupt

    catalog = FakeCatalog()
    before = snapshot(site)
    with pytest.raises(KeyboardInterrupt):
        _install(site, [catalog.add(*_native("demo"))], catalog, interrupted)
    assert snapshot(site) == before


def test_metadata_disagreeing_with_the_resolvers_writes_nothing(site: Path) -> None:
    catalog = FakeCatalog()
    filename, data = make_wheel("demo", "1.0", metadata=BASE + b"Requires-Dist: evil\n").file
    pin = catalog.add(filename, data, metadata=BASE)
    with pytest.raises(InvalidWheel, match="Requires-Dist is \\['evil'\\] in the wheel but \\[\\]"):
        _install(site, [pin], catalog, _loads)
    assert snapshot(site) == {}


def test_a_wheel_whose_tags_do_not_fit_the_runtime_writes_nothing(site: Path) -> None:
    # A direct wheel URL is not judged by tag while resolving; the installer judges it.
    from micropkg.model.tags import PlatformInfo
    from micropkg.model.target import Target

    target = Target.for_platform(PlatformInfo(python_version=(3, 14), abi_version="2026_0"))
    catalog = FakeCatalog()
    pins = [catalog.add(*make_wheel("pure", "1.0").file),
            catalog.add(*make_wheel("native", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64").file)]
    with pytest.raises(InvalidWheel) as info:
        run(install_plan(Plan(pins), catalog, site, requested=(), load_dynlibs=_loads,
                         dynlibs_to_load=lambda paths: [], target=target))
    assert str(info.value) == (
        "Refusing wheel native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl: its tags"
        " (cp312-cp312-manylinux_2_17_x86_64) do not fit this runtime (cp314 pyemscripten_2026_0);"
        " its native code could not load here. Use a pure-Python wheel or one built for this runtime."
    )
    assert snapshot(site) == {}
    _install(site, [pins[0]], catalog, _loads)  # without a target nothing is judged

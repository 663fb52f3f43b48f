"""Sources on the host: several indexes (first-index and merge), per-index headers,
what moves on to the next index and what does not, direct references with a
``#sha256=`` fragment, and the Pyodide distribution's lockfile as a source.

Every network is a MockTransport: a dict of URL -> answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from packaging.utils import parse_wheel_filename

from micropkg.errors import HTTPStatusError, IndexFormatError, IntegrityError, ProjectNotFound
from micropkg.index.client import Index
from micropkg.index.distribution import Distribution
from micropkg.index.entries import index_entries, index_list
from micropkg.installation.installer import download_and_verify
from micropkg.model.requirements import parse_requirements
from micropkg.net.transport import MockTransport, Response
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve
from tests.harness.pages import PageFile, project_json
from tests.harness.wheels import make_wheel

from .test_resolver_scenarios import TARGET

JSON = {"content-type": "application/vnd.pypi.simple.v1+json"}
PRIVATE = "https://private.example/simple"
PUBLIC = "https://public.example/simple"


def wheel(name: str, version: str, requires: tuple[str, ...] = (), tag: str = "py3-none-any") -> tuple[str, bytes, bytes]:
    """(filename, wheel bytes, METADATA bytes) of a small, honest wheel."""
    requires_dist = "".join(f"Requires-Dist: {r}\n" for r in requires)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_dist}".encode()
    filename, data = make_wheel(name, version, tag=tag, metadata=metadata).file
    return filename, data, metadata


class Network:
    """A few indexes and file hosts in one dict; records every request."""

    def __init__(self) -> None:
        self.answers: dict[str, Response] = {}
        self.transport = MockTransport(self._answer)

    def _answer(self, request):
        return self.answers.get(request.url) or Response(request.url, 404, {"content-type": "text/plain"}, b"nope")

    def publish(self, index: str, files_host: str, project: str, *wheels: tuple[str, bytes, bytes]) -> None:
        entries = []
        for filename, data, metadata in wheels:
            url = f"{files_host}/{filename}"
            self.answers[url] = Response(url, 200, {}, data)
            self.answers[url + ".metadata"] = Response(url + ".metadata", 200, {}, metadata)
            entries.append(PageFile(
                filename=filename, url=url, sha256=hashlib.sha256(data).hexdigest(),
                version=str(parse_wheel_filename(filename)[1]),
                metadata_sha256=hashlib.sha256(metadata).hexdigest(),
            ))
        self.answer(f"{index}/{project}/", 200, project_json(project, entries), JSON)

    def answer(self, url: str, status: int, body: bytes, headers: dict | None = None) -> None:
        self.answers[url] = Response(url, status, headers or {}, body)

    def urls(self) -> list[str]:
        return [r.url for r in self.transport.requests]


def plan_of(catalog: Catalog, *requests: str):
    plan = asyncio.run(resolve(parse_requirements(list(requests)), catalog, TARGET))
    return {pin.name: (str(pin.version), str(pin.source)) for pin in plan}


def test_index_entries_accept_urls_pairs_and_mappings():
    assert index_entries(None) == (("https://pypi.org/simple", {}),)
    assert index_entries(PUBLIC) == ((PUBLIC, {}),)
    token = {"Authorization": "Bearer s3cret"}
    assert index_entries([(PRIVATE, token), PUBLIC]) == ((PRIVATE, token), (PUBLIC, {}))
    assert index_entries([[PRIVATE, token]]) == ((PRIVATE, token),)  # a pair that came from JSON
    assert index_entries({PRIVATE: token, PUBLIC: {}}) == ((PRIVATE, token), (PUBLIC, {}))
    assert index_list([(PRIVATE, token), PUBLIC]) == (PRIVATE, PUBLIC)
    with pytest.raises(TypeError) as info:
        index_entries([(PRIVATE, {"Authorization": 42})])
    # The message shows the entry but never a header's value.
    assert PRIVATE in str(info.value) and "42" not in str(info.value)
    with pytest.raises(TypeError):
        index_entries([(PRIVATE, token, "extra")])


def test_first_index_that_knows_the_project_provides_all_its_files():
    net = Network()
    net.publish(PRIVATE, "https://private.example/files", "corp-lib", wheel("corp-lib", "1.0"))
    # Someone registered the same name publicly, with a higher version.
    net.publish(PUBLIC, "https://public.example/files", "corp-lib", wheel("corp-lib", "99.0"))
    net.publish(PUBLIC, "https://public.example/files", "six", wheel("six", "1.17.0"))
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)])
    assert plan_of(catalog, "corp-lib", "six") == {"corp-lib": ("1.0", PRIVATE), "six": ("1.17.0", PUBLIC)}
    # The private index answered 404 for six, so the next index was asked; the
    # public page of corp-lib was never requested.
    assert f"{PUBLIC}/corp-lib/" not in net.urls()


def test_merge_takes_the_newest_version_from_any_index_and_downloads_from_it():
    net = Network()
    net.publish(PRIVATE, "https://private.example/files", "tool", wheel("tool", "1.0"), wheel("tool", "2.0"))
    net.publish(PUBLIC, "https://public.example/files", "tool", wheel("tool", "3.0", requires=("dep",)))
    net.publish(PUBLIC, "https://public.example/files", "dep", wheel("dep", "0.1"))
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)], strategy="merge")
    assert plan_of(catalog, "tool") == {"tool": ("3.0", PUBLIC), "dep": ("0.1", PUBLIC)}
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)], strategy="merge")
    plan = asyncio.run(resolve(parse_requirements(["tool<3"]), catalog, TARGET))
    (pin,) = plan.pins
    assert (str(pin.version), str(pin.source)) == ("2.0", PRIVATE)
    wheels = asyncio.run(download_and_verify(plan.to_install, catalog.downloads))
    assert wheels[0].filename == "tool-2.0-py3-none-any.whl"
    assert "https://private.example/files/tool-2.0-py3-none-any.whl" in net.urls()


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="'first-index', 'merge'"):
        Catalog([], strategy="newest")


@pytest.mark.parametrize("strategy", ["first-index", "merge"])
def test_headers_go_only_to_their_own_index(strategy):
    net = Network()
    # The private index lists a file on a file host of another origin.
    net.publish(PRIVATE, "https://cdn.example/files", "corp-lib", wheel("corp-lib", "1.0"))
    net.publish(PUBLIC, "https://public.example/files", "six", wheel("six", "1.17.0"))
    entries = index_entries([(PRIVATE, {"Authorization": "Bearer s3cret"}), PUBLIC])
    catalog = Catalog([Index(url, net.transport, headers=h) for url, h in entries], strategy=strategy)
    plan = asyncio.run(resolve(parse_requirements(["corp-lib", "six"]), catalog, TARGET))
    asyncio.run(download_and_verify(plan.to_install, catalog.downloads))
    sent = {r.url: r.headers.get("Authorization") for r in net.transport.requests}
    assert sent[f"{PRIVATE}/corp-lib/"] == "Bearer s3cret"
    assert sent[f"{PRIVATE}/six/"] == "Bearer s3cret"  # asked, and answered 404
    assert sent["https://cdn.example/files/corp_lib-1.0-py3-none-any.whl"] is None
    assert sent[f"{PUBLIC}/six/"] is None
    assert sent["https://public.example/files/six-1.17.0-py3-none-any.whl"] is None


@pytest.mark.parametrize("status", [500, 503, 401, 403])
def test_a_failing_index_does_not_hand_the_name_to_the_next(status):
    net = Network()
    net.answer(f"{PRIVATE}/corp-lib/", status, b"<html>oops</html>", {"content-type": "text/html"})
    net.publish(PUBLIC, "https://public.example/files", "corp-lib", wheel("corp-lib", "99.0"))
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)])
    with pytest.raises(HTTPStatusError) as info:
        plan_of(catalog, "corp-lib")
    assert info.value.status == status
    assert f"{PRIVATE}/corp-lib/ answered HTTP {status} (text/html)" in str(info.value)
    assert f"{PUBLIC}/corp-lib/" not in net.urls()


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (b"{not json", "application/vnd.pypi.simple.v1+json", "is not valid JSON"),
        (b"<html><a href='/login'>Sign in</a></html>", "text/html", "is not a PEP 503 project page"),
    ],
)
def test_an_answer_that_is_not_an_index_names_url_status_and_content_type(body, content_type, expected):
    net = Network()
    net.answer(f"{PRIVATE}/corp-lib/", 200, body, {"content-type": content_type})
    net.publish(PUBLIC, "https://public.example/files", "corp-lib", wheel("corp-lib", "99.0"))
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)], strategy="merge")
    with pytest.raises(IndexFormatError) as info:
        plan_of(catalog, "corp-lib")
    message = str(info.value)
    assert expected in message and f"{PRIVATE}/corp-lib/" in message
    assert f"answered HTTP 200, content type {content_type!r}, {len(body)} bytes" in message
    assert "does not fall back to another index" in message


def test_not_found_anywhere_names_every_source():
    net = Network()
    distribution = Distribution("https://cdn.example/pyodide-lock.json", read=None, packages={})
    catalog = Catalog([Index(PRIVATE, net.transport), Index(PUBLIC, net.transport)], distribution=distribution)
    with pytest.raises(ProjectNotFound) as info:
        plan_of(catalog, "nowhere")
    assert info.value.indexes == (PRIVATE, PUBLIC, "https://cdn.example/pyodide-lock.json")


# -- direct references ---------------------------------------------------------------


def _direct_catalog(files: dict[str, bytes], net: Network | None = None) -> tuple[Catalog, list[str]]:
    read: list[str] = []

    async def read_url(url: str) -> bytes:
        read.append(url)
        return files[url]

    indexes = [Index(PUBLIC, net.transport)] if net else []
    return Catalog(indexes, read_url=read_url), read


def test_direct_reference_dependencies_resolve_and_sha256_fragment_is_checked():
    net = Network()
    net.publish(PUBLIC, "https://public.example/files", "dep", wheel("dep", "1.0"))
    filename, data, _ = wheel("app", "1.0", requires=("dep",))
    url = f"emfs:/tmp/{filename}"
    sha = hashlib.sha256(data).hexdigest()
    catalog, read = _direct_catalog({url: data}, net)
    plan = asyncio.run(resolve(parse_requirements([f"app @ {url}#sha256={sha}"]), catalog, TARGET))
    assert {p.name: str(p.version) for p in plan} == {"app": "1.0", "dep": "1.0"}
    wheels = asyncio.run(download_and_verify(plan.to_install, catalog.downloads))
    assert sorted(w.filename for w in wheels) == [filename, "dep-1.0-py3-none-any.whl"]
    assert read == [url]  # read once (for metadata, then kept), without the fragment

    catalog, _ = _direct_catalog({url: data}, net)
    with pytest.raises(IntegrityError) as info:
        asyncio.run(resolve(parse_requirements([f"{url}#sha256={'0' * 64}"]), catalog, TARGET))
    assert info.value.url == url and info.value.expected == "0" * 64 and info.value.actual == sha


# -- the Pyodide distribution -----------------------------------------------------------

LOCK_URL = "https://cdn.example/pyodide/pyodide-lock.json"


def _lockfile(*entries: tuple[str, str, bytes, list[str], str]) -> dict:
    packages = {}
    for name, filename, data, depends, kind in entries:
        packages[name] = {
            "name": name, "version": filename.split("-")[1] if filename.endswith(".whl") else "3.12.1",
            "file_name": filename, "sha256": hashlib.sha256(data).hexdigest(), "depends": depends,
            "imports": [], "install_dir": "dynlib" if kind == "shared_library" else "site",
            "package_type": kind, "unvendored_tests": False,
        }
    return packages


def _distribution_setup(pypi_versions: tuple[str, ...], dist_version: str):
    net = Network()
    if pypi_versions:
        net.publish(PUBLIC, "https://public.example/files", "numpy",
                    *(wheel("numpy", v, tag="cp314-cp314-pyemscripten_2026_0_wasm32") for v in pypi_versions))
    filename, data, _ = wheel("numpy", dist_version, tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    # Its real METADATA names no dependency; the lockfile says it needs these.
    shapely_name, shapely_data, _ = wheel("shapely", "2.1.2", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    packages = _lockfile(
        ("numpy", filename, data, [], "package"),
        ("shapely", shapely_name, shapely_data, ["numpy", "libgeos"], "package"),
        ("libgeos", "libgeos-3.12.1.zip", b"zip", [], "shared_library"),
    )
    files = {f"https://cdn.example/pyodide/{filename}": data, f"https://cdn.example/pyodide/{shapely_name}": shapely_data}
    reads: list[str] = []

    async def read(url: str) -> bytes:
        reads.append(url)
        return files[url]

    distribution = Distribution(LOCK_URL, read, packages=packages, base_url="https://cdn.example/pyodide/")
    return Catalog([Index(PUBLIC, net.transport)], distribution=distribution), net, reads


@pytest.mark.parametrize(
    "pypi, dist, expected",
    [
        ((), "2.4.6", ("2.4.6", LOCK_URL)),  # only the distribution builds it
        (("2.4.6",), "2.4.6", ("2.4.6", PUBLIC)),  # a tie: the index's file (no dependency on the CDN)
        (("2.4.6", "2.5.0"), "2.4.6", ("2.5.0", PUBLIC)),  # newest wins
        (("2.3.0",), "2.4.6", ("2.4.6", LOCK_URL)),
    ],
)
def test_distribution_ranks_newest_first_then_the_index_on_a_tie(pypi, dist, expected):
    catalog, _, _ = _distribution_setup(pypi, dist)
    assert plan_of(catalog, "numpy")["numpy"] == expected


def test_distribution_depends_are_the_dependencies_and_shared_libraries_come_first():
    catalog, net, reads = _distribution_setup((), "2.4.6")
    plan = asyncio.run(resolve(parse_requirements(["shapely"]), catalog, TARGET))
    assert {p.name: (str(p.version), str(p.source)) for p in plan} == {
        "numpy": ("2.4.6", LOCK_URL), "shapely": ("2.1.2", LOCK_URL),
    }
    assert reads == []  # resolved from the lockfile alone: nothing downloaded
    # The wheels' own METADATA has no Requires-Dist: the lockfile's depends are what was used.
    wheels = asyncio.run(download_and_verify(plan.to_install, catalog.downloads))
    assert sorted(w.filename.split("-")[0] for w in wheels) == ["numpy", "shapely"]
    assert [e["name"] for e in catalog.distribution.shared_libraries(["shapely"])] == ["libgeos"]


def test_distribution_file_is_checked_against_the_lockfile_sha256():
    catalog, _, _ = _distribution_setup((), "2.4.6")
    # The lockfile pins another hash than the file's: what a tampered mirror would serve.
    catalog.distribution.entry("numpy")["sha256"] = "f" * 64
    plan = asyncio.run(resolve(parse_requirements(["numpy"]), catalog, TARGET))
    (pin,) = plan.pins
    with pytest.raises(IntegrityError) as info:
        asyncio.run(download_and_verify(plan.to_install, catalog.downloads))
    assert info.value.url == pin.file.url and info.value.expected == "f" * 64


def test_distribution_lockfile_at_a_url_is_fetched_once_and_checked():
    filename, data, _ = wheel("pyyaml", "6.0.3", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    lock = json.dumps({"info": {}, "packages": _lockfile(("pyyaml", filename, data, [], "package"))}).encode()
    reads: list[str] = []

    async def read(url: str) -> bytes:
        reads.append(url)
        return {LOCK_URL: lock}[url]

    distribution = Distribution(LOCK_URL, read)
    catalog = Catalog([], distribution=distribution)
    assert plan_of(catalog, "pyyaml") == {"pyyaml": ("6.0.3", LOCK_URL)}
    with pytest.raises(ProjectNotFound):  # a second page, same lockfile
        plan_of(Catalog([], distribution=distribution), "other-name")
    assert reads.count(LOCK_URL) == 1

    async def garbage(url: str) -> bytes:
        return b"<html>CDN error</html>"

    catalog = Catalog([], distribution=Distribution(LOCK_URL, garbage))
    with pytest.raises(IndexFormatError, match=f"{LOCK_URL} is not a pyodide-lock.json: invalid JSON"):
        plan_of(catalog, "pyyaml")


def test_a_distribution_for_another_abi_offers_nothing_installable():
    filename, data, _ = wheel("numpy", "2.2.5", tag="cp313-cp313-pyemscripten_2025_0_wasm32")
    distribution = Distribution(
        LOCK_URL, read=None, packages=_lockfile(("numpy", filename, data, [], "package")),
        base_url="https://cdn.example/pyodide/",
    )
    from micropkg.errors import NoCompatibleFile

    with pytest.raises(NoCompatibleFile) as info:
        plan_of(Catalog([], distribution=distribution), "numpy")
    assert "cp313 pyemscripten_2025_0" in str(info.value) and "pyemscripten_2026_0" in str(info.value)


def test_shared_libraries_load_once_before_the_first_extension(monkeypatch):
    from micropkg import shared_libraries as _api
    from micropkg.runtime import native as _runtime

    catalog, _, _ = _distribution_setup((), "2.4.6")
    catalog.distribution.runtime = True  # as if it were the running Pyodide's own lockfile
    plan = asyncio.run(resolve(parse_requirements(["shapely"]), catalog, TARGET))
    events: list = []

    async def load_packages(names):
        events.append(("loadPackage", list(names)))

    async def load_dynlibs(root, paths):
        events.append(("dynlibs", list(paths)))

    monkeypatch.setattr(_runtime, "is_loaded", lambda name: False)
    monkeypatch.setattr(_runtime, "load_runtime_packages", load_packages)
    load = _api.shared_libraries_first(plan, catalog, load_dynlibs)

    async def install_two_wheels():
        await load(None, ["numpy/core.so"])
        await load(None, ["shapely/lib.so"])

    asyncio.run(install_two_wheels())
    assert events == [("loadPackage", ["libgeos"]), ("dynlibs", ["numpy/core.so"]), ("dynlibs", ["shapely/lib.so"])]

    # Already loaded (by an earlier install, or by Pyodide): not loaded again.
    monkeypatch.setattr(_runtime, "is_loaded", lambda name: name == "libgeos")
    assert _api.shared_libraries_first(plan, catalog, load_dynlibs) is load_dynlibs


def test_shared_libraries_of_another_lockfile_are_refused_before_anything_is_written(monkeypatch):
    from micropkg import shared_libraries as _api
    from micropkg.errors import InstallError
    from micropkg.runtime import native as _runtime

    catalog, _, _ = _distribution_setup((), "2.4.6")  # a lockfile at a URL, not the runtime's
    plan = asyncio.run(resolve(parse_requirements(["shapely"]), catalog, TARGET))
    monkeypatch.setattr(_runtime, "is_loaded", lambda name: False)
    with pytest.raises(InstallError) as info:
        _api.shared_libraries_first(plan, catalog, None)
    message = str(info.value)
    assert message.startswith(f"shapely from {LOCK_URL} need the shared libraries libgeos,")
    assert "Nothing was installed" in message


def test_an_install_opens_each_early_download_once_as_it_lands(monkeypatch):
    from micropkg.model.wheel import Wheel

    opened: list[str] = []
    steps = Wheel._open.__func__  # what from_bytes and open both run
    monkeypatch.setattr(Wheel, "_open", classmethod(
        lambda cls, filename, data, *limits: opened.append(filename) or steps(cls, filename, data, *limits)))
    net = Network()
    net.publish(PUBLIC, "https://public.example/files", "app", wheel("app", "1.0", requires=("lib",)))
    net.publish(PUBLIC, "https://public.example/files", "lib", wheel("lib", "1.0"))
    catalog = Catalog([Index(PUBLIC, net.transport)], speculative=True)

    async def install_steps():
        plan = await resolve(parse_requirements(["app"]), catalog, TARGET)
        early = [await catalog.downloads.opened(pin.candidate) for pin in plan.pins]
        return early, await download_and_verify(plan.to_install, catalog.downloads)

    early, wheels = asyncio.run(install_steps())
    assert catalog.downloads.speculated == {
        "https://public.example/files/app-1.0-py3-none-any.whl", "https://public.example/files/lib-1.0-py3-none-any.whl"}
    # The Wheel verified when the early download landed is the one installed: no second pass.
    assert [id(w) for w in wheels] == [id(w) for w in early]
    assert sorted(opened) == ["app-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl"]

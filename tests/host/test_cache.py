"""The persistent cache: max-age and ETag for pages, sha256 for files, offline mode, damage."""

import asyncio
import hashlib
import json

import pytest

from micropkg.errors import IntegrityError, NetworkError
from micropkg.index.client import Index
from micropkg.index.head_start import ACCEPT
from micropkg.model.requirements import parse_requirements
from micropkg.net.cache import Cache, DirectoryStore, MemoryStore, Store, max_age
from micropkg.net.transport import MockTransport, Request, Response
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .test_resolver_scenarios import TARGET

INDEX = "https://idx.example/simple/"
WHEEL = b"PK-the-wheel-bytes"
WHEEL_SHA = hashlib.sha256(WHEEL).hexdigest()
METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
METADATA_SHA = hashlib.sha256(METADATA).hexdigest()
WHEEL_URL = "https://files.example/demo-1.0-py3-none-any.whl"


def page(core_metadata=True) -> bytes:
    entry = {"filename": "demo-1.0-py3-none-any.whl", "url": WHEEL_URL, "hashes": {"sha256": WHEEL_SHA}}
    if core_metadata is True:
        entry["core-metadata"] = {"sha256": METADATA_SHA}
    elif core_metadata == "unhashed":
        entry["core-metadata"] = True
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": [entry]}).encode()


class Server:
    """An index whose page has an ETag and a max-age, counting what it is asked."""

    def __init__(self, *, max_age="max-age=600, public", etag='"v1"', core_metadata=True) -> None:
        self.cache_control = max_age
        self.etag = etag
        self.body = page(core_metadata)
        self.wheel = WHEEL
        self.transport = MockTransport(self.handle)

    def handle(self, request: Request) -> Response:
        if request.url == WHEEL_URL:
            return Response(request.url, 200, {}, self.wheel)
        if request.url == WHEEL_URL + ".metadata":
            return Response(request.url, 200, {}, METADATA)
        headers = {"content-type": "application/vnd.pypi.simple.v1+json"}
        if self.cache_control:
            headers["cache-control"] = self.cache_control
        if self.etag:
            headers["etag"] = self.etag
            if request.headers.get("If-None-Match") == self.etag:
                return Response(request.url, 304, {k: v for k, v in headers.items() if k != "content-type"}, b"")
        return Response(request.url, 200, headers, self.body)

    def urls(self) -> list[str]:
        return [r.url for r in self.transport.requests]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


def settled(cache: Cache, coro):
    """Run ``coro``, then let ``cache`` finish its writes, as every micropkg entry point does."""

    async def then_settle():
        try:
            return await coro
        finally:
            await cache.settle()

    return run(then_settle())


def project(server: Server, cache: Cache):
    return settled(cache, Index(INDEX, server.transport, cache=cache).project("demo"))


def test_a_fresh_page_is_used_without_asking():
    server, clock, store = Server(), Clock(), MemoryStore()
    first = project(server, Cache(store, clock=clock))
    clock.now += 599
    second = project(server, Cache(store, clock=clock))  # a new page load: a new Cache, the same store
    assert len(server.transport.requests) == 1
    assert second == first and second.files[0].hashes == {"sha256": WHEEL_SHA}


def test_a_stale_page_is_revalidated_with_its_etag():
    server, clock, store = Server(), Clock(), MemoryStore()
    project(server, Cache(store, clock=clock))
    clock.now += 601
    cache = Cache(store, clock=clock)
    again = project(server, cache)
    last = server.transport.requests[-1]
    assert last.headers["If-None-Match"] == '"v1"' and last.headers["Accept"].startswith("application/vnd.pypi")
    assert cache.revalidated == 1 and again.files[0].filename == "demo-1.0-py3-none-any.whl"
    # The 304 renewed the entry: fresh again for another max-age.
    clock.now += 300
    project(server, Cache(store, clock=clock))
    assert len(server.transport.requests) == 2


def test_a_changed_page_replaces_the_kept_one():
    server, clock, store = Server(), Clock(), MemoryStore()
    project(server, Cache(store, clock=clock))
    server.etag, server.body = '"v2"', page(core_metadata=False)
    clock.now += 601
    changed = project(server, Cache(store, clock=clock))
    assert changed.files[0].core_metadata is None
    clock.now += 1
    kept = project(server, Cache(store, clock=clock))
    assert kept.files[0].core_metadata is None and len(server.transport.requests) == 2


class Unreadable(MemoryStore):
    """A store whose reads fail the test: what it holds must be known without them."""

    async def get(self, key: str) -> bytes | None:
        raise AssertionError(f"read {key!r}")


def test_a_missing_page_is_known_without_a_read_and_a_kept_one_is_read():
    # An install's first request (runtime.early) awaits page_headers: on a miss the store tells
    # at once, no read and no turn of the event loop; a kept page's entry decides.
    store, clock, accept = MemoryStore(), Clock(), {"Accept": ACCEPT}
    url = INDEX + "demo/"
    unreadable = Unreadable()
    assert run(Cache(unreadable, clock=clock).page_headers(url, accept)) == accept
    project(Server(max_age="max-age=0"), Cache(store, clock=clock))
    assert store.surely_missing(Cache._page_key(url, accept)) is False
    assert run(Cache(store, clock=clock).page_headers(url, accept)) == {**accept, "If-None-Match": '"v1"'}
    unreadable.entries.update(store.entries)
    with pytest.raises(AssertionError, match="read 'page/"):
        run(Cache(unreadable, clock=clock).page_headers(url, accept))


def test_a_store_that_cannot_tell_at_once_is_read():
    class Unsure(Unreadable):
        surely_missing = Store.surely_missing

    with pytest.raises(AssertionError, match="read 'page/"):
        run(Cache(Unsure()).page_headers(INDEX + "demo/", {"Accept": "x"}))


def test_without_conditional_requests_a_stale_page_is_fetched_plainly():
    # In a browser If-None-Match would cost a CORS preflight; the HTTP cache revalidates there.
    server, clock, store = Server(), Clock(), MemoryStore()
    project(server, Cache(store, clock=clock, conditional=False))
    clock.now += 601
    project(server, Cache(store, clock=clock, conditional=False))
    assert [("If-None-Match" in r.headers) for r in server.transport.requests] == [False, False]


@pytest.mark.parametrize("cache_control", [None, "no-cache", "max-age=0", "max-age=abc"])
def test_pages_without_a_positive_max_age_are_asked_for_every_time(cache_control):
    server, store = Server(max_age=cache_control), MemoryStore()
    project(server, Cache(store))
    project(server, Cache(store))
    assert len(server.transport.requests) == 2
    assert server.transport.requests[1].headers.get("If-None-Match") == '"v1"'


def test_no_store_pages_are_not_kept():
    server, store = Server(max_age="no-store"), MemoryStore()
    project(server, Cache(store))
    assert not [k for k in store.entries if k.startswith("page/")]


def test_max_age_parsing():
    assert max_age("max-age=600, public") == 600
    assert max_age('public, MAX-AGE="30"') == 30
    assert max_age("max-age=600, no-cache") == 0
    assert max_age(None) == 0 and max_age("max-age=-5") == 0


def fetch_file(server: Server, cache: Cache, *, core_metadata=True):
    index = Index(INDEX, server.transport, cache=cache)
    file = settled(cache, index.project("demo")).files[0]
    return settled(cache, index.metadata(file)), settled(cache, index.wheel(file))


def test_wheels_and_metadata_are_kept_by_sha256():
    server, store = Server(), MemoryStore()
    assert fetch_file(server, Cache(store)) == (METADATA, WHEEL)
    server.transport.requests.clear()
    cache = Cache(store)
    assert fetch_file(server, cache) == (METADATA, WHEEL)
    assert server.urls() == []  # the page is fresh, the files immutable
    assert {f"blob/{WHEEL_SHA}", f"blob/{METADATA_SHA}"} <= set(store.entries)
    assert cache.hits == 3


def test_metadata_without_a_stated_hash_is_kept_under_its_wheels_hash():
    server, store = Server(core_metadata="unhashed"), MemoryStore()
    fetch_file(server, Cache(store))
    assert f"meta/{WHEEL_SHA}" in store.entries
    server.transport.requests.clear()
    assert fetch_file(server, Cache(store)) == (METADATA, WHEEL)
    assert server.urls() == []


def test_a_corrupt_wheel_entry_is_dropped_and_fetched_again():
    server, store = Server(), MemoryStore()
    fetch_file(server, Cache(store))
    key = f"blob/{WHEEL_SHA}"
    store.entries[key] = store.entries[key].replace(WHEEL, b"PK-evil-wheel-bytes")
    server.transport.requests.clear()
    cache = Cache(store)
    assert fetch_file(server, cache)[1] == WHEEL
    assert cache.dropped == [key] and server.urls() == [WHEEL_URL]
    assert Cache(store).dropped == [] and run(Cache(store).file(WHEEL_SHA)) == WHEEL


def test_an_entry_whose_envelope_matches_other_bytes_is_not_served_for_this_hash():
    # A consistent entry under the wrong key (copied or planted) is not the file that was asked for.
    store = MemoryStore()
    filling = Cache(store)
    settled(filling, filling.keep_file(WHEEL_SHA, b"other bytes"))
    cache = Cache(store)
    assert run(cache.file(WHEEL_SHA)) is None
    assert cache.dropped == [f"blob/{WHEEL_SHA}"] and store.entries == {}


def test_a_truncated_page_entry_is_dropped():
    server, clock, store = Server(), Clock(), MemoryStore()
    project(server, Cache(store, clock=clock))
    (key,) = [k for k in store.entries if k.startswith("page/")]
    store.entries[key] = store.entries[key][:-10]
    cache = Cache(store, clock=clock)
    assert project(server, cache).files[0].filename == "demo-1.0-py3-none-any.whl"
    assert cache.dropped == [key] and len(server.transport.requests) == 2
    assert "If-None-Match" not in server.transport.requests[1].headers


def test_a_page_entry_with_one_byte_changed_is_dropped():
    server, clock, store = Server(), Clock(), MemoryStore()
    project(server, Cache(store, clock=clock))
    (key,) = [k for k in store.entries if k.startswith("page/")]
    entry = store.entries[key]
    from micropkg.net.cache import _unpack

    header, _ = _unpack(entry)
    assert "crc32" in header and "sha256" not in header
    at = entry.rindex(b"demo-1.0")  # in the body: same length, other bytes
    store.entries[key] = entry[:at] + b"DEMO" + entry[at + 4:]
    cache = Cache(store, clock=clock)
    assert project(server, cache).files[0].filename == "demo-1.0-py3-none-any.whl"
    assert cache.dropped == [key] and len(server.transport.requests) == 2


def test_an_entry_checked_only_by_crc_is_never_served_as_a_file():
    # Only a sha256 ties a blob to its key: a page-style entry planted under
    # a file's key is dropped, however intact its CRC.
    from micropkg.net.cache import _pack

    store = MemoryStore()
    store.entries[f"blob/{WHEEL_SHA}"] = _pack({"kind": "file"}, WHEEL, crc32=True)
    cache = Cache(store)
    assert run(cache.file(WHEEL_SHA)) is None
    assert cache.dropped == [f"blob/{WHEEL_SHA}"]


def test_a_wheel_that_fails_its_hash_on_the_wire_is_not_kept():
    server, store = Server(), MemoryStore()
    server.wheel = b"tampered in transit"
    with pytest.raises(IntegrityError):
        fetch_file(server, Cache(store))
    assert f"blob/{WHEEL_SHA}" not in store.entries


def test_offline_uses_what_is_kept_however_old_and_asks_nothing():
    server, clock, store = Server(), Clock(), MemoryStore()
    fetch_file(server, Cache(store, clock=clock))
    server.transport.requests.clear()
    clock.now += 10**7
    assert fetch_file(server, Cache(store, mode="offline", clock=clock)) == (METADATA, WHEEL)
    assert server.urls() == []


def test_offline_fails_clearly_on_a_miss():
    server, store = Server(), MemoryStore()
    with pytest.raises(NetworkError, match=r"idx\.example/simple/demo/.*cache='offline'"):
        project(server, Cache(store, mode="offline"))
    project(server, Cache(store))  # the page only
    with pytest.raises(NetworkError, match=r"demo-1\.0-py3-none-any\.whl\.metadata.*not in micropkg's cache"):
        fetch_file(server, Cache(store, mode="offline"))
    assert server.urls() == [INDEX + "demo/"]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'sometimes'"):
        Cache(MemoryStore(), mode="sometimes")


def test_directory_store_survives_a_restart_and_clears(tmp_path):
    server = Server()
    fetch_file(server, Cache(DirectoryStore(tmp_path / "cache")))
    server.transport.requests.clear()
    assert fetch_file(server, Cache(DirectoryStore(tmp_path / "cache"))) == (METADATA, WHEEL)
    assert server.urls() == []
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) == 3 and not [p for p in files if p.name.startswith(".tmp-")]
    run(DirectoryStore(tmp_path / "cache").clear())
    assert list((tmp_path / "cache").iterdir()) == []
    fetch_file(server, Cache(DirectoryStore(tmp_path / "cache")))
    assert len(server.transport.requests) == 3


def test_a_store_that_fails_costs_speed_not_the_install():
    class Broken(MemoryStore):
        async def get(self, key: str) -> bytes | None:
            raise OSError("disk on fire")

        async def put(self, key, data):
            raise OSError("quota exceeded")

    server = Server()
    with pytest.warns(UserWarning, match="could not"):
        assert fetch_file(server, Cache(Broken())) == (METADATA, WHEEL)


def test_a_second_resolution_with_the_cache_makes_no_request():
    from .memory_index import INDEX_URL, memory_transport

    snapshot = {"app": {"1.0": {"requires": ["lib>=1"]}}, "lib": {"1.0": {}, "2.0": {}}}
    inner = memory_transport(snapshot)

    def with_max_age(request):
        response = inner._handler(request)
        return Response(response.url, response.status, {**response.headers, "cache-control": "max-age=600"}, response.body)

    transport = MockTransport(with_max_age)
    store = MemoryStore()
    plans = []
    for _ in range(2):
        cache = Cache(store)
        catalog = Catalog([Index(INDEX_URL, transport, cache=cache)])
        plan = settled(cache, resolve(parse_requirements(["app"]), catalog, TARGET))
        plans.append([(p.name, str(p.version)) for p in plan])
    assert plans[0] == plans[1] == [("app", "1.0"), ("lib", "2.0")]
    assert len(transport.requests) == 4  # two pages and two metadata files, all in the first run


def _wheel_requests(transport: MockTransport) -> list[str]:
    return [r.url.rsplit("/", 1)[1] for r in transport.requests if r.url.endswith(".whl")]


def test_an_install_starts_downloading_the_walks_picks_during_resolution():
    from .memory_index import memory_transport

    transport = memory_transport({"app": {"1.0": {"requires": ["lib>=1"]}}, "lib": {"1.0": {}, "2.0": {}}})
    catalog = Catalog([Index("https://memory.example/simple", transport)], speculative=True)
    plan = run(resolve(parse_requirements(["app"]), catalog, TARGET))
    assert [(p.name, str(p.version)) for p in plan] == [("app", "1.0"), ("lib", "2.0")]
    assert sorted(_wheel_requests(transport)) == ["app-1.0-py3-none-any.whl", "lib-2.0-py3-none-any.whl"]
    assert len(catalog.downloads.speculated) == 2


def test_a_dry_run_downloads_no_wheel():
    from .memory_index import memory_transport

    transport = memory_transport({"app": {"1.0": {"requires": ["lib>=1"]}}, "lib": {"1.0": {}, "2.0": {}}})
    catalog = Catalog([Index("https://memory.example/simple", transport)])
    run(resolve(parse_requirements(["app"]), catalog, TARGET))
    assert _wheel_requests(transport) == [] and catalog.downloads.speculated == set()


def test_no_early_download_when_the_walk_picks_two_versions_of_a_project():
    from .memory_index import memory_transport

    # "lib" is reached as lib>=1 (the walk picks 2.0) and as lib<2 (it picks 1.0): in doubt.
    snapshot = {"app": {"1.0": {"requires": ["lib>=1", "mid"]}}, "mid": {"1.0": {"requires": ["lib<2"]}},
                "lib": {"1.0": {}, "2.0": {}}}
    transport = memory_transport(snapshot)
    catalog = Catalog([Index("https://memory.example/simple", transport)], speculative=True)
    plan = run(resolve(parse_requirements(["app"]), catalog, TARGET))
    assert ("lib", "1.0") in [(p.name, str(p.version)) for p in plan]
    downloaded = _wheel_requests(transport)
    # Only the first pick of "lib" was downloaded early; the second walk saw the doubt and did not.
    assert len([f for f in downloaded if f.startswith("lib-")]) == 1
    assert {"app-1.0-py3-none-any.whl", "mid-1.0-py3-none-any.whl"} <= set(downloaded)


def test_offline_reads_unadvertised_metadata_from_the_kept_wheel():
    # PyPI's file host serves .metadata even where the page does not say so (not always here):
    # offline, micropkg does not ask, and reads the metadata out of the kept wheel instead.
    store = MemoryStore()
    file_host = "https://files.pythonhosted.org/packages/demo-1.0-py3-none-any.whl"
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": [
        {"filename": "demo-1.0-py3-none-any.whl", "url": file_host, "hashes": {"sha256": WHEEL_SHA}}]}).encode()
    transport = MockTransport(lambda r: Response(
        r.url, 200, {"content-type": "application/vnd.pypi.simple.v1+json", "cache-control": "max-age=600"}, body))
    index = Index(INDEX, transport, cache=Cache(store, mode="offline"))
    filling = Cache(store)
    settled(filling, Index(INDEX, transport, cache=filling).project("demo"))
    file = run(index.project("demo")).files[0]
    assert run(index.metadata(file)) is None
    assert len(transport.requests) == 1


def test_writes_run_behind_the_fetch_and_settle_waits_for_them():
    class SlowStore(MemoryStore):
        async def put(self, key, data):
            await asyncio.sleep(0.01)  # a disk or the browser's Cache API: slower than the parse
            await super().put(key, data)

    store, server = SlowStore(), Server()

    async def fetch_then_settle():
        cache = Cache(store)
        index = Index(INDEX, server.transport, cache=cache)
        page = await index.project("demo")
        await index.metadata(page.files[0])
        written_before = dict(store.entries)
        catalog = Catalog([index])
        await catalog.settle()
        return written_before

    written_before = run(fetch_then_settle())
    assert written_before == {}  # the page was parsed, and the metadata read, before anything was stored
    assert {key.split("/")[0] for key in store.entries} == {"page", "blob"}
    assert len(server.transport.requests) == 2
    again = Cache(store)
    assert project(server, again) is not None and again.hits == 1 and len(server.transport.requests) == 2


def test_a_write_waits_for_the_next_request_and_runs_while_it_is_out():
    # Storing a big page costs the one thread 20-50 ms in Pyodide: started at
    # once, it would delay the requests the resolver makes next.
    events = []

    class RecordingStore(MemoryStore):
        async def put(self, key, data):
            events.append("write " + key.split("/")[0])
            await super().put(key, data)

    server = Server()
    handle = server.handle

    def recording(request):
        events.append("request " + ("metadata" if request.url.endswith(".metadata") else "wheel"
                                    if request.url == WHEEL_URL else "page"))
        return handle(request)

    server.transport = MockTransport(recording)

    async def install_like():
        cache = Cache(RecordingStore())
        index = Index(INDEX, server.transport, cache=cache)
        page = await index.project("demo")
        for _ in range(5):
            await asyncio.sleep(0)  # however long the parse takes, the page waits
        queued = list(events)
        await index.metadata(page.files[0])
        await index.wheel(page.files[0])
        await cache.settle()
        return queued

    queued = run(install_like())
    assert queued == ["request page"]
    assert events == [
        "request page", "request metadata", "write page", "request wheel", "write blob", "write blob",
    ]


def test_settle_returns_when_finished_writes_are_still_listed():
    # A write can be finished while its done callback (which unlists it) has not
    # run yet. Python 3.12+'s gather() returns at once over finished tasks, so a
    # settle() that waited until the list emptied spun forever in Pyodide 314.
    async def settle_with_a_finished_write():
        cache = Cache(MemoryStore())
        finished = asyncio.get_running_loop().create_future()
        finished.set_result(None)
        cache._writes.add(finished)  # listed, and nothing will unlist it
        await asyncio.wait_for(cache.settle(), 1)
        return cache._writes

    assert run(settle_with_a_finished_write()) == set()


def test_a_failed_resolution_stops_its_speculative_downloads():
    # A refused install must not go on downloading the wheels it guessed (litellm's 19 MB):
    # Session.resolve stops them when the resolution fails (Downloads.cancel_speculative).
    from micropkg.errors import ResolutionError

    from .memory_index import memory_transport

    inner = memory_transport({"app": {"1.0": {"requires": ["lib>=1", "gone>=9"]}}, "lib": {"1.0": {}}, "gone": {"1.0": {}}})

    async def scenario():
        never = asyncio.Event()

        async def handler(request):
            if request.url.endswith(".whl"):
                await never.wait()  # a wheel that takes its time
            return inner._handler(request)

        catalog = Catalog([Index("https://memory.example/simple", MockTransport(handler))], speculative=True)
        with pytest.raises(ResolutionError):
            await resolve(parse_requirements(["app"]), catalog, TARGET)
        pending = [t for t in (*catalog.downloads._wheels.values(), *catalog.downloads._opened.values()) if not t.done()]
        assert pending, "the walk's picks were being downloaded"
        assert catalog.downloads.cancel_speculative() == len(pending)
        await asyncio.wait(pending, timeout=5)
        assert all(t.cancelled() for t in pending)
        assert catalog.downloads.cancel_speculative() == 0  # once is enough

    run(scenario())

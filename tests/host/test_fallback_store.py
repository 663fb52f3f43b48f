"""The browser store's fallback (``micropkg.runtime.stores.FallbackStore``) and the fetch-failure message, on CPython.

In real engines, ``tests/runtime/test_engines.py`` hides or fills the Cache API
and refuses connections; here the same logic runs over stores that fail on
demand, so every branch (a failed read, write, delete, clear) is covered.
"""

import asyncio
import hashlib
import warnings

import pytest

from micropkg.errors import NetworkError
from micropkg.net.cache import Cache, MemoryStore
from micropkg.runtime.fetch import fetch_failure
from micropkg.runtime.stores import FallbackStore


class Failing(MemoryStore):
    """A store whose chosen operations raise OSError, as CacheApiStore does for a JsException."""

    def __init__(self, *failing: str) -> None:
        super().__init__()
        self.failing = set(failing)

    async def get(self, key):
        if "get" in self.failing:
            raise OSError(f"Cache API read of {key!r} failed: SecurityError: The operation is insecure.")
        return await super().get(key)

    async def put(self, key, data):
        if "put" in self.failing:
            raise OSError(f"Cache API write of {key!r} failed: QuotaExceededError: Quota exceeded.")
        await super().put(key, data)

    async def delete(self, key):
        if "delete" in self.failing:
            raise OSError("delete failed")
        await super().delete(key)

    async def clear(self):
        if "clear" in self.failing:
            raise OSError("clear failed")
        await super().clear()


def run(coro):
    return asyncio.run(coro)


def said(caught) -> list[str]:
    return [str(w.message) for w in caught]


def test_a_working_primary_is_used_and_nothing_is_said():
    primary = MemoryStore()
    store = FallbackStore(primary)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(store.put("blob/a", b"1"))
        assert run(store.get("blob/a")) == b"1"
    assert primary.entries == {"blob/a": b"1"} and said(caught) == []


def test_no_primary_is_said_once_at_the_start_and_memory_serves():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = FallbackStore(None, "this page has no Cache API")
        run(store.put("blob/a", b"1"))
        run(store.put("blob/b", b"2"))
        assert run(store.get("blob/a")) == b"1"
    assert said(caught) == [
        "micropkg's cache: this page has no Cache API; until this page is closed, what it downloads is kept in memory only"
    ]


def test_a_full_primary_is_said_once_writes_go_to_memory_and_reads_go_on():
    primary = Failing("put")
    primary.entries["blob/old"] = b"kept before it filled up"
    store = FallbackStore(primary)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(3):
            run(store.put(f"blob/{n}", b"x"))
        assert run(store.get("blob/1")) == b"x"
        assert run(store.get("blob/old")) == b"kept before it filled up"
    [message] = said(caught)
    assert "QuotaExceededError: Quota exceeded." in message and message.endswith("kept in memory only")
    assert set(primary.entries) == {"blob/old"}


def test_a_failed_read_turns_the_primary_off():
    primary = Failing("get")
    store = FallbackStore(primary)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run(store.get("blob/a")) is None
        primary.failing.clear()
        run(store.put("blob/a", b"1"))  # memory now, not the primary
        assert run(store.get("blob/a")) == b"1"
    assert len(said(caught)) == 1 and "SecurityError" in said(caught)[0]
    assert primary.entries == {}


@pytest.mark.parametrize("operation", ["delete", "clear"])
def test_a_failed_delete_or_clear_falls_back_once(operation):
    store = FallbackStore(Failing(operation))
    run(store.put("blob/a", b"1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if operation == "delete":
            run(store.delete("blob/a"))
        else:
            run(store.clear())
        run(store.clear())
    assert said(caught) == [
        f"micropkg's cache: {operation} failed; until this page is closed, what it downloads is kept in memory only"
    ]
    assert run(store.get("blob/a")) is None


def test_the_cache_sees_no_failures_once_fallen_back():
    # _cache.Cache warns per key when a store raises; through the fallback it hears nothing.
    cache = Cache(FallbackStore(Failing("put")))
    files = {hashlib.sha256(data).hexdigest(): data for data in (b"one", b"two", b"three")}

    async def use():
        for sha256, data in files.items():
            await cache.keep_file(sha256, data)
        await cache.settle()
        return [await cache.file(sha256) for sha256 in files]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run(use()) == list(files.values())  # kept in memory
    assert len(said(caught)) == 1, said(caught)


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        ("Failed to fetch", "Failed to fetch"),
        ("NetworkError when attempting to fetch resource.", "NetworkError when attempting to fetch resource"),
        ("Load failed", "Load failed"),
        ("fetch failed", "fetch failed"),
    ],
)
def test_a_fetch_failure_is_one_sentence_in_the_engines_words(words, shown):
    error = fetch_failure("https://user:secret@idx.example/simple/x/", OSError(words))
    assert isinstance(error, NetworkError)
    # On CPython (not a browser) there is no CORS hint; the credentials never show.
    assert str(error) == f"Could not fetch https://idx.example/simple/x/: no answer arrived ({shown})."

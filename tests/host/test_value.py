"""micropkg.value: the classes that take their equality, hashing and repr from the
mixin behave as the dataclasses they were (and as the hand-written methods that
replaced them): same class and equal fields, a hash over the fields, the
dataclass repr in the constructor's order, fields left out left out, mutable
classes unhashable.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest
from packaging.version import Version

from micropkg.model.candidates import Candidate
from micropkg.model.plan import Kept, Pin, Plan
from micropkg.model.simple import DistFile
from micropkg.model.sources import INSTALLED, DirectSource, IndexSource, InstalledSource, LockSource
from micropkg.model.tags import PlatformInfo
from micropkg.model.target import Target
from micropkg.net.transport import Request
from micropkg.options import Options
from micropkg.value import MutableValue, Value

INDEX = IndexSource("https://index.example/simple")
URL = "https://files.example/demo-1.0-py3-none-any.whl"


def dist_file(**changes: object) -> DistFile:
    fields = {"filename": "demo-1.0-py3-none-any.whl", "url": URL, "hashes": {"sha256": "ab"}, "size": 10}
    return DistFile(**{**fields, **changes})  # type: ignore[arg-type]


def candidate(file: DistFile | None = None) -> Candidate:
    return Candidate("demo", Version("1.0"), file or dist_file(), INDEX, frozenset({"x"}))


def test_equal_fields_are_equal_with_equal_hashes() -> None:
    # DistFile's hashes is a dict: a DistFile is compared, but hashing it fails as a dataclass's did.
    assert dist_file() == dist_file() and dist_file() != dist_file(size=11)
    with pytest.raises(TypeError, match="unhashable"):
        hash(dist_file())
    files = [DistFile("demo-1.0.tar.gz", URL, ()), DistFile("demo-1.0.tar.gz", URL, ())]  # type: ignore[arg-type]
    assert files[0] == files[1] and hash(files[0]) == hash(files[1]) and len(set(files)) == 1
    assert Candidate("demo", Version("1.0"), files[0], INDEX) == Candidate("demo", Version("1.0"), files[1], INDEX)
    assert Candidate("demo", Version("1.0"), files[0], INDEX) != Candidate("demo", Version("1.1"), files[0], INDEX)
    pins = [Pin("demo", Version("1.0"), Candidate("demo", Version("1.0"), f, INDEX), ("the request",)) for f in files]
    assert pins[0] == pins[1] and hash(pins[0]) == hash(pins[1])
    assert {IndexSource("a"): 1}[IndexSource("a")] == 1 and IndexSource("a") != IndexSource("b")
    assert LockSource("l", "i") == LockSource("l", "i") != LockSource("l", None)
    assert InstalledSource() == INSTALLED and hash(InstalledSource()) == hash(INSTALLED)
    assert Options(pre=True) == Options(pre=True) != Options() and hash(Options(pre=True)) == hash(Options(pre=True))


def test_different_classes_with_the_same_fields_are_not_equal() -> None:
    # As a dataclass's __eq__: same class or NotImplemented, so Python falls back on identity.
    pin = Pin("demo", Version("1.0"), candidate(), ("the request",))
    kept = Kept("demo", Version("1.0"), candidate(), ("the request",))
    assert pin != kept and kept != pin and pin.__eq__(kept) is NotImplemented
    assert IndexSource("u") != DirectSource("u") and len({IndexSource("u"), DirectSource("u")}) == 2
    assert pin != ("demo", Version("1.0"), candidate(), ("the request",), None)


def test_pin_keeps_its_own_check() -> None:
    with pytest.raises(TypeError, match="needs a file"):
        Pin("demo", Version("1.0"), Candidate("demo", Version("1.0"), None, INSTALLED), ("the request",))


def test_repr_is_the_dataclass_repr_in_the_constructor_order() -> None:
    file = DistFile("d-1.0.tar.gz", URL)
    assert repr(file) == (
        f"DistFile(filename='d-1.0.tar.gz', url={URL!r}, hashes={{}}, requires_python=None, yanked=None,"
        " core_metadata=None, size=None, upload_time=None)"
    )
    pin = Pin("demo", Version("1.0"), Candidate("demo", Version("1.0"), file, INDEX), ("the request",))
    assert repr(pin) == (
        f"Pin(name='demo', version=<Version('1.0')>, candidate=Candidate(name='demo', version=<Version('1.0')>,"
        f" file={file!r}, source=IndexSource(url='https://index.example/simple'), extras=frozenset()),"
        " required_by=('the request',), metadata=None)"
    )
    assert repr(LockSource("pylock.toml")) == "LockSource(location='pylock.toml', index=None)"
    assert repr(INSTALLED) == "InstalledSource()"
    assert repr(Plan()) == "Plan(pins=[], stats=None, walked_back=[], ignored=[])"
    assert repr(Options()) == (
        "Options(deps=True, pre=False, reinstall=False, keep_going=False, constraints=(), only_binary=False)"
    )


def test_excluded_fields_neither_count_nor_show() -> None:
    # Request.early: a handle on a request already sent, not compared (as the dataclass's compare=False).
    first, second = Request(URL, {"a": "b"}, 5.0, 9.0, early=object()), Request(URL, {"a": "b"}, 5.0, 9.0)
    assert first == second
    assert repr(first) == f"Request(url={URL!r}, headers={{'a': 'b'}}, timeout=5.0, budget=9.0)"
    assert Request(URL, timeout=1.0) != Request(URL, timeout=2.0)
    # Target._rank and _parts: derived from the tags, neither compared, hashed nor shown.
    info = PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(4, 0, 9))
    built = Target.build(info, "3.14.0", {"sys_platform": "emscripten"})
    bare = Target(info, "3.14.0", built.tags, {"sys_platform": "emscripten"})
    assert built == bare and built._rank != bare._rank
    assert repr(built) == (
        f"Target(info={info!r}, python_full_version='3.14.0', tags={built.tags!r}, markers={{'sys_platform': 'emscripten'}})"
    )
    with pytest.raises(TypeError, match="unhashable"):  # its markers are a dict, as before
        hash(built)


def test_mutable_classes_stay_unhashable() -> None:
    assert Plan() == Plan() and Plan() != Plan(walked_back=[None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="unhashable"):
        hash(Plan())
    assert Plan.__hash__ is None and Value.__hash__ is not None


# Each class and the fields its hand-written methods compared and showed (the dataclass's
# compare=True, repr=True fields), in the constructor's order; left out: those of EXCLUDED.
MODULES = (
    "index.fetches", "installation.environment", "installation.satisfied", "installation.site_packages",
    "installation.tree_cache", "installation.writer", "model.candidates", "model.metadata", "model.plan",
    "model.records", "model.simple", "model.sources", "model.target", "model.zip_directory", "net.retry",
    "net.transport", "options", "resolution.conflicts", "resolution.dead_ends", "resolution.provider",
    "resolution.resolver", "session", "warm",
)
EXCLUDED = {"Target": {"_rank", "_parts"}, "Request": {"early"}, "Session": {"_distribution"}}
MUTABLE = {"_Change", "_Plan", "Plan", "EdgeLog", "WarmStart"}


def _classes() -> list[type[Value]]:
    found: dict[str, type[Value]] = {}
    for name in MODULES:
        module = importlib.import_module(f"micropkg.{name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Value) and value.__module__ == module.__name__:
                found[value.__qualname__] = value
    return list(found.values())


def test_every_value_class_shows_its_constructors_fields_in_order() -> None:
    classes = _classes()
    assert len(classes) == 37, sorted(c.__qualname__ for c in classes)  # plan's Pin and Kept share _Chosen's
    for cls in classes:
        has_init = cls.__init__ is not object.__init__  # InstalledSource has none, and no fields
        parameters = [p for p in inspect.signature(cls.__init__).parameters if p != "self"] if has_init else []
        assert [p for p in parameters if p not in EXCLUDED.get(cls.__qualname__, ())] == list(cls._fields), cls
        assert (cls.__hash__ is None) == (cls.__qualname__ in MUTABLE) == issubclass(cls, MutableValue), cls
        # A dataclass of the same fields and values reprs and compares alike.
        like = dataclasses.make_dataclass(cls.__qualname__, cls._fields, eq=True)
        values = [f"<{name}>" for name in cls._fields]
        instance = cls.__new__(cls)
        for name, value in zip(cls._fields, values):
            object.__setattr__(instance, name, value)
        assert repr(instance) == repr(like(*values)), cls
        twin = cls.__new__(cls)
        for name, value in zip(cls._fields, values):
            object.__setattr__(twin, name, value)
        assert instance == twin and not (instance != twin), cls
        if cls._fields:
            object.__setattr__(twin, cls._fields[-1], "other")
            assert instance != twin, cls

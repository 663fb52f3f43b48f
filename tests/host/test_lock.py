"""Lock formats: the TOML emitter, pylock.toml and pyodide-lock.json in and out, and
PEP 751's selection rules (markers, requires-python, environments, tags, hashes)."""

from __future__ import annotations

import asyncio
import datetime
import json
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from micropkg.errors import LockError
from micropkg.index.client import Index
from micropkg.lock.create import lock_plan
from micropkg.lock.pylock import Table, TableArray, _string, dumps, dumps_toml, loads
from micropkg.lock.pyodide_lock import dumps as dumps_pyodide_lock
from micropkg.lock.pyodide_lock import loads as loads_pyodide_lock
from micropkg.lock.pyodide_lock import parse_lock
from micropkg.model.location import join_location
from micropkg.model.lock import plan_from_lock, select, wheel_location
from micropkg.model.pyodide_releases import target_for_platform, target_for_pyodide
from micropkg.model.requirements import parse_requirements
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .memory_index import INDEX_URL, memory_transport
from .test_resolver_scenarios import TARGET

SHA = "a" * 64
WHEEL_314 = "demo-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
WHEEL_313 = "demo-1.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl"


def pylock(packages: str, *, header: str = 'lock-version = "1.0"\ncreated-by = "test"\n') -> str:
    return header + packages


def package(name="demo", version="1.0", wheel=WHEEL_314, hashes=f'{{sha256 = "{SHA}"}}', extra="") -> str:
    return (
        f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n{extra}'
        f'\n[[packages.wheels]]\nname = "{wheel}"\nurl = "https://files.example/{wheel}"\nhashes = {hashes}\n'
    )


# -- the TOML emitter ----------------------------------------------------------------------


@given(st.text())
def test_any_string_survives_the_emitter(text):
    assert tomllib.loads(f"key = {_string(text)}")["key"] == text


def test_documents_read_back_as_written():
    document = {
        "title": 'quotes " and \\ backslashes\nand lines',
        "count": 3,
        "flag": False,
        "when": datetime.datetime(2025, 1, 25, 11, 30, 10, 164985, tzinfo=datetime.UTC),
        "list": ["a", "b"],
        "inline": {"sha256": SHA, "odd key": 1},
        "items": TableArray([Table(name="x", nested={"k": "v"}), Table(name="y")]),
        "tool": Table(micropkg=Table(python="3.14.2", requirements=["a", "b>=1"])),
    }
    text = dumps_toml(document)
    assert tomllib.loads(text) == {**document, "items": [{"name": "x", "nested": {"k": "v"}}, {"name": "y"}]}
    assert "[tool]" not in text and "[tool.micropkg]" in text  # a table of tables needs no header
    assert "when = 2025-01-25T11:30:10.164985Z" in text


# -- writing a lock from a plan ------------------------------------------------------------


def plan_lock(index: dict, request: list[str]):
    catalog = Catalog([Index(INDEX_URL, memory_transport(index))])

    async def run():
        plan = await resolve(parse_requirements(request), catalog, TARGET)
        return plan, await lock_plan(plan, catalog, TARGET)

    return asyncio.run(run())


def test_a_resolved_plan_round_trips_through_pylock_toml():
    index = {
        "app": {"1.0": {"requires": ["lib>=1", "never; sys_platform == 'linux'"]}},
        "lib": {"1.0": {"tags": ["cp314-cp314-pyemscripten_2026_0_wasm32", "cp313-cp313-pyemscripten_2025_0_wasm32"]}},
    }
    plan, lock = plan_lock(index, ["app"])
    text = dumps(lock)
    document = tomllib.loads(text)
    assert document["lock-version"] == "1.0" and document["created-by"] == "micropkg"
    assert document["requires-python"] == "==3.14.*"
    [environment] = document["environments"]
    assert 'sys_platform == "emscripten"' in environment and 'platform_release == "5.0.3"' in environment
    assert [p["name"] for p in document["packages"]] == ["app", "lib"]
    app, lib = document["packages"]
    assert app["dependencies"] == [{"name": "lib"}] and app["index"] == INDEX_URL
    assert [w["name"] for w in lib["wheels"]] == ["lib-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"]
    assert lib["wheels"][0]["hashes"] == {"sha256": plan.pins[1].file.hashes["sha256"]}
    assert document["tool"]["micropkg"]["platform"] == "pyemscripten_2026_0_wasm32"

    again = loads(text, source="pylock.toml")
    assert [(p.name, p.version, p.wheels) for p in again.packages] == [(p.name, p.version, p.wheels) for p in lock.packages]
    assert again.target.tags == TARGET.tags and again.target.python_full_version == "3.14.2"
    assert dumps(again) == text  # writing is deterministic


def test_pyodide_lock_json_round_trips_and_names_the_runtime():
    _, lock = plan_lock({"app": {"1.0": {"requires": ["lib"]}}, "lib": {"1.0": {}}}, ["app"])
    document = json.loads(dumps_pyodide_lock(lock))
    assert document["info"] == {"abi_version": "2026_0", "arch": "wasm32", "platform": "emscripten_5_0_3", "python": "3.14.2"}
    assert document["packages"]["app"]["depends"] == ["lib"]
    assert document["packages"]["lib"]["file_name"].startswith("https://memory.example/files/lib-1.0")
    again = loads_pyodide_lock(json.dumps(document), source="pyodide-lock.json")
    assert [(p.name, p.version, p.wheels[0].url, p.wheels[0].sha256) for p in again.packages] == [
        (p.name, p.version, p.wheels[0].url, p.wheels[0].sha256) for p in lock.packages
    ]
    with pytest.raises(LockError, match="matches none of them"):
        select(again, target_for_pyodide("0.29"))


# -- reading: what is refused --------------------------------------------------------------


def test_a_wheel_without_hashes_is_refused():
    with pytest.raises(LockError, match=r"demo-1\.0-.*has no hashes"):
        loads(pylock(package(hashes="{}")))
    with pytest.raises(LockError, match="has no sha256, sha384 or sha512 hash .*it states: md5"):
        loads(pylock(package(hashes='{md5 = "00"}')))
    no_sha = {"info": {"abi_version": "2026_0", "python": "3.14.2", "platform": "emscripten_5_0_3"},
              "packages": {"demo": {"name": "demo", "version": "1.0", "file_name": WHEEL_314}}}
    with pytest.raises(LockError, match="has no sha256"):
        loads_pyodide_lock(json.dumps(no_sha))


def test_an_unknown_lock_version_is_refused():
    with pytest.raises(LockError, match="version '2.0' is not supported"):
        loads(pylock(package(), header='lock-version = "2.0"\ncreated-by = "x"\n'))
    with pytest.raises(LockError, match="'lock-version' is missing"):
        loads(pylock(package(), header='created-by = "x"\n'))
    with pytest.warns(UserWarning, match="newer than 1.0"):
        loads(pylock(package(), header='lock-version = "1.1"\ncreated-by = "x"\n'))


def test_malformed_files_name_where():
    with pytest.raises(LockError, match="not valid TOML"):
        loads("lock-version = ", source="pylock.toml")
    with pytest.raises(LockError, match=r"package 'demo', wheels\[0\]: 'size' must be a int"):
        loads(pylock(package().replace("hashes", 'size = "big"\nhashes')))
    with pytest.raises(LockError, match="not valid JSON"):
        parse_lock("{nope")
    # A marker or requires-python packaging refuses: the lock, the entry and packaging's reason.
    with pytest.raises(LockError, match=r"pylock.toml: package 'demo': invalid marker 'python_version >> \"3\"': Expected"):
        loads(pylock(package(extra='marker = \'python_version >> "3"\'\n')), source="pylock.toml")
    with pytest.raises(LockError, match=r"invalid requires-python '>=three': Invalid specifier"):
        loads(pylock(package(extra='requires-python = ">=three"\n')), source="pylock.toml")


def test_a_wheel_for_another_abi_is_refused_by_name():
    lock = loads(pylock(package(wheel=WHEEL_313)), source="pylock.toml")
    with pytest.raises(LockError) as info:
        select(lock, TARGET)
    message = str(info.value)
    assert WHEEL_313 in message and "cp314 pyemscripten_2026_0" in message and "lock again" in message


def test_the_best_wheel_is_chosen_and_markers_skip_entries():
    text = pylock(
        package(extra='marker = "sys_platform == \'linux\'"\n', name="linux-only", wheel="linux_only-1.0-py3-none-any.whl")
        + package().replace("hashes", f'hashes = {{sha256 = "{SHA}"}}\n\n[[packages.wheels]]\nname = "{WHEEL_313}"\nurl = "https://f/{WHEEL_313}"\nhashes', 1)
        + package(name="pure", wheel="pure-2.0-py3-none-any.whl", version="2.0")
    )
    chosen = select(loads(text), TARGET)
    assert [(p.name, w.filename) for p, w in chosen] == [("demo", WHEEL_314), ("pure", "pure-2.0-py3-none-any.whl")]


def test_two_entries_for_one_project_and_python_mismatch_are_errors():
    with pytest.raises(LockError, match="two entries for demo"):
        select(loads(pylock(package() + package(version="1.0"))), TARGET)
    with pytest.raises(LockError, match="requires Python >=3.15"):
        select(loads(pylock(package(extra='requires-python = ">=3.15"\n'))), TARGET)
    with pytest.raises(LockError, match="requires Python ==3.13.*"):
        select(loads('requires-python = "==3.13.*"\n' + pylock(package())), TARGET)
    # An entry locked to its sdist is selected: the install builds it (micropkg.build).
    [(_, sdist)] = select(loads(pylock('\n[[packages]]\nname = "src"\nversion = "1.0"\n[packages.sdist]\nurl = "https://x/src-1.0.tar.gz"\nhashes = {sha256 = "00"}\n')), TARGET)
    assert sdist.filename == "src-1.0.tar.gz" and sdist.hashes == {"sha256": "00"}
    with pytest.raises(LockError, match="wheels and pure-Python sdists only"):
        select(loads(pylock('\n[[packages]]\nname = "src"\nversion = "1.0"\n[packages.vcs]\ntype = "git"\nurl = "https://x/src.git"\ncommit-id = "0"\n')), TARGET)


def test_paths_resolve_against_the_lock_location():
    text = pylock(package().replace('url = "https://files.example/' + WHEEL_314 + '"', f'path = "files/{WHEEL_314}"'))
    lock = loads(text, source="https://host/app/pylock.toml", base_url="https://host/app/pylock.toml")
    [(entry, wheel)] = select(lock, TARGET)
    assert wheel_location(lock, entry, wheel) == f"https://host/app/files/{WHEEL_314}"
    plan, files = plan_from_lock(lock, TARGET, {})
    assert list(files) == [f"https://host/app/files/{WHEEL_314}"] and plan.pins[0].required_by == ("the lock",)
    as_text = loads(text)  # no location to be relative to
    with pytest.raises(LockError, match="given as text"):
        plan_from_lock(as_text, TARGET, {})
    assert join_location("emfs:/tmp/m/pylock.toml", "files/a.whl") == "emfs:/tmp/m/files/a.whl"
    assert join_location("/srv/m/pylock.toml", "../w/a.whl") == "/srv/w/a.whl"


def test_an_installed_locked_version_is_kept():
    lock = loads(pylock(package()))
    plan, files = plan_from_lock(lock, TARGET, {"demo": Version("1.0")})
    assert plan.to_install == [] and files == {}
    plan, files = plan_from_lock(lock, TARGET, {"demo": Version("0.9")})
    assert [p.name for p in plan.to_install] == ["demo"]


# -- targets named on the command line -----------------------------------------------------


def test_pyodide_versions_and_platforms_name_their_runtime():
    for version, tag in [("314.0", "cp314-cp314-pyemscripten_2026_0_wasm32"), ("0.29.5", "cp313-cp313-pyemscripten_2025_0_wasm32"),
                         ("0.27", "cp312-cp312-pyemscripten_2024_0_wasm32"), ("315.0", "cp315-cp315-pyemscripten_2026_5_wasm32")]:
        assert str(target_for_pyodide(version).tags[0]) == tag
    assert target_for_pyodide("0.27").markers["platform_release"] == "3.1.58"
    by_platform = target_for_platform("pyemscripten_2026_0_wasm32", "3.14")
    assert by_platform.tags == TARGET.tags and by_platform.markers == TARGET.markers
    assert target_for_platform("pyemscripten_2027_0_wasm32", "3.16").python_full_version == "3.16.0"
    with pytest.raises(LockError, match="Unknown Pyodide version '0.20'"):
        target_for_pyodide("0.20")
    with pytest.raises(LockError, match="Unknown platform 'manylinux"):
        target_for_platform("manylinux_2_17_x86_64", "3.14")

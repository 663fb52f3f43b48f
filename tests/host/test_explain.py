"""``explain``: every file of one project, and why each was taken or refused (text output)."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from micropkg.errors import ProjectNotFound
from micropkg.index.client import Index
from micropkg.index.distribution import Distribution
from micropkg.net.transport import MockTransport, Response
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.explain import explain_project

from .test_resolver_scenarios import TARGET

INDEX = "https://idx.example/simple"
JSON = {"content-type": "application/vnd.pypi.simple.v1+json"}


def _file(filename: str, **extra) -> dict:
    return {"filename": filename, "url": f"https://files.example/{filename}",
            "hashes": {"sha256": hashlib.sha256(filename.encode()).hexdigest()}, **extra}


PAGE = {
    "meta": {"api-version": "1.1"},
    "name": "msgpack",
    "files": [
        _file("msgpack-1.1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        _file("msgpack-1.2.4-cp313-cp313-pyemscripten_2025_0_wasm32.whl"),
        _file("msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        _file("msgpack-1.2.4-py3-none-any.whl"),
        _file("msgpack-1.2.4.tar.gz"),
        _file("msgpack-1.3.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", yanked="broken build"),
        _file("msgpack-1.4.0rc1-cp314-cp314-pyemscripten_2026_0_wasm32.whl"),
        _file("msgpack-1.5.0-py3-none-any.whl", **{"requires-python": ">=3.15"}),
    ],
}


def _catalog(distribution: Distribution | None = None) -> Catalog:
    transport = MockTransport(
        lambda r: Response(r.url, 200, JSON, json.dumps(PAGE).encode()) if r.url == f"{INDEX}/msgpack/"
        else Response(r.url, 404, {}, b"")
    )
    return Catalog([Index(INDEX, transport)], distribution=distribution)


def explain(requirement: str, catalog: Catalog | None = None, **kwargs) -> str:
    return str(asyncio.run(explain_project(requirement, catalog or _catalog(), TARGET, **kwargs)))


def rows(text: str) -> list[tuple[str, str, str]]:
    return [tuple(line.split(None, 2)) for line in text.splitlines()[1:]]


def test_text_lists_every_file_with_its_verdict():
    text = explain("msgpack")
    assert text.splitlines()[0] == f"msgpack: 8 files for cp314 pyemscripten_2026_0, from {INDEX}"
    assert rows(text) == [
        ("taken", "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "newest version that fits"),
        ("refused", "msgpack-1.1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "older than 1.2.4"),
        ("refused", "msgpack-1.2.4-py3-none-any.whl", "another file of 1.2.4 fits this runtime better"
         " (msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl)"),
        ("refused", "msgpack-1.3.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
         "yanked: broken build (only an == pin selects a yanked file)"),
        ("refused", "msgpack-1.4.0rc1-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
         "a pre-release (pass pre=True, or pin it)"),
        ("refused", "msgpack-1.2.4-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
         "tags cp313 pyemscripten_2025_0 do not fit cp314 pyemscripten_2026_0"),
        ("refused", "msgpack-1.2.4.tar.gz", "a source distribution, not built with only_binary"),
        ("refused", "msgpack-1.5.0-py3-none-any.whl", "requires-python '>=3.15' excludes Python 3.14.2"),
    ]
    # One column per field: every reason starts where the longest file name ends, plus two spaces.
    longest = len("msgpack-1.4.0rc1-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    assert {line.index(reason) for line, (_, _, reason) in zip(text.splitlines()[1:], rows(text))} == {11 + longest + 2}


def test_a_specifier_a_pin_and_pre_change_the_verdicts():
    text = explain("msgpack<1.2")
    assert "taken    msgpack-1.1.0-cp314" in text
    assert ("refused", "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            "version 1.2.4 is excluded by <1.2") in rows(text)
    assert "taken    msgpack-1.3.0-cp314" in explain("msgpack==1.3.0")  # a pin selects a yanked file
    assert "taken    msgpack-1.4.0rc1-cp314" in explain("msgpack", pre=True)


def test_nothing_fits_is_said():
    text = explain("msgpack>=2")
    assert "taken" not in text and text.endswith("nothing fits: msgpack>=2 cannot be installed on cp314 pyemscripten_2026_0")


def test_the_distribution_build_and_its_source_are_shown():
    packages = {
        "msgpack": {"name": "msgpack", "version": "1.2.4", "sha256": "ab" * 32, "depends": [],
                    "file_name": "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl"},
        "numpy": {"name": "numpy", "version": "2.4.6", "sha256": "cd" * 32, "depends": [],
                  "file_name": "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"},
    }
    lock = "https://cdn.example/pyodide-lock.json"
    catalog = _catalog(Distribution(lock, read=None, packages=packages, base_url="https://cdn.example/"))
    result = asyncio.run(explain_project("msgpack", catalog, TARGET))
    assert result.sources == (INDEX, lock)
    listed = rows(str(result))
    # Same version on both: the index's file; the distribution's build says why it was not taken.
    assert listed[0] == ("taken", packages["msgpack"]["file_name"], f"newest version that fits [{INDEX}]")
    assert ("refused", packages["msgpack"]["file_name"],
            f"the index's file of 1.2.4 is preferred on a tie with the Pyodide distribution's build [{lock}]") in listed
    # Only the distribution has numpy (the index answers 404 for it).
    numpy = asyncio.run(explain_project("numpy", _catalog(Distribution(lock, None, packages=packages,
                                                                          base_url="https://cdn.example/")), TARGET))
    assert str(numpy).splitlines() == [
        f"numpy: 1 file for cp314 pyemscripten_2026_0, from {lock}",
        f"  taken    {packages['numpy']['file_name']}  newest version that fits (the Pyodide distribution's build)",
    ]


def test_unknown_project_raises_naming_the_index():
    with pytest.raises(ProjectNotFound, match=INDEX):
        explain("nothing-here")

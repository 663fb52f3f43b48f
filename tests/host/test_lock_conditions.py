"""micropkg.model.lock_conditions answers what packaging answers (the oracle), over a grid.

A lock install evaluates its lock's ``environments``, ``marker`` and
``requires-python`` without importing packaging's markers and specifiers when
they have the simple forms; these tests compare every answer, and every
``str()``, with ``packaging.markers.Marker`` and ``packaging.specifiers.SpecifierSet``.
"""

from __future__ import annotations

import itertools

import pytest
from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from micropkg.lock.pyodide_lock import target_of
from micropkg.model.lock import environment_marker
from micropkg.model.lock_conditions import InvalidCondition, SimpleMarker, SimpleSpecifierSet, lock_marker, lock_specifier

VERSIONS = ["0", "2", "3", "3.0", "3.8", "3.9", "3.9.0", "3.10", "3.12", "3.13", "3.13.1", "3.14", "3.14.0",
            "3.14.2", "3.14.2.0", "3.15", "4", "4.0", "10.1"]
OPERATORS = ["==", "!=", ">=", "<=", ">", "<", "~="]
PYTHONS = ["3.8.0", "3.9.0", "3.12.7", "3.13.0", "3.14.0", "3.14.2", "3.14.10", "3.15.0", "4.0.0", "3.14",
           "3.14.2rc1", "3.15.0a2", "3.14.2+local"]


def _clauses():
    for op, version in itertools.product(OPERATORS, VERSIONS):
        if op == "~=" and "." not in version:
            continue
        yield f"{op}{version}"
    for op, version in itertools.product(["==", "!="], VERSIONS):
        yield f"{op}{version}.*"


CLAUSES = list(_clauses())
SETS = CLAUSES + [f"{a}, {b}" for a, b in itertools.product(CLAUSES[::5], CLAUSES[::7])] + [
    ">=3.9,<4", " >= 3.8 , != 3.14.1 ", "==3.14.*", ">=3.10,!=3.11.*,<3.15"]


@pytest.mark.parametrize("text", SETS)
def test_a_simple_specifier_set_agrees_with_packaging(text):
    ours, theirs = lock_specifier(text), SpecifierSet(text)
    # Clauses packaging merges (">=3.14, >=3.14.0") go to packaging; the rest take the fast path.
    assert isinstance(ours, SimpleSpecifierSet) or len(str(theirs).split(",")) < len(text.split(",")), text
    assert str(ours) == str(theirs) and ours == theirs and theirs == ours
    for python in PYTHONS:
        assert ours.contains(python, prereleases=True) == theirs.contains(python, prereleases=True), (text, python)


def test_the_usual_requires_python_take_the_fast_path():
    for text in (">=3.9", "==3.14.*", ">=3.10,<4", "~=3.12", "!=3.0.*,>=2.7"):
        assert isinstance(lock_specifier(text), SimpleSpecifierSet), text


@pytest.mark.parametrize("text", ["===3.14", ">=3.9rc1", "==3.14.*.*", ">=3.*", "~=3", ">=1!2", "==3.14+x", ">=3.9; x"])
def test_other_specifiers_are_packagings(text):
    _is_packagings(lock_specifier, SpecifierSet, InvalidSpecifier, text)


def _is_packagings(ours_of, packagings, invalid, text):
    # Either both refuse ``text`` (ours naming packaging's reason), or ours hands it to
    # packaging and gives the same object.
    try:
        expected = packagings(text)
    except invalid as refused:
        with pytest.raises(InvalidCondition) as ours_refused:
            ours_of(text)
        assert ours_refused.value.reason == str(refused) and ours_refused.value.text == text
        return
    ours = ours_of(text)
    assert type(ours) is packagings and ours == expected


TARGETS = [
    {"abi_version": "2026_0", "python": "3.14.2", "platform": "emscripten_4_0_9"},
    {"abi_version": "2025_0", "python": "3.13.2", "platform": "emscripten_4_0_9"},
    {"abi_version": "2024_0", "python": "3.12.7", "platform": "emscripten_3_1_58"},
    {"abi_version": "2026_5", "python": "3.15.0a2", "platform": "emscripten_5_0_3"},
]
MARKERS = [environment_marker(target_of(info, "<test>")) for info in TARGETS] + [
    'sys_platform == "emscripten"', 'os_name == "posix" and python_version == "3.14.0"',
    'python_full_version == "3.14.2" and implementation_name == "cpython"', 'platform_release == "4.0.9.0"',
    'python_version == "3.14"', 'platform_machine == "x86_64"',
]


@pytest.mark.parametrize("text", MARKERS)
def test_a_simple_marker_agrees_with_packaging(text):
    ours, theirs = lock_marker(text), Marker(text)
    assert isinstance(ours, SimpleMarker), text
    assert str(ours) == str(theirs) and ours == theirs and theirs == ours
    for info in TARGETS:
        environment = dict(target_of(info, "<test>").markers)
        for value in (None, "3.14", "3.14.0", "3.13"):  # python_version spelled otherwise too
            if value is not None:
                environment["python_version"] = value
            assert ours.evaluate(environment) == theirs.evaluate(environment), (text, environment)


@pytest.mark.parametrize("text", [
    "sys_platform == 'emscripten'", 'extra == "x"', 'python_version >= "3.9"', 'sys_platform == "a" or os_name == "b"',
    'python_version == "3.*"', 'platform_version == "#1"', 'python_version ==', '(sys_platform == "emscripten")',
])
def test_other_markers_are_packagings(text):
    _is_packagings(lock_marker, Marker, InvalidMarker, text)


def test_the_marker_environment_is_packagings_default_environment():
    from packaging.markers import default_environment

    from micropkg.runtime.detect import marker_environment

    assert marker_environment() == default_environment()

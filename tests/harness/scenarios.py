"""The resolution scenarios of ``tests/data/resolution``, for the host and the Pyodide suites.

The data is split as resolvelib's functional tests split theirs:

``index/<name>.json``
    an index snapshot: project -> version -> release facts (``requires``,
    ``requires_python`` as the index lists it, ``metadata_requires_python``
    as METADATA says, ``extras``, ``tags``, ``yanked``);
``cases/<name>.json``
    a ``description``, the ``index`` the cases run against (a snapshot's
    name) and the ``cases``: a ``request``, ``options`` for ``resolve``, and
    the expected ``pins`` (with ``files``) or ``error`` (``type``, fragments
    the message ``contains``).

``tests/host/test_resolver_scenarios.py`` runs them on CPython against an
in-memory index; ``tests/runtime/test_resolver.py`` inside Pyodide against
the loopback index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA", "Scenario", "load_index", "scenarios"]

DATA = Path(__file__).resolve().parents[1] / "data" / "resolution"


@dataclass(frozen=True)
class Scenario:
    """One case with the index snapshot it runs against."""

    file: str  # the cases file's name, e.g. "versions.json"
    index: dict
    case: dict

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}: {self.case['name']}"


def load_index(name: str) -> dict:
    """The index snapshot ``index/<name>.json``."""
    return json.loads((DATA / "index" / f"{name}.json").read_text())


def scenarios() -> Iterator[Scenario]:
    """Every case of every cases file, in file order."""
    for path in sorted((DATA / "cases").glob("*.json")):
        data = json.loads(path.read_text())
        index = load_index(data["index"])
        for case in data["cases"]:
            yield Scenario(path.name, index, case)

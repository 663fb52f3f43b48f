"""What the benchmark installs, and the Python each installer runs for it.

Each scenario is one request, run by micropkg and by micropip 0.11.1 in a
fresh Pyodide against the same mirror. The snippets time themselves with
``time.perf_counter`` from just before ``import <installer>`` to just after
``install`` returns (the import is part of the cost a page pays), and report
what ended up installed, read from ``importlib.metadata`` the same way for
both installers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Scenario", "SCENARIOS", "QUICK", "install_snippet", "import_snippet", "lock_snippet"]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requirements: tuple[str, ...] = ()
    kind: str = "cold"  # cold, warm, lock, import
    note: str = ""
    imports: tuple[str, ...] = field(default=())  # checked after timing: the install works


SCENARIOS = (
    Scenario("luau", "luau-wasm (1 native wheel)", ("luau-wasm",), imports=("luau_wasm",)),
    Scenario(
        "pydantic", "pydantic (native pydantic-core, 5 wheels)", ("pydantic",), imports=("pydantic",),
    ),
    Scenario(
        "tree",
        "23-package pure-Python tree",
        ("httpx[http2]", "rich", "attrs", "cattrs", "python-dateutil", "pytest", "click"),
        imports=("httpx", "rich", "cattrs", "dateutil"),
    ),
    Scenario(
        "backtrack",
        "backtracking: flake8 with pycodestyle<2.9",
        ("flake8", "pycodestyle<2.9"),
        note="the newest flake8 needs a newer pycodestyle: an installer must walk back to flake8 4.0.1",
        imports=("flake8",),
    ),
    Scenario(
        "warm",
        "warm: the 23-package tree again, fresh runtime, same origin",
        ("httpx[http2]", "rich", "attrs", "cattrs", "python-dateutil", "pytest", "click"),
        kind="warm",
        imports=("httpx", "rich"),
    ),
    Scenario(
        "lock",
        "install from a lock (23-package tree)",
        ("httpx[http2]", "rich", "attrs", "cattrs", "python-dateutil", "pytest", "click"),
        kind="lock",
        note="micropip cannot install a lock: its column is its usual resolving install",
    ),
    Scenario("import", "`import <installer>` alone", kind="import"),
)

QUICK = ("luau", "pydantic", "warm", "import")

_PRELUDE = """
import json, sys, time
import importlib.metadata as _md

def _dists():
    return {(d.metadata["Name"] or "").lower(): d.version for d in _md.distributions()}

_before = _dists()
_error = None
"""

_EPILOGUE = """
_after = _dists()
_installed = sorted(f"{n}=={v}" for n, v in _after.items() if _before.get(n) != v)
_checked = []
if _error is None:
    for _m in IMPORTS:
        try:
            __import__(_m)
            _checked.append(_m)
        except Exception as _exc:
            _error = f"installed, but import {_m} failed: {type(_exc).__name__}: {_exc}"
json.dumps({
    "import_ms": (_t1 - _t0) * 1000,
    "install_ms": (_t2 - _t1) * 1000,
    "total_ms": (_t2 - _t0) * 1000,
    "installed": _installed,
    "error": _error,
})
"""


def install_snippet(tool: str, requirements: tuple[str, ...], index_url: str, imports: tuple[str, ...]) -> str:
    """Import ``tool`` (micropkg or micropip) and install ``requirements`` from ``index_url``."""
    body = f"""
REQS = {json.dumps(list(requirements))}
IMPORTS = {json.dumps(list(imports))}
_t0 = time.perf_counter()
import {tool}
_t1 = time.perf_counter()
try:
    await {tool}.install(REQS, index_urls=[{index_url!r}])
except Exception as _exc:
    _error = f"{{type(_exc).__name__}}: {{_exc}}"[:1500]
_t2 = time.perf_counter()
"""
    return _PRELUDE + body + _EPILOGUE


def import_snippet(tool: str) -> str:
    """Time ``import tool`` alone, and count the modules it pulled in."""
    return f"""
import json, sys, time
_n = len(sys.modules)
_t0 = time.perf_counter()
import {tool}
_t1 = time.perf_counter()
json.dumps({{"import_ms": (_t1 - _t0) * 1000, "install_ms": 0.0, "total_ms": (_t1 - _t0) * 1000,
            "modules": len(sys.modules) - _n, "installed": [], "error": None}})
"""


def lock_snippet(lock_text: str) -> str:
    """Install from a lock made beforehand (micropkg only: micropip has no lock install)."""
    body = f"""
IMPORTS = []
LOCK = {lock_text!r}
_t0 = time.perf_counter()
import micropkg
_t1 = time.perf_counter()
try:
    await micropkg.install(lock=LOCK)
except Exception as _exc:
    _error = f"{{type(_exc).__name__}}: {{_exc}}"[:1500]
_t2 = time.perf_counter()
"""
    return _PRELUDE + body + _EPILOGUE


def baseline_snippet() -> str:
    """Nothing to run: the no-network baseline is Pyodide's loadPackage of the plan's wheels."""
    return 'import json\njson.dumps({"import_ms": 0.0, "install_ms": 0.0, "total_ms": 0.0, "installed": [], "error": None})'

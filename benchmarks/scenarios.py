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

__all__ = ["GEOMEAN", "Scenario", "SCENARIOS", "QUICK", "install_snippet", "import_snippet", "lock_snippet"]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requirements: tuple[str, ...] = ()
    kind: str = "cold"  # cold, warm, lock, import
    note: str = ""
    imports: tuple[str, ...] = field(default=())  # checked after timing: the install works
    lock_at_url: bool = False  # a lock scenario's lock is served by the mirror, not passed as text


TREE = ("httpx[http2]", "rich", "attrs", "cattrs", "python-dateutil", "pytest", "click")

SCENARIOS = (
    Scenario("six", "six (1 pure wheel, no dependencies)", ("six",), imports=("six",)),
    Scenario("click", "click (1 pure wheel)", ("click",), imports=("click",)),
    Scenario("rich", "rich (4 pure wheels)", ("rich",), imports=("rich",)),
    Scenario("httpx", "httpx (7 pure wheels)", ("httpx",), imports=("httpx",)),
    Scenario("luau", "luau-wasm (1 native wheel)", ("luau-wasm",), imports=("luau_wasm",)),
    Scenario(
        "pydantic", "pydantic (native pydantic-core, 5 wheels)", ("pydantic",), imports=("pydantic",),
    ),
    Scenario("tree", "23-package pure-Python tree", TREE, imports=("httpx", "rich", "cattrs", "dateutil")),
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
        TREE,
        kind="warm",
        imports=("httpx", "rich"),
    ),
    Scenario(
        "lock",
        "install from a lock (23-package tree)",
        TREE,
        kind="lock",
        note="micropip cannot install a lock: its column is its usual resolving install",
    ),
    Scenario(
        "lock-url",
        "install from a lock at a URL (23-package tree)",
        TREE,
        kind="lock",
        lock_at_url=True,
        note="the lock is fetched first (a web app's pylock.toml beside its page); micropip: its resolving install",
    ),
    Scenario("import", "`import <installer>` until its `install` is there", kind="import"),
)

# The geometric mean of micropkg/micropip is taken over these (cold installs of single requests).
GEOMEAN = ("six", "click", "rich", "httpx", "luau", "pydantic")

QUICK = tuple(s.name for s in SCENARIOS)  # one pair of each

_PRELUDE = """
import json, os, sys, time

_SITE = next(p for p in sys.path if p.endswith("site-packages"))

def _dists():
    # dist-info directories, not importlib.metadata: importing that here would compile it
    # outside the timer, a head start for whichever installer imports it anyway.
    return {n for n in os.listdir(_SITE) if n.endswith(".dist-info")}

_before = _dists()
_error = None
_marks = []  # (phase, wall-clock seconds)
"""

# Phases as each installer reports them, as (name, wall-clock time) in _marks.
# micropkg: its Reporter.phase hook (micropkg.reporter.PHASES), counted from install().
_MICROPKG_PHASES = """
_reporter = None
try:
    from micropkg.reporter import Reporter as _Reporter
    class _Phases(_Reporter):
        def phase(self, name, at):
            _marks.append((name, _t_install + at))
    _reporter = _Phases()
except ImportError:
    pass
_kwargs = {"reporter": _reporter} if _reporter is not None and hasattr(_Reporter, "phase") else {}
"""

# micropip has no hooks: its resolution (Transaction.gather_requirements, which also starts
# the downloads) and its install of each wheel (verify, unpack, load) are wrapped.
_MICROPIP_PHASES = """
import micropip.transaction as _tx, micropip.wheelinfo as _wi
_gather, _winstall = _tx.Transaction.gather_requirements, _wi.WheelInfo.install
_depth = [0]
async def _timed_gather(self, *a, **k):
    _depth[0] += 1
    if _depth[0] == 1:
        _marks.append(("resolving", time.time()))
    try:
        return await _gather(self, *a, **k)
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            _marks.append(("resolved", time.time()))
async def _timed_install(self, *a, **k):
    if not any(n == "installing" for n, _ in _marks):
        _marks.append(("installing", time.time()))
    return await _winstall(self, *a, **k)
_tx.Transaction.gather_requirements, _wi.WheelInfo.install = _timed_gather, _timed_install
_kwargs = {}
"""

_EPILOGUE = """
_marks.append(("returned", _w2))
_installed = sorted(n[: -len(".dist-info")] for n in _dists() - _before)
# micropkg keeps the tree and what it fetched for the next page load after install() returned
# (micropkg.settled): outside the timer, before the imports check; the warm runs need it.
_settled_ms = None
if "micropkg.api" in sys.modules:
    await sys.modules["micropkg.api"].settled()
    _settled_ms = (time.time() - _w2) * 1000
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
    "wall0": _w0,
    # by time; "returned" last (micropkg's own "done" is the same instant on another clock)
    "marks": [(n, round((w - _w0) * 1000, 1)) for n, w in sorted(_marks, key=lambda m: (m[0] == "returned", m[1]))],
    "installed": _installed,
    "error": _error,
    "settled_ms": _settled_ms,
    "trace": globals().get("_trace"),
})
"""


def _timed(tool: str, call: str) -> str:
    phases = _MICROPKG_PHASES if tool == "micropkg" else _MICROPIP_PHASES
    return f"""
_w0 = time.time()
_t0 = time.perf_counter()
import {tool}
_t1 = time.perf_counter()
_marks.append(("imported", time.time()))
{phases}
_install = {tool}.install  # micropkg's top level is lazy: this imports micropkg.api
_t_install = time.time()
_marks.append(("install()", _t_install))
try:
    await {call}
except Exception as _exc:
    _error = f"{{type(_exc).__name__}}: {{_exc}}"[:1500]
_t2 = time.perf_counter()
_w2 = time.time()
"""


# With --trace: every event-loop callback of 2 ms or more (Python holding the thread the
# runtime's network answers and micropkg's JavaScript chain also need), by what it ran.
_TRACE = """
import asyncio.events as _events
_trace = []
_run = _events.Handle._run
def _traced_run(self):
    _s = time.time()
    _n = set(sys.modules)
    try:
        return _run(self)
    finally:
        _e = time.time()
        if _e - _s >= 0.002:
            _new = sorted(set(sys.modules) - _n)
            _cb = getattr(self._callback, "__self__", None)
            _co = getattr(_cb, "get_coro", lambda: None)()
            _what = getattr(_co, "__qualname__", None) or repr(self._callback)[:80]
            _frame = getattr(_co, "cr_frame", None)
            _trace.append((round((_s - _w0) * 1000, 1), round((_e - _s) * 1000, 1), _what,
                           _frame.f_lineno if _frame is not None else None, _new))
_events.Handle._run = _traced_run
"""


def _traced(snippet: str) -> str:
    """``snippet`` with the --trace recorder set up as its clock starts."""
    return snippet.replace("_w0 = time.time()\n", "_w0 = time.time()\n" + _TRACE, 1)


def install_snippet(tool: str, requirements: tuple[str, ...], index_url: str, imports: tuple[str, ...],
                    trace: bool = False) -> str:
    """Import ``tool`` (micropkg or micropip) and install ``requirements`` from ``index_url``.

    The timer covers ``import`` and ``install``; the phase recording is set up between the
    two (a few attribute assignments, and for micropkg the import of its tiny reporter module).
    """
    if tool == "micropip":
        index_url = index_url.rstrip("/")  # micropip appends "/<name>/" itself
    call = f"_install(REQS, index_urls=[{index_url!r}], **_kwargs)"
    body = f"REQS = {json.dumps(list(requirements))}\nIMPORTS = {json.dumps(list(imports))}\n"
    snippet = _PRELUDE + body + _timed(tool, call) + _EPILOGUE
    return _traced(snippet) if trace else snippet


def import_snippet(tool: str) -> str:
    """Time ``import tool`` until ``tool.install`` is there, and count the modules it pulled in.

    micropkg's top level is lazy: ``micropkg.install`` imports ``micropkg.api``; that counts.
    """
    return f"""
import json, sys, time
_n = len(sys.modules)
_t0 = time.perf_counter()
import {tool}
{tool}.install
_t1 = time.perf_counter()
json.dumps({{"import_ms": (_t1 - _t0) * 1000, "install_ms": 0.0, "total_ms": (_t1 - _t0) * 1000,
            "modules": len(sys.modules) - _n, "installed": [], "error": None}})
"""


def lock_snippet(lock_text: str, trace: bool = False) -> str:
    """Install from a lock made beforehand (micropkg only: micropip has no lock install)."""
    body = f"IMPORTS = []\nLOCK = {lock_text!r}\n"
    snippet = _PRELUDE + body + _timed("micropkg", "_install(lock=LOCK, **_kwargs)") + _EPILOGUE
    return _traced(snippet) if trace else snippet

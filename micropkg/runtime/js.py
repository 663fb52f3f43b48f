"""The JavaScript boundary: JavaScript's errors, events as plain objects, blocking waits.

``JsException`` is imported once, here, with a stand-in outside Pyodide that
nothing raises, so every ``except JsException`` in the adapter names what it
catches instead of catching everything.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

try:
    from pyodide.ffi import JsException
except ImportError:  # CPython, or a Pyodide without pyodide.ffi

    class JsException(Exception):  # type: ignore[no-redef]
        """Stand-in outside Pyodide: never raised."""


__all__ = ["JsException", "blocking_runner", "event_sender", "give_way", "js_function"]

# JavaScript helpers made once per runtime: run_js compiles its source each time.
_functions: dict[str, Any] = {}


def js_function(source: str) -> Any:
    """The JavaScript function ``source`` evaluates to, made on first use."""
    function = _functions.get(source)
    if function is None:
        from pyodide.code import run_js

        function = _functions[source] = run_js(source)
    return function


def event_sender(callback: Callable[[dict], object]) -> Callable[[dict], None]:
    """``callback`` as a function of an event dict; a JavaScript function gets a plain object.

    A JS callback handed a Python dict would receive a proxy that leaks unless
    destroyed; a converted object is the JS caller's to keep.
    """
    try:
        from pyodide.ffi import JsProxy, to_js
    except ImportError:  # CPython: a Python callable
        return callback  # type: ignore[return-value]
    if not isinstance(callback, JsProxy):
        return callback  # type: ignore[return-value]
    import js

    def send(event: dict) -> None:
        callback(to_js(event, dict_converter=js.Object.fromEntries))

    return send


def blocking_runner() -> Callable[[Awaitable[Any]], Any] | None:
    """Pyodide's ``run_sync`` where this call may block on a coroutine, else None.

    Blocking needs JavaScript Promise Integration (JSPI), which Chromium and
    Firefox have and WebKit (Safari) and Node 20 do not, and a call stack that
    entered Python through a promising call. Without it the magic says what to
    do instead.
    """
    try:
        from pyodide.ffi import can_run_sync, run_sync
    except ImportError:  # Pyodide < 0.27, or not Pyodide at all
        return None
    return run_sync if can_run_sync() else None


async def give_way() -> None:
    """Let what waits in the runtime's event loop (answers arriving) run before more Python work.

    ``asyncio.sleep(0)`` is a task of normal priority (Pyodide posts a message), and in
    Chromium the network's tasks wait behind a run of them: while the resolver imported,
    an answer's body was read 100-300 ms after it arrived (2026-12-04), and the chain's
    next request waited for that. A ``scheduler.postTask`` task of "background" priority
    runs once nothing else waits. Node polls for I/O between immediates, and an engine
    without ``scheduler`` has no such priority: there, sleep(0).
    """
    post = _background_task()
    if post is None:
        await asyncio.sleep(0)
    else:
        await post()


_BACKGROUND_TASK = "() => scheduler.postTask(() => {}, { priority: 'background' })"


def _background_task() -> Any:
    if sys.platform != "emscripten":
        return None
    import js

    if getattr(js, "process", None) is not None or getattr(js, "scheduler", None) is None:
        return None  # Node, or an engine without the Prioritized Task Scheduling API
    return js_function(_BACKGROUND_TASK)

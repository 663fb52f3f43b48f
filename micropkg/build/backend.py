"""PEP 517 hooks, called in this process, with the interpreter's state put back after.

Pyodide has no processes, so the backend runs where micropkg runs: imported
from the build environment, with its hooks called directly. What a build may
change of the interpreter is saved before and restored after (:func:`isolated`):
``sys.path`` (the environment and ``backend-path`` go first; the user's
site-packages are hidden, so only the declared build requirements count, as
with pip's build isolation), ``sys.modules`` (modules the environment provides
that were already imported -- ``packaging``, say -- are set aside, so the
backend gets its own versions; everything the build imported is forgotten),
``sys.meta_path`` (setuptools adds a finder for ``distutils``), ``sys.argv``,
the working directory and ``os.environ``.

A backend that tries to start a process -- a compiler, ``git`` -- is stopped:
:func:`no_processes` makes every way to spawn one raise, and remembers the
attempt, so a failing build says it needed a compiler rather than what the
failure looked like.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "SpawnAttempt", "captured", "isolated", "last_lines", "load_backend", "no_processes", "provided_modules",
]


class SpawnAttempt(OSError):
    """Raised inside a build that tries to start a process (an OSError, as a failed spawn is)."""


def provided_modules(environment: Path) -> set[str]:
    """The top-level module names the build environment directory provides."""
    names = set()
    for entry in environment.iterdir():
        stem = entry.name.split(".")[0]
        if entry.name.endswith((".dist-info", ".data")) or not stem.isidentifier():
            continue
        if entry.is_dir() or entry.suffix in (".py", ".so", ".pth"):
            names.add(stem)
    return names


@contextlib.contextmanager
def isolated(source: Path, paths: list[str], hidden_paths: set[str], environment: Path) -> Iterator[None]:
    """Run the block in ``source`` with ``paths`` first on sys.path and ``hidden_paths`` off it;
    everything the block changes of sys.path, sys.modules, sys.meta_path, sys.argv, the
    working directory and os.environ is put back afterwards."""
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    saved_meta_path = list(sys.meta_path)
    saved_hooks = list(sys.path_hooks)
    saved_argv = list(sys.argv)
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    provided = provided_modules(environment)
    for name in list(sys.modules):
        if name.split(".")[0] in provided:
            del sys.modules[name]  # set aside (saved_modules keeps it): the backend imports its own
    sys.path[:] = [*paths, *(p for p in saved_path if p not in hidden_paths and p not in paths)]
    importlib.invalidate_caches()
    try:
        os.chdir(source)
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.meta_path[:] = saved_meta_path
        sys.path_hooks[:] = saved_hooks
        sys.argv[:] = saved_argv
        os.environ.clear()
        os.environ.update(saved_environ)
        for name in list(sys.modules):
            if saved_modules.get(name) is not sys.modules[name]:
                del sys.modules[name]
        sys.modules.update(saved_modules)
        for path in paths:
            sys.path_importer_cache.pop(path, None)
        importlib.invalidate_caches()


def load_backend(spec: str) -> Any:
    """The backend object named by ``spec`` (``module:object.attr``), imported now (PEP 517)."""
    module_name, _, attributes = spec.partition(":")
    backend: Any = importlib.import_module(module_name)
    for attribute in attributes.split(".") if attributes else ():
        backend = getattr(backend, attribute)
    return backend


@contextlib.contextmanager
def no_processes(attempts: list[str]) -> Iterator[None]:
    """Within the block, starting a process raises :class:`SpawnAttempt`; each attempt's
    command line is appended to ``attempts``."""
    saved: list[tuple[Any, str, Any]] = []

    def refuse(what: str) -> Callable[..., Any]:
        def spawn(*args: Any, **kwargs: Any) -> Any:
            command = args[1] if what == "subprocess" and len(args) > 1 else (args[0] if args else "")
            text = " ".join(map(str, command)) if isinstance(command, (list, tuple)) else str(command)
            attempts.append(text)
            raise SpawnAttempt(f"micropkg does not start processes during a build in the browser: {text!r}")

        return spawn

    # Popen.__init__, not only _execute_child: on Emscripten, CPython's Popen refuses in
    # __init__ already ("emscripten does not support processes"), which says nothing of why.
    targets: list[tuple[Any, str, str]] = [(subprocess.Popen, "__init__", "subprocess")]
    targets += [(os, name, "os") for name in ("system", "posix_spawn", "posix_spawnp", "fork", "execv", "execve")]
    for owner, name, kind in targets:
        if hasattr(owner, name):
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, refuse(kind))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


@contextlib.contextmanager
def captured(output: io.StringIO) -> Iterator[None]:
    """The backend's prints and warnings go to ``output`` (the last lines explain a failure)."""
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        yield


def last_lines(text: str, count: int = 12) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(f"    {line}" for line in lines[-count:])

"""``[tool.micropkg]`` of a ``pylock.toml``: the runtime a lock was made for.

PEP 751 keeps tool data informational: micropkg installs by ``environments``
and the wheel tags, and uses this table only to write a ``pyodide-lock.json``
from a pylock. Split from :mod:`.pylock` to keep that module within its size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import LockError
from ..model.lock import Lock
from ..model.tags import PlatformInfo, emscripten_platforms
from ..model.target import Target

__all__ = ["runtime_target", "tool_table"]


def tool_table(lock: Lock) -> dict:
    """The ``[tool.micropkg]`` entries for ``lock`` (its runtime, then its other tool data)."""
    table: dict = {}
    if lock.target is not None:
        info = lock.target.info
        table["python"] = lock.target.python_full_version
        if info.abi_version:
            table["abi"] = info.abi_version
        if info.emscripten_version:
            table["emscripten"] = ".".join(map(str, info.emscripten_version))
        table["platform"] = emscripten_platforms(info)[0]
    for key, value in lock.tool.items():
        table.setdefault(key, value)
    return table


def runtime_target(tool: Mapping, fail: Callable[[str, str], LockError]) -> Target | None:
    """The runtime ``[tool.micropkg]`` names, if it names one."""
    python, abi = tool.get("python"), tool.get("abi")
    if not isinstance(python, str) or not isinstance(abi, str):
        return None
    try:
        major, minor = (int(part) for part in python.split(".")[:2])
        emscripten = tool.get("emscripten")
        em = tuple(int(p) for p in emscripten.split(".")) if isinstance(emscripten, str) else None
    except ValueError as exc:
        raise fail("[tool.micropkg]", f"cannot read the runtime it names: {exc}") from exc
    info = PlatformInfo(python_version=(major, minor), abi_version=abi, emscripten_version=em)  # type: ignore[arg-type]
    return Target.for_platform(info, python)

"""Python source run inside a Pyodide under Node, for Pyodides pytest-pyodide cannot drive.

``run_python(dist_dir, code, args)`` boots the Pyodide folder ``dist_dir`` (as
:mod:`tests.harness.pyodide_dist` prepares it) with ``node_runner.mjs``,
loads micropkg, runs ``code`` -- which defines ``async def main(args)`` -- and
returns what ``main`` returned (JSON values). A Python exception inside
Pyodide becomes :class:`PyodideError` carrying Pyodide's traceback text.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

__all__ = ["PyodideError", "RUNNER", "run_python"]

RUNNER = Path(__file__).with_name("node_runner.mjs")
_MARKER = "@@RESULT@@"


class PyodideError(Exception):
    """The Python code raised inside Pyodide (or Pyodide did not boot)."""


def run_python(dist_dir: Path, code: str, args: dict | None = None, *, timeout: float = 180) -> object:
    job = {"indexURL": str(dist_dir), "packages": ["micropkg"], "code": code, "args": args or {}}
    completed = subprocess.run(
        ["node", str(RUNNER)], input=json.dumps(job), capture_output=True, text=True,
        timeout=timeout, env=os.environ.copy(),
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARKER)]
    if not lines:
        raise PyodideError(
            f"node {RUNNER.name} exited {completed.returncode} without a result;"
            f" stderr: {completed.stderr[-2000:]}"
        )
    outcome = json.loads(lines[-1][len(_MARKER):])
    if not outcome["ok"]:
        raise PyodideError(outcome["error"])
    return outcome["result"]

"""head_start.defer_unused_modules: platform and sysconfig, imported but not run until used.

Run in a fresh interpreter each: the modules must not be imported yet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHECK = """
import sys, types
from micropkg.index.head_start import _Deferred, defer_unused_modules
for name in ("platform", "sysconfig"):
    sys.modules.pop(name, None)
defer_unused_modules()
import platform, sysconfig
from platform import python_implementation  # an attribute read: it runs now
assert type(sysconfig) is _Deferred, type(sysconfig)
assert type(platform) is types.ModuleType and platform.__file__.endswith("platform.py"), platform.__file__
assert sys.modules["platform"] is platform
print(python_implementation(), platform.machine(), sysconfig.get_config_var("EXT_SUFFIX"), type(sysconfig).__name__)
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_deferred_module_runs_on_its_first_use_and_is_then_the_module_itself() -> None:
    out = _run(_CHECK)
    expected = _run(
        "import platform, sysconfig; print(platform.python_implementation(), platform.machine(),"
        " sysconfig.get_config_var('EXT_SUFFIX'), 'module')"
    )
    assert out == expected


def test_a_deferred_module_that_fails_to_run_is_not_left_half_made() -> None:
    code = """
import sys
from micropkg.index.head_start import _Deferred, defer_unused_modules
sys.modules.pop("platform", None)
defer_unused_modules()
import platform
sys.path[:] = []  # nowhere to find its code
try:
    platform.machine
except AttributeError as exc:
    print("refused:", exc)
"""
    assert "refused: module 'platform' has no attribute 'machine'" in _run(code)

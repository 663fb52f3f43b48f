"""A fresh Pyodide 314 imports micropkg from the wheel's bytecode, compiling none of it,
and installs without compiling sysconfig's data module.

Pyodide 314 ships no ``.pyc``: whatever has no bytecode is compiled on first
import (about 165 ms for micropkg). micropkg's wheel carries CPython 3.14
pycs (see tests/harness/bytecode.py); this test counts the compiles.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@pytest.mark.pyodide_abi("2026_0")  # the pycs are CPython 3.14's; other Pythons use the sources
def test_a_fresh_runtime_compiles_no_micropkg_module(selenium_standalone):
    @run_in_pyodide(packages=["micropkg"])
    def run(selenium):
        import builtins
        import os
        import sys
        import tempfile

        imported_before = sorted(name for name in sys.modules if name.partition(".")[0] == "micropkg")
        compiled = []
        original = builtins.compile

        # SourceFileLoader compiles through builtins.compile, so this sees every source compile.
        def recording(source, filename, *args, **kwargs):
            compiled.append(os.fspath(filename))
            return original(source, filename, *args, **kwargs)

        probe_dir = tempfile.mkdtemp()
        with open(os.path.join(probe_dir, "bytecode_probe.py"), "w") as stream:
            stream.write("VALUE = 1\n")
        sys.path.insert(0, probe_dir)
        builtins.compile = recording
        try:
            import bytecode_probe  # noqa: F401  (a module with no pyc: proves the recorder records)

            import micropkg.api
        finally:
            builtins.compile = original
            sys.path.remove(probe_dir)

        cached = micropkg.api.__spec__.cached
        return imported_before, compiled, cached, os.path.isfile(cached)

    imported_before, compiled, cached, exists = run(selenium_standalone)
    assert imported_before == []  # a fresh runtime: nothing of micropkg imported yet
    assert any(path.endswith("/bytecode_probe.py") for path in compiled), compiled
    assert [path for path in compiled if "/micropkg/" in path] == []
    assert cached.endswith("/micropkg/__pycache__/api.cpython-314.pyc") and exists, cached


@pytest.mark.pyodide_abi("2026_0")
def test_an_install_does_not_load_sysconfigs_data_module(selenium_standalone, index_server, make_wheel):
    # sysconfig's variables live in a generated module that a fresh runtime
    # compiles on first use (~18 ms in Pyodide 314 under Node): an install needs none of them.
    index_server.add(make_wheel("rt-nosysconfig", "1.0", files={"rt_nosysconfig/__init__.py": "VALUE = 3\n"}))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import sys

        import micropkg
        from micropkg.runtime.native import dynlibs_to_load

        before = sorted(name for name in sys.modules if name.startswith("_sysconfigdata"))
        await micropkg.install("rt-nosysconfig", index_urls=[index_url], pyodide_packages=False)
        import rt_nosysconfig

        kept = dynlibs_to_load(["a/_x.cpython-314-wasm32-emscripten.so", "a/_y.cpython-313-wasm32-emscripten.so"])
        after = sorted(name for name in sys.modules if name.startswith("_sysconfigdata"))
        import sysconfig

        sysconfig.get_config_vars()  # proves the check sees the module when it does load
        loaded = sorted(name for name in sys.modules if name.startswith("_sysconfigdata"))
        return before, after, loaded, rt_nosysconfig.VALUE, kept

    before, after, loaded, value, kept = run(selenium_standalone, index_server.simple_url)
    assert value == 3 and kept == ["a/_x.cpython-314-wasm32-emscripten.so"]
    assert before == [] and after == [], after
    assert len(loaded) == 1, loaded

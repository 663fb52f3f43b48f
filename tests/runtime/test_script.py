"""PEP 723 scripts inside Pyodide: ``install(script=...)`` and ``%micropkg install --script``.

The loopback index serves wheels built here; each install happens in the real
runtime, and what the script declares is then imported.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

SCRIPT = """\
#!/usr/bin/env python3
# /// script
# requires-python = ">=3.12"
# dependencies = [
#   "rt-script-app>=1",
# ]
# ///
import rt_script_app
print(rt_script_app.GREETING)
"""


@pytest.fixture
def script_index(index_server, make_wheel):
    index_server.add(make_wheel(
        "rt-script-app", "1.0", requires_dist=["rt-script-dep"],
        files={"rt_script_app/__init__.py": "from rt_script_dep import NAME\nGREETING = 'hello ' + NAME\n"},
    ))
    index_server.add(make_wheel("rt-script-dep", "2.0", files={"rt_script_dep/__init__.py": "NAME = 'script'\n"}))
    return index_server


def test_install_what_a_script_declares(selenium, script_index):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, script):
        import contextlib
        import io
        from pathlib import Path

        import micropkg

        from_text = await micropkg.install(script=script, index_urls=[index_url])
        await micropkg.uninstall(["rt-script-app", "rt-script-dep"])
        Path("/tmp/app.py").write_text(script)
        from_path = await micropkg.install(script="/tmp/app.py", index_urls=[index_url])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(Path("/tmp/app.py").read_text(), "/tmp/app.py", "exec"), {"__name__": "__main__"})
        await micropkg.uninstall(["rt-script-app", "rt-script-dep"])  # the runtime is shared by the module's tests
        return sorted(i.name for i in from_text), sorted(i.name for i in from_path), out.getvalue()

    from_text, from_path, output = run(selenium, script_index.simple_url, SCRIPT)
    assert from_text == from_path == ["rt-script-app", "rt-script-dep"]
    assert output == "hello script\n"


def test_a_script_this_runtime_cannot_run_installs_nothing(selenium, script_index):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, script):
        import micropkg

        errors = []
        for text in (script.replace(">=3.12", ">=4"), script.replace('"rt-script-app>=1",', '"rt-script-app>=1"')
                     .replace("# ///\nimport", "import")):
            try:
                await micropkg.install(script=text, index_urls=[index_url])
            except micropkg.ScriptError as error:
                errors.append(str(error))
        return errors, sorted(p for p in micropkg.list() if p.startswith("rt-script"))

    errors, installed = run(selenium, script_index.simple_url, SCRIPT)
    assert len(errors) == 2 and installed == []
    assert "<script> requires Python >=4 (requires-python, line 3), but this runtime is" in errors[0]
    assert "line 7: the '# /// script' block opened on line 2 ends here without its closing '# ///' line: " \
           "'import rt_script_app'" in errors[1], errors[1]
    # Refused before the first request: the index never heard of it.
    assert not script_index.log.counts(), script_index.log.counts()


def test_the_magic_installs_a_script(selenium, script_index):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, script):
        import contextlib
        import io
        from pathlib import Path

        from micropkg.commands.magic import run as magic

        Path("/tmp/magic_app.py").write_text(script)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            await magic(f"install --script /tmp/magic_app.py -i {index_url}")
        import rt_script_app

        return rt_script_app.GREETING, out.getvalue()

    greeting, output = run(selenium, script_index.simple_url, SCRIPT)
    assert greeting == "hello script"
    assert "rt-script-app" in output, output

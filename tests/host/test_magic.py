"""The ``%micropkg`` magic's pure parts on the host: parsing a line, rewriting a
cell, registering with a real IPython shell, and the notebook reporter's output.

What the magic does inside a notebook (the install itself) is tested in
JupyterLite: tests/runtime/test_jupyterlite.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from micropkg.commands import magic as _magic
from micropkg.commands.magic import Command, MagicUsageError, parse, rewrite_lines
from micropkg.ui.notebook import NotebookReporter, in_notebook

IPython = pytest.importorskip("IPython")
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

# -- parsing a line ------------------------------------------------------------------


def test_install_takes_requirements_and_pip_options():
    command = parse(' install msgpack "pydantic>=2,<3" -i https://a.example/simple --pre --no-deps --reinstall')
    assert command == Command(
        "install",
        requirements=("msgpack", "pydantic>=2,<3"),
        index_urls=("https://a.example/simple",),
        pre=True,
        deps=False,
        reinstall=True,
    )
    assert command.install_arguments() == {
        "requirements": ["msgpack", "pydantic>=2,<3"],
        "index_urls": ["https://a.example/simple"],
        "deps": False,
        "pre": True,
        "reinstall": True,
    }


def test_install_defaults_leave_micropkgs_defaults_alone():
    command = parse("install luau-wasm")
    assert command.install_arguments() == {"requirements": ["luau-wasm"], "deps": True, "pre": False, "reinstall": False}


def test_index_urls_repeat_and_extra_indexes_come_after_pypi():
    assert parse("install a --index-url https://one/ -i https://two/").index_urls == ("https://one/", "https://two/")
    assert parse("install a --extra-index-url https://extra/").index_urls == ("https://pypi.org/simple", "https://extra/")
    assert parse("install a -i https://one/ --extra-index-url https://extra/").index_urls == ("https://one/", "https://extra/")


def test_comments_start_a_word_and_url_fragments_stay():
    url = "pkg @ https://x.example/pkg-1.0-py3-none-any.whl#sha256=abc"
    assert parse(f"install '{url}' other  # why: the demo needs it").requirements == (url, "other")
    assert parse("install a#b").requirements == ("a#b",)


def test_requirement_files_and_locks():
    command = parse("install -r requirements.txt -r https://x.example/more.txt")
    assert command.install_arguments()["requirements_file"] == ["requirements.txt", "https://x.example/more.txt"]
    assert command.install_arguments()["requirements"] == []
    assert parse("install --lock pylock.toml").install_arguments() == {"lock": "pylock.toml"}


def test_a_scripts_inline_metadata():
    arguments = parse("install --script app.py").install_arguments()
    assert arguments["script"] == "app.py" and arguments["requirements"] == []
    assert parse("install --script app.py extra-one").install_arguments()["requirements"] == ["extra-one"]
    with pytest.raises(MagicUsageError, match="installs exactly what the lock lists"):
        parse("install --lock pylock.toml --script app.py")


def test_other_commands():
    assert parse("uninstall harness-demo harness-dep -y") == Command("uninstall", requirements=("harness-demo", "harness-dep"))
    assert parse("list") == Command("list")
    assert parse("freeze") == Command("freeze", format="pyodide-lock")
    assert parse("freeze --format pylock") == Command("freeze", format="pylock")
    assert parse("explain 'msgpack>=1' --pre -i https://i/") == Command(
        "explain", requirements=("msgpack>=1",), index_urls=("https://i/",), pre=True
    )
    assert parse("explain msgpack").index_urls is None


@pytest.mark.parametrize("line", ["", "   ", "help", "-h", "--help", "install --help", "# just a comment"])
def test_help(line):
    assert parse(line) == Command("help")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("instal numpy", "unknown command 'instal'; use install, uninstall, list, freeze or explain"),
        ("install", "%micropkg install: name at least one requirement (or -r FILE, or --script FILE)"),
        ("install a --frobnicate", "%micropkg install: unrecognized arguments: --frobnicate"),
        ("install a --index-url", "%micropkg install: argument -i/--index-url: expected one argument"),
        ("uninstall", "%micropkg uninstall: the following arguments are required: NAME"),
        ("freeze --format wheel", "%micropkg freeze: argument --format: invalid choice: 'wheel'"),
        ("install 'unclosed", "%micropkg: cannot split \"install 'unclosed\": No closing quotation"),
        ("install a --lock pylock.toml", "%micropkg install --lock installs exactly what the lock lists"),
    ],
)
def test_usage_errors_say_what_is_wrong(line, message):
    with pytest.raises(MagicUsageError) as caught:
        parse(line)
    assert message in str(caught.value)


# -- rewriting a cell ----------------------------------------------------------------------


def _rewrite(cell: str) -> str:
    return "".join(rewrite_lines(cell.splitlines(keepends=True)))


def _call(argument: str) -> str:
    return f"await __import__('micropkg.commands.magic', fromlist=['run']).run(get_ipython().var_expand({argument!r}))"


def test_magic_lines_become_awaited_calls():
    cell = "x = 1\n%micropkg install --index-url {INDEX} harness-demo\nimport harness_demo\n"
    assert _rewrite(cell) == f"x = 1\n{_call('install --index-url {INDEX} harness-demo')}\nimport harness_demo\n"


def test_the_rewritten_cell_is_python_with_top_level_await():
    cell = "if True:\n    %micropkg install a  b\n%micropkg list"
    rewritten = _rewrite(cell)
    assert rewritten == f"if True:\n    {_call('install a  b')}\n{_call('list')}"
    compile(rewritten, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_continuation_lines_join_and_keep_line_numbers():
    cell = "%micropkg install a \\\n    b \\\n    c\nprint(1)\n"
    assert _rewrite(cell) == f"{_call('install a      b      c')}\n\n\nprint(1)\n"


@pytest.mark.parametrize(
    "cell",
    [
        "%micropkgs install a\n",  # another magic's name
        "%pip install micropkg\n",
        "print('%micropkg install a')\n",
        "%%time\n%micropkg install a\n",  # a cell magic's body is not Python
        "x = 1  # %micropkg install a\n",
    ],
)
def test_other_lines_are_left_alone(cell):
    assert _rewrite(cell) == cell


# -- a real IPython shell ------------------------------------------------------------------


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    cleanup = list(shell.input_transformers_cleanup)
    yield shell
    shell.input_transformers_cleanup[:] = cleanup
    shell.magics_manager.magics["line"].pop("micropkg", None)
    InteractiveShell.clear_instance()


def test_load_ext_registers_the_magic_and_the_transformer_once(shell):
    shell.run_line_magic("load_ext", "micropkg")
    _magic.load_ipython_extension(shell)  # import micropkg in a later cell: no second transformer
    assert shell.find_line_magic("micropkg") is not None
    assert shell.input_transformers_cleanup.count(rewrite_lines) == 1
    transformed = shell.transform_cell("%micropkg install harness-demo\n")
    assert transformed == _call("install harness-demo") + "\n"
    # IPython runs such a cell as a coroutine: it finishes before the next cell.
    assert shell.should_run_async("%micropkg install harness-demo\n", transformed_cell=transformed)


def test_a_cell_runs_the_magic_with_variables_expanded(shell, capsys):
    _magic.load_ipython_extension(shell)
    shell.user_ns["WHAT"] = "help"
    result = shell.run_cell("%micropkg {WHAT}")
    assert result.success, result
    assert capsys.readouterr().out == _magic.USAGE + "\n"


def test_usage_errors_show_as_one_line(shell, capsys):
    _magic.load_ipython_extension(shell)
    result = shell.run_cell("%micropkg install a --frobnicate")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    assert "UsageError: %micropkg install: unrecognized arguments: --frobnicate" in captured.err
    assert "Traceback" not in captured.out + captured.err
    with pytest.raises(UsageError, match="unknown command 'lst'"):
        shell.run_line_magic("micropkg", "lst")


def test_the_line_magic_outside_pyodide_says_what_to_do(shell):
    _magic.load_ipython_extension(shell)
    with pytest.raises(UsageError, match=r"Run the line again in a cell of its own .* `await micropkg.install\(...\)`"):
        shell.run_line_magic("micropkg", "install harness-demo")


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_import_micropkg_registers_in_a_running_shell():
    assert _python("""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        import micropkg
        print(shell.find_line_magic("micropkg") is not None)
    """) == "True"


def test_import_micropkg_never_imports_ipython():
    assert _python("""
        import sys
        import micropkg
        print(sorted(m for m in ("IPython", "micropkg.commands.magic", "micropkg.api") if m in sys.modules))
    """) == "[]"


# -- knowing a notebook; showing progress ------------------------------------------------


def test_in_notebook_needs_a_kernel_shell(shell):
    assert not in_notebook()  # a shell without a kernel: terminal IPython
    shell.kernel = object()  # what ipykernel's and pyodide_kernel's shells carry
    try:
        assert in_notebook()
    finally:
        del shell.kernel


def test_in_notebook_is_false_in_plain_python():
    assert _python("from micropkg.ui.notebook import in_notebook; print(in_notebook())") == "False"


class _Handle:
    def __init__(self, shown: list) -> None:
        self.shown = shown

    def update(self, bundle, raw=False):
        assert raw
        self.shown.append(("update", bundle))


def _recording_reporter():
    shown: list = []

    def display(bundle, raw=False, display_id=False):
        assert raw and display_id is True
        shown.append(("display", bundle))
        return _Handle(shown)

    return NotebookReporter(display), shown


def test_reporter_updates_one_output_and_collapses_to_a_summary():
    reporter, shown = _recording_reporter()
    reporter.resolving(["harness-demo"])
    reporter.resolved([("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")], 0.31)
    reporter.downloading(1000, 3000, 1, 2)
    reporter.downloading(3000, 3000, 2, 2)
    reporter.downloaded(2, 3000, 0.2)
    reporter.installing([("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")])
    reporter.installed([("harness-demo", "2.0.0"), ("harness-dep", "1.0.0")], 1.25)

    assert [kind for kind, _ in shown][:2] == ["display", "update"]
    assert all(kind == "update" for kind, _ in shown[1:])
    first, last = shown[0][1], shown[-1][1]
    assert first["text/plain"].endswith("Resolving harness-demo...")
    assert "<progress " in first["text/html"] and 'data-state="running"' in first["text/html"]
    assert last["text/plain"] == "Installed 2 packages in 1.2 s: harness-demo 2.0.0, harness-dep 1.0.0"
    assert "<progress" not in last["text/html"] and 'data-state="done"' in last["text/html"]
    plain = [bundle["text/plain"] for _, bundle in shown]
    assert "[" + "#" * 30 + "] Downloading 2 of 2 files: 3 kB of 3 kB" in plain
    assert "Resolved 2 packages in 0.3 s" in " ".join(plain)


def test_reporter_shows_the_error_escaped():
    reporter, shown = _recording_reporter()
    reporter.resolving(["<nope>"])
    reporter.failed(ValueError("Project '<nope>' was not found"))
    bundle = shown[-1][1]
    assert bundle["text/plain"] == "ValueError: Project '<nope>' was not found"
    assert "Project &#x27;&lt;nope&gt;&#x27; was not found" in bundle["text/html"]
    assert 'data-state="failed"' in bundle["text/html"]


def test_reporter_drops_rapid_updates_but_never_a_phases_last():
    reporter, shown = _recording_reporter()
    reporter.resolving(["a"])
    for done in range(1, 100):
        reporter.downloading(done, 100, 0, 1)
    reporter.downloading(100, 100, 1, 1)
    assert len(shown) < 10
    assert shown[-1][1]["text/plain"].endswith("Downloading 1 of 1 file: 100 B of 100 B")


def test_reporter_with_nothing_to_install():
    reporter, shown = _recording_reporter()
    reporter.resolving(["a"])
    reporter.resolved([], 0.0)
    reporter.installed([], 0.1)
    assert shown[-1][1]["text/plain"] == "Nothing to install: every requirement is already satisfied"


def test_reporter_displays_through_ipython(shell, capsys):
    # A shell without a frontend prints the text/plain fallback of each display and update.
    reporter = NotebookReporter()
    reporter.resolving(["harness-demo"])
    reporter.installed([("harness-demo", "2.0.0")], 0.5)
    assert capsys.readouterr().out.splitlines()[-1] == "Installed 1 package in 0.5 s: harness-demo 2.0.0"

"""The ``%micropkg`` IPython magic: install and inspect packages from a notebook cell.

::

    %load_ext micropkg            # or: import micropkg
    %micropkg install msgpack "pydantic>=2" --index-url https://example.org/simple
    %micropkg list

IPython line magics are synchronous, but installing awaits the network, and
in a browser nothing can block until it answers. So, like the JupyterLite
kernel's own ``%pip``, the magic works mainly by rewriting: an input
transformer (run before IPython's own) turns each ``%micropkg ...`` line of a
cell into ``await <this module>.run(...)``. A cell with a top-level
``await`` runs as a coroutine in the kernel, so the install has finished --
its progress and summary shown in the cell -- before the next line and the
next cell run. IPython's usual ``{expression}`` and ``$name`` expansion
applies to the line.

The registered line magic is the fallback for lines the transformer did not
see (``%micropkg`` in the cell that loads the extension, or
``get_ipython().run_line_magic(...)``): it blocks through Pyodide's
``run_sync`` where the runtime supports it (JSPI) and otherwise says what to
do instead.

A failing install shows micropkg's one-line error in the cell (through the
reporter) and does not raise: like ``%pip``, the cell finishes. Wrong usage
raises IPython's ``UsageError``, which IPython shows as one line.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass

from ..runtime.js import blocking_runner

__all__ = ["Command", "MagicUsageError", "USAGE", "blocking_runner", "load_ipython_extension", "parse", "rewrite_lines", "run"]

NAME = "micropkg"

USAGE = """\
Usage:
  %micropkg install REQ... [-r FILE]... [-i URL]... [--extra-index-url URL]... [--pre] [--no-deps] [--reinstall]
                    [--only-binary[=:all:]]
  %micropkg install --lock FILE_OR_URL
  %micropkg install --script FILE_OR_URL [REQ...]   (what its PEP 723 '# /// script' block declares)
  %micropkg uninstall NAME...
  %micropkg list
  %micropkg freeze [--format pyodide-lock|pylock]
  %micropkg explain REQ [-i URL]... [--pre]
  %micropkg help

-i/--index-url replaces PyPI (repeatable); --extra-index-url adds an index after it.
--only-binary: never build an sdist (pip's --only-binary :all:); by default a release
without a usable wheel is built from its pure-Python sdist.
{name} and $name in the line are replaced by Python values, as in any IPython magic."""


class MagicUsageError(Exception):
    """A ``%micropkg`` line that cannot be understood; the message says why."""


@dataclass(frozen=True)
class Command:
    """One parsed ``%micropkg`` line."""

    action: str  # install, uninstall, list, freeze, explain, help
    requirements: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    index_urls: tuple[str, ...] | None = None  # None: micropkg's default (PyPI)
    pre: bool = False
    deps: bool = True
    reinstall: bool = False
    only_binary: bool = False
    lock: str | None = None
    format: str = "pyodide-lock"
    script: str | None = None

    def install_arguments(self) -> dict:
        """Keyword arguments for :func:`micropkg.install`."""
        if self.lock is not None:
            return {"lock": self.lock}
        arguments: dict = {"deps": self.deps, "pre": self.pre, "reinstall": self.reinstall}
        if self.only_binary:
            arguments["only_binary"] = True
        arguments["requirements"] = list(self.requirements)
        if self.index_urls is not None:
            arguments["index_urls"] = list(self.index_urls)
        if self.requirement_files:
            arguments["requirements_file"] = list(self.requirement_files)
        if self.script is not None:
            arguments["script"] = self.script
        return arguments


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting the kernel."""

    def error(self, message: str):
        raise MagicUsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        raise MagicUsageError(message or USAGE)


def _parser() -> _Parser:
    parser = _Parser(prog="%micropkg", add_help=False)
    commands = parser.add_subparsers(dest="action", parser_class=_Parser)

    install = commands.add_parser("install", add_help=False)
    install.add_argument("requirements", nargs="*")
    install.add_argument("-r", "--requirement", dest="requirement_files", action="append", default=[], metavar="FILE")
    _index_options(install)
    install.add_argument("--extra-index-url", dest="extra_index_urls", action="append", default=[], metavar="URL")
    install.add_argument("--no-deps", dest="deps", action="store_false")
    install.add_argument("--reinstall", "--force-reinstall", dest="reinstall", action="store_true")
    install.add_argument("--lock", metavar="FILE_OR_URL")
    install.add_argument("--script", metavar="FILE_OR_URL")
    install.add_argument("--only-binary", dest="only_binary", nargs="?", const=":all:", metavar=":all:")

    uninstall = commands.add_parser("uninstall", add_help=False)
    uninstall.add_argument("names", nargs="+", metavar="NAME")
    uninstall.add_argument("-y", "--yes", action="store_true")  # pip habit; nothing asks here

    commands.add_parser("list", add_help=False)

    freeze = commands.add_parser("freeze", add_help=False)
    freeze.add_argument("--format", choices=("pyodide-lock", "pylock"), default="pyodide-lock")

    explain = commands.add_parser("explain", add_help=False)
    explain.add_argument("requirement")
    _index_options(explain)

    commands.add_parser("help", add_help=False)
    return parser


def _index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--index-url", dest="index_urls", action="append", metavar="URL")
    parser.add_argument("--pre", action="store_true")


def parse(line: str) -> Command:
    """The :class:`Command` a ``%micropkg`` line (without ``%micropkg``) asks for."""
    try:
        words = shlex.split(line)
    except ValueError as error:  # an unclosed quote
        raise MagicUsageError(f"%micropkg: cannot split {line.strip()!r}: {error}") from None
    # A comment starts a word, as in a shell; a ``#`` inside one (a wheel URL's
    # ``#sha256=`` fragment) is kept, which shlex's comment mode would cut.
    words = next((words[:i] for i, word in enumerate(words) if word.startswith("#")), words)
    if not words or words[0] in ("help", "-h", "--help") or "-h" in words or "--help" in words:
        return Command("help")
    if words[0] not in ("install", "uninstall", "list", "freeze", "explain"):
        raise MagicUsageError(
            f"%micropkg: unknown command {words[0]!r}; use install, uninstall, list, freeze or explain"
        )
    # Unknown options are reported by the top-level parser: name the command instead.
    args, unknown = _parser().parse_known_args(words)
    if unknown:
        raise MagicUsageError(f"%micropkg {words[0]}: unrecognized arguments: {' '.join(unknown)}")
    action = args.action
    if action == "install":
        index_urls = args.index_urls
        if args.extra_index_urls:
            from ..index.entries import DEFAULT_INDEX_URLS

            index_urls = [*(index_urls or DEFAULT_INDEX_URLS), *args.extra_index_urls]
        if args.lock is not None:
            if args.requirements or args.requirement_files or args.script:
                raise MagicUsageError("%micropkg install --lock installs exactly what the lock lists: give no requirements with it")
            return Command("install", lock=args.lock)
        if args.only_binary not in (None, ":all:"):
            raise MagicUsageError(
                f"%micropkg install: --only-binary takes only :all: (no sdist is built), not {args.only_binary!r}"
            )
        if not args.requirements and not args.requirement_files and args.script is None:
            raise MagicUsageError("%micropkg install: name at least one requirement (or -r FILE, or --script FILE)")
        return Command(
            "install",
            requirements=tuple(args.requirements),
            requirement_files=tuple(args.requirement_files),
            index_urls=tuple(index_urls) if index_urls is not None else None,
            pre=args.pre,
            deps=args.deps,
            reinstall=args.reinstall,
            script=args.script,
            only_binary=args.only_binary is not None,
        )
    if action == "uninstall":
        return Command("uninstall", requirements=tuple(args.names))
    if action == "freeze":
        return Command("freeze", format=args.format)
    if action == "explain":
        return Command(
            "explain",
            requirements=(args.requirement,),
            index_urls=tuple(args.index_urls) if args.index_urls else None,
            pre=args.pre,
        )
    return Command(action)


# -- rewriting cells ------------------------------------------------------------------

_MAGIC_LINE = re.compile(r"^([ \t]*)%" + NAME + r"(?=[ \t\r\n]|$)(.*?)(\r?\n)?$", re.DOTALL)


def rewrite_lines(lines: list[str]) -> list[str]:
    """IPython input transformer: ``%micropkg ...`` lines become awaited calls of :func:`run`.

    One output line per input line (a ``\\``-continued magic keeps its
    continuation lines as blank ones), so tracebacks keep their line numbers.
    A cell magic's body (``%%time`` ...) is left alone: it is not Python code.
    """
    if lines and lines[0].lstrip().startswith("%%"):
        return lines
    result: list[str] = []
    position = 0
    while position < len(lines):
        match = _MAGIC_LINE.match(lines[position])
        position += 1
        if match is None:
            result.append(lines[position - 1])
            continue
        indent, rest, newline = match.groups()
        blanks = 0
        while rest.endswith("\\") and position < len(lines):
            following = lines[position]
            rest = rest[:-1] + " " + following.rstrip("\r\n")
            newline = following[len(following.rstrip("\r\n")):]
            position += 1
            blanks += 1
        call = f"await __import__({__name__!r}, fromlist=['run']).run(get_ipython().var_expand({rest.strip()!r}))"
        result.append(f"{indent}{call}{newline or ''}")
        result.extend("\n" for _ in range(blanks))
    return result


rewrite_lines.micropkg_transformer = True  # type: ignore[attr-defined]  # found again on a second load


# -- running a line --------------------------------------------------------------------


async def run(line: str) -> None:
    """Carry out one ``%micropkg`` line (already variable-expanded); what rewritten cells await."""
    command = _parse_for_ipython(line)
    if command.action in ("install", "uninstall", "explain"):
        await _run_async(command)
    else:
        _run_sync_command(command)


def _parse_for_ipython(line: str) -> Command:
    try:
        return parse(line)
    except MagicUsageError as error:
        from IPython.core.error import UsageError

        raise UsageError(f"{error}\n{USAGE}" if "unknown command" in str(error) else str(error)) from None


def _run_sync_command(command: Command) -> None:
    import micropkg

    from ..errors import MicropkgError

    try:
        if command.action == "list":
            print(micropkg.list())
        elif command.action == "freeze":
            print(micropkg.freeze(format=command.format))
        else:
            print(USAGE)
    except MicropkgError as error:
        _print_error(error)


async def _run_async(command: Command) -> None:
    import micropkg

    from ..errors import MicropkgError
    from ..ui.default import default_reporter

    try:
        if command.action == "install":
            # Always something to see: the live bar in a notebook, lines elsewhere.
            # Either reporter shows a failure itself (its ``failed`` hook).
            try:
                await micropkg.install(**command.install_arguments(), reporter=default_reporter(True))
            except MicropkgError:
                pass
        elif command.action == "uninstall":
            removed = await micropkg.uninstall(list(command.requirements))
            print(f"Uninstalled {', '.join(removed)}")
        elif command.action == "explain":
            index_urls = list(command.index_urls) if command.index_urls is not None else None
            explanation = await micropkg.explain(command.requirements[0], index_urls=index_urls, pre=command.pre)
            print(explanation)
    except MicropkgError as error:
        _print_error(error)


def _print_error(error: BaseException) -> None:
    # One readable line, no traceback: the message names the thing and what to do.
    print(f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)


def _line_magic(line: str) -> None:
    """%micropkg (see ``%micropkg help``). Lines IPython ran without the rewrite land here."""
    command = _parse_for_ipython(line)
    if command.action not in ("install", "uninstall", "explain"):
        _run_sync_command(command)
        return
    from IPython.core.error import UsageError

    run_sync = blocking_runner()
    if run_sync is None:
        raise UsageError(
            f"%micropkg {command.action} must wait for the network, and this runtime cannot block on it here. "
            "Run the line again in a cell of its own (the extension is loaded now, so the cell will await it), "
            f"or write `await micropkg.{command.action}(...)`."
        )
    run_sync(_run_async(command))


def load_ipython_extension(shell) -> None:
    """Register ``%micropkg`` and its input transformer with ``shell``; loading twice is harmless."""
    shell.register_magic_function(_line_magic, magic_kind="line", magic_name=NAME)
    transformers = shell.input_transformers_cleanup
    # Another copy of this module (reloaded) registered one already: replace it.
    transformers[:] = [t for t in transformers if not getattr(t, "micropkg_transformer", False)]
    transformers.append(rewrite_lines)


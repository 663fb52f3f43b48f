"""PEP 723 inline script metadata: what a single-file script declares it needs.

::

    # /// script
    # requires-python = ">=3.12"
    # dependencies = ["rich", "httpx>=0.27"]
    # ///

:func:`read_script` finds the ``script`` block the way the specification's
reference regular expression does (a block ends at the last ``# ///`` of its
run of comment lines), takes the ``# `` off each line and reads the rest as
TOML. Where the specification lets a tool ignore a problem, a script handed
to an installer is a request, so micropkg refuses instead of installing less
than the author wrote, as uv does:

- an opening ``# /// script`` line with no closing ``# ///`` (the spec's
  "unclosed block", to be ignored when merely scanning files) is an error
  quoting the first line that broke the block;
- two ``script`` blocks are an error (the spec's MUST);
- TOML that does not parse, ``dependencies`` that is not a list of PEP 508
  strings, ``requires-python`` that is not a specifier: errors that quote the
  script's line.

Blocks of other types are not read (the spec forbids reading types it does
not standardise). :func:`check_python` says whether a runtime may run it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ..errors import InvalidRequirement, ScriptError
from .requirements import parse_requirement

__all__ = ["ScriptMetadata", "read_script", "check_python"]

# The specification's canonical expression (its text wins where the two differ).
_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
_OPENING = re.compile(r"(?m)^# /// script[ \t]*$")


@dataclass(frozen=True)
class ScriptMetadata:
    """The ``script`` block of one script."""

    source: str  # the script's path or URL, or "<script>" for text, for messages
    dependencies: tuple[str, ...]
    requires_python: SpecifierSet | None
    line: int  # where the block opens (1-based), for messages
    tool: dict  # the [tool] table, untouched: other tools' settings
    requires_python_line: int = 0


def read_script(text: str, source: str = "<script>") -> ScriptMetadata | None:
    """The ``script`` block of ``text``, or None when it has none.

    Raises :class:`~micropkg.ScriptError` for a block that is malformed.
    """
    text = text.replace("\r\n", "\n")
    every = list(_BLOCK.finditer(text))
    blocks = [m for m in every if m.group("type") == "script"]
    if len(blocks) > 1:
        lines = ", ".join(str(_line_of(text, m.start())) for m in blocks)
        raise ScriptError(
            f"{source} has {len(blocks)} '# /// script' blocks (lines {lines}); PEP 723 allows one: merge them",
            script=source,
        )
    closed = {_line_of(text, m.start()) for m in blocks}
    for opening in _OPENING.finditer(text):
        line = _line_of(text, opening.start())
        if line not in closed and not any(m.start() < opening.start() < m.end() for m in every):
            at, message = _unclosed(text, line, source)
            raise ScriptError(message, script=source, line=at)
    if not blocks:
        return None
    block = blocks[0]
    first = _line_of(text, block.start())
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:] for line in block.group("content").splitlines(keepends=True)
    )
    try:
        table = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        at = first + _toml_line(error)
        raise ScriptError(
            f"{source}, line {at}: the '# /// script' block is not valid TOML ({_toml_reason(error)}): "
            f"{_quote(text, at)}",
            script=source, line=at,
        ) from error
    return ScriptMetadata(
        source=source,
        dependencies=_dependencies(table, text, first, source),
        requires_python=_requires_python(table, text, first, source),
        line=first,
        tool=table.get("tool", {}) if isinstance(table.get("tool"), dict) else {},
        requires_python_line=_find_key(text, first, "requires-python"),
    )


def check_python(metadata: ScriptMetadata, python: Version, runtime: str) -> None:
    """Refuse a script whose ``requires-python`` excludes ``python``, before any request."""
    if metadata.requires_python is None or metadata.requires_python.contains(python, prereleases=True):
        return
    raise ScriptError(
        f"{metadata.source} requires Python {metadata.requires_python} (requires-python, line "
        f"{metadata.requires_python_line}), but this runtime is {runtime} with Python {python}: "
        "run it in a Pyodide whose Python fits, or relax requires-python",
        script=metadata.source, line=metadata.line,
    )


def _dependencies(table: dict, text: str, first: int, source: str) -> tuple[str, ...]:
    value = table.get("dependencies", [])
    at = _find_key(text, first, "dependencies")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ScriptError(
            f"{source}, line {at}: 'dependencies' must be a list of PEP 508 strings, "
            f"got {value!r}: {_quote(text, at)}",
            script=source, line=at,
        )
    for item in value:
        try:
            parse_requirement(item)
        except InvalidRequirement as error:
            where = _find_text(text, first, item) or at
            raise ScriptError(f"{source}, line {where}: {error}: {_quote(text, where)}", script=source, line=where) from error
    return tuple(value)


def _requires_python(table: dict, text: str, first: int, source: str) -> SpecifierSet | None:
    if "requires-python" not in table:
        return None
    value = table["requires-python"]
    at = _find_key(text, first, "requires-python")
    try:
        if not isinstance(value, str):
            raise InvalidSpecifier(repr(value))
        return SpecifierSet(value)
    except InvalidSpecifier as error:
        raise ScriptError(
            f"{source}, line {at}: 'requires-python' must be a version specifier such as '>=3.12', "
            f"got {value!r}: {_quote(text, at)}",
            script=source, line=at,
        ) from error


def _unclosed(text: str, line: int, source: str) -> tuple[int, str]:
    lines = text.splitlines()
    for number in range(line + 1, len(lines) + 1):
        content = lines[number - 1]
        if content == "# ///":
            continue
        if not (content == "#" or content.startswith("# ")):
            return number, (
                f"{source}, line {number}: the '# /// script' block opened on line {line} ends here "
                f"without its closing '# ///' line: {content!r}; inside the block every line is '#' "
                "or starts with '# ', and the block ends with a line '# ///'"
            )
    return line, (
        f"{source}, line {line}: the '# /// script' block is never closed: "
        "end it with a line '# ///' right after its last '# ' line"
    )


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _quote(text: str, line: int) -> str:
    lines = text.splitlines()
    return repr(lines[line - 1]) if 0 < line <= len(lines) else "(end of the block)"


def _find_key(text: str, first: int, key: str) -> int:
    pattern = re.compile(rf"^#\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines()[first:], start=first + 1):
        if pattern.match(line):
            return number
    return first


def _find_text(text: str, first: int, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines()[first:], start=first + 1):
        if needle in line:
            return number
    return None


# tomllib's message ends in "(at line N, column M)" of the block's text (Python 3.14 also has
# .lineno and .msg): the script's own line number is given instead.
_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def _toml_line(error: tomllib.TOMLDecodeError) -> int:
    found = _TOML_AT.search(str(error))
    return int(found.group(1)) if found else 1


def _toml_reason(error: tomllib.TOMLDecodeError) -> str:
    return _TOML_AT.sub("", str(error))

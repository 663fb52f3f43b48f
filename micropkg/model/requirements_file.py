"""pip-style requirements files: ``-r requirements.txt``, ``-c constraints.txt``.

The format pip reads, as far as an installer without a build step can follow it:

* one requirement per line (PEP 508, or a wheel URL/path), ``#`` comments
  (at the start of a line or after whitespace), ``\\`` line continuations,
  ``${VAR}`` taken from the environment when it is set;
* ``-r``/``--requirement FILE`` includes another file, ``-c``/``--constraint
  FILE`` a file of constraints, relative to the including file's location
  (a URL or a path);
* ``-i``/``--index-url`` and ``--extra-index-url`` give the indexes (used when
  the caller names none), ``--pre`` allows pre-releases;
* options with no meaning here (``--find-links``, ``--no-binary``,
  ``--trusted-host``, ``--hash``...) are ignored, each with a note naming the
  file and line; ``-e``/``--editable`` is an error (nothing can be built in
  Pyodide).

Reading goes through a function the caller passes (the host reads files and
URLs with urllib, Pyodide with ``pyfetch`` and its file system), so parsing
needs no I/O of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..errors import InvalidRequirement
from .location import join_location
from .requirements import parse_requirement

__all__ = ["RequirementsFile", "load_requirements_file"]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")

# Options whose value is the next token (or after "="), by every spelling.
_INCLUDE = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint"}
_INDEX = {"-i": "index", "--index-url": "index", "--extra-index-url": "extra-index"}
_IGNORED_WITH_VALUE = {"-f", "--find-links", "--trusted-host", "--use-feature", "--only-binary",
                       "--no-binary", "--hash", "--config-settings", "--global-option", "--progress-bar"}
_IGNORED_FLAGS = {"--prefer-binary", "--require-hashes", "--no-index", "--no-deps"}
_EDITABLE = {"-e", "--editable"}


@dataclass
class RequirementsFile:
    """Everything a requirements file (and the files it includes) asks for."""

    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    index_urls: list[str] = field(default_factory=list)  # --index-url first, then the extras
    pre: bool = False
    notes: list[str] = field(default_factory=list)  # what was ignored, and where


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) after joining continuations and dropping comments."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        line = _COMMENT.sub("", "".join(pending)).strip()
        pending = []
        if line:
            out.append((start, line))
    if pending:  # a continuation on the last line continues into nothing
        line = _COMMENT.sub("", "".join(pending)).strip()
        if line:
            out.append((start, line))
    return out


def _expand(line: str) -> str:
    return _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)


def _takes_value(name: str) -> bool:
    return name in _INCLUDE or name in _INDEX or name in _IGNORED_WITH_VALUE


def _split_option(tokens: list[str], where: str, line: str) -> tuple[str, str | None, list[str]]:
    """The first option of ``tokens``, its value (if it takes one), and the tokens after."""
    head, *rest = tokens
    if not head.startswith("--") and len(head) > 2 and _takes_value(head[:2]):  # -rfile
        return head[:2], head[2:], rest
    name, eq, value = head.partition("=")
    if not _takes_value(name):
        return head, None, rest
    if eq:
        return name, value, rest
    if not rest:
        raise InvalidRequirement(line, f"{where}: option {name} needs a value")
    return name, rest[0], rest[1:]


async def load_requirements_file(
    location: str,
    read: Callable[[str], Awaitable[str]],
    *,
    constraints: bool = False,
    into: RequirementsFile | None = None,
    _seen: tuple[str, ...] = (),
) -> RequirementsFile:
    """Read ``location`` and the files it includes, through ``read(location) -> text``.

    ``constraints=True`` reads it as a ``-c`` file; ``into`` adds to an
    earlier result (several ``-r``/``-c`` options in order).
    """
    result = into if into is not None else RequirementsFile()
    if location in _seen:
        chain = " -> ".join([*_seen, location])
        raise InvalidRequirement(f"-r {location}", f"requirements files include each other in a loop: {chain}")
    text = await read(location)
    seen = (*_seen, location)
    for number, raw_line in _logical_lines(text):
        where = f"{location}, line {number}"
        line = _expand(raw_line)
        tokens = line.split()
        if tokens[0].startswith("-"):
            while tokens:
                name, value, tokens = _split_option(tokens, where, line)
                if name in _EDITABLE:
                    raise InvalidRequirement(line, f"{where}: editable installs (-e) need a build step, which Pyodide cannot run")
                if name in _INCLUDE:
                    nested = join_location(location, value)  # type: ignore[arg-type]
                    as_constraints = constraints or _INCLUDE[name] == "constraint"
                    await load_requirements_file(nested, read, constraints=as_constraints, into=result, _seen=seen)
                elif name in _INDEX:
                    if _INDEX[name] == "index":
                        result.index_urls.insert(0, value)  # type: ignore[arg-type]
                    else:
                        result.index_urls.append(value)  # type: ignore[arg-type]
                elif name == "--pre":
                    result.pre = True
                elif name in _IGNORED_WITH_VALUE or name in _IGNORED_FLAGS:
                    result.notes.append(f"{where}: {name} is ignored by micropkg")
                else:
                    raise InvalidRequirement(line, f"{where}: unknown option {name}")
            continue
        # pip's rule: the requirement ends at the first token that starts with "-".
        cut = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
        requirement = " ".join(tokens[:cut])
        for option in tokens[cut:]:
            name = option.partition("=")[0]
            if name == "--hash":
                result.notes.append(
                    f"{where}: --hash is not checked by a resolving install (micropkg checks the index's"
                    " hashes); to pin hashes, lock (python -m micropkg lock) and install(lock=...)"
                )
            elif name.startswith("-"):
                result.notes.append(f"{where}: {name} is ignored by micropkg")
        if requirement.endswith(".whl") and " " not in requirement and "://" not in requirement \
                and not requirement.startswith(("/", "emfs:", "file:")):
            # A wheel path relative to this file, as pip reads it.
            requirement = join_location(location, requirement)
        try:
            parse_requirement(requirement)
        except InvalidRequirement as exc:
            raise InvalidRequirement(requirement, f"{where}: {exc.reason}") from exc
        (result.constraints if constraints else result.requirements).append(requirement)
    return result

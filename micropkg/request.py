"""What one install asks for, assembled: its requirements, pip-style files and a PEP 723 script.

``install(requirements, requirements_file=..., script=...)`` takes requirements
from three places; these functions read the files and the script (through the
session, so URLs, paths and ``emfs:`` work alike) and hand back one list,
with the files' constraints, ``--pre`` and ``--index-url`` applied.
"""

from __future__ import annotations

import builtins
import warnings

from .session import Options, Session

__all__ = ["with_files", "with_script"]


async def with_files(
    session: Session, options: Options, files, requirements, *, indexes_given: bool,
):
    """The requirements, session and options once pip-style requirements files are added."""
    from .model.requirements_file import RequirementsFile, load_requirements_file

    async def read_text(location: str) -> str:
        return (await session.read(location)).decode("utf-8")

    loaded = RequirementsFile()
    for location in [files] if isinstance(files, str) else files:
        await load_requirements_file(session.location(location), read_text, into=loaded)
    for note in loaded.notes:
        warnings.warn(note, stacklevel=5)  # with_files, _install, _install_in_turn, install, the caller
    given = [requirements] if isinstance(requirements, str) else builtins.list(requirements)
    if loaded.index_urls and not indexes_given:
        session = session.with_indexes(loaded.index_urls)
    options = options.with_requirements_file(loaded.constraints, loaded.pre)
    return [*given, *loaded.requirements], session, options


async def with_script(session: Session, script: str, requirements) -> builtins.list[str]:
    """The requirements once a PEP 723 script's dependencies are added (its Python checked first)."""
    from packaging.version import Version

    from .errors import ScriptError
    from .model.script import check_python, read_script

    # A script's text has lines; a path or URL is one line that does not start a comment.
    if "\n" in script or script.lstrip().startswith("#"):
        source, text = "<script>", script
    else:
        source = script
        raw = await session.read(session.location(script))
        try:
            text = raw.decode("utf-8")  # PEP 723: a tool that reads no coding declaration reads UTF-8
        except UnicodeDecodeError as error:
            raise ScriptError(f"{script!r} is not UTF-8 text ({error}); save the script as UTF-8", script=script) from error
    metadata = read_script(text, source)
    if metadata is None:
        raise ScriptError(
            f"{source} has no '# /// script' block to install from; declare its dependencies "
            "(PEP 723): '# /// script', '# dependencies = [\"rich\"]', '# ///'",
            script=source,
        )
    target = session.target
    check_python(metadata, Version(target.python_full_version), target.describe())
    given = [requirements] if isinstance(requirements, str) else builtins.list(requirements)
    return [*given, *metadata.dependencies]

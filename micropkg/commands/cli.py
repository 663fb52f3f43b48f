"""``python -m micropkg``: locking for the browser from the host, and mirroring a lock.

::

    python -m micropkg lock luau-wasm msgpack -r requirements.txt --pyodide 314.0 -o pylock.toml
    python -m micropkg lock "pydantic-core>=2.47" --platform pyemscripten_2026_0_wasm32 --python 3.14
    python -m micropkg lock msgpack --pyodide 0.29 --format pyodide-lock -o pyodide-lock.json
    python -m micropkg lock --script app.py -o pylock.toml       # what its PEP 723 block declares
    python -m micropkg mirror pylock.toml -o site/packages
    python -m micropkg mirror pylock.toml -o site/packages --build --pyodide-dir node_modules/pyodide

``lock`` resolves on plain CPython with the resolver micropkg runs inside
Pyodide, for the target runtime's wheel tags and markers
(``sys_platform == "emscripten"``, ``platform_machine == "wasm32"``...),
over urllib, and writes the lock. ``mirror`` turns a lock into a static index
(:mod:`._mirror`). Errors print one message and exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from ..errors import FetchError, MicropkgError
from ..index.client import Index
from ..index.entries import index_list
from ..lock.create import lock_plan
from ..lock.mirror import build_mirror
from ..lock.pylock import dumps as dumps_pylock
from ..lock.pyodide_lock import dumps as dumps_pyodide_lock
from ..lock.pyodide_lock import parse_lock
from ..model.lock import Lock
from ..model.pyodide_releases import target_for_platform, target_for_pyodide
from ..model.requirements import parse_requirements
from ..model.requirements_file import RequirementsFile, load_requirements_file
from ..model.target import Target
from ..net.transport import Request, Transport, UrllibTransport
from ..reporter import Reporter
from ..resolution.catalog import Catalog
from ..resolution.resolver import resolve

__all__ = ["lock_requirements", "main", "read_location"]

DEFAULT_PYODIDE = "314"


async def read_location(location: str, transport: Transport) -> bytes:
    """The bytes at a URL, a ``file:``/``emfs:`` URL or a path, read on the host."""
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        response = await transport.fetch(Request(location))
        return response.raise_for_status(f"Reading {location}").body
    path = location
    for prefix in ("file://", "file:", "emfs:"):  # emfs: paths, as the parser writes them, are host paths here
        if path.startswith(prefix):
            path = urllib.parse.unquote(path[len(prefix):])
            break
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FetchError(f"Cannot read {path}: {exc.strerror or exc}", url=location) from exc


def _absolute(location: str) -> str:
    return location if urllib.parse.urlsplit(location).scheme else os.path.abspath(location)


async def lock_requirements(
    requirements: Sequence[str],
    target: Target,
    *,
    constraints: Sequence[str] = (),
    index_urls: Sequence[str] | None = None,
    pre: bool = False,
    transport: Transport | None = None,
    only_binary: bool = False,
) -> Lock:
    """Resolve ``requirements`` for ``target`` on the host and return the lock.

    A release with no usable wheel is locked to its sdist (PEP 751 ``[packages.sdist]``), as
    an install in the page would build it; its dependencies are what its build backend says
    (PEP 517, run here as micropkg runs it in Pyodide: in-process, build requirements
    wheels-only in an isolated directory, no processes). ``only_binary``: sdists are never taken.
    """
    transport = transport or UrllibTransport()
    indexes = [Index(url, transport) for url in index_list(index_urls or None)]

    def read_url(url: str):
        return read_location(url, transport)

    builds = None if only_binary else _host_builder(indexes, read_url, target)
    catalog = Catalog(indexes, read_url=read_url, builds=builds)
    try:
        plan = await resolve(
            parse_requirements(list(requirements)), catalog, target,
            constraints=parse_requirements(list(constraints)), pre=pre,
        )
        lock = await lock_plan(plan, catalog, target)
    finally:
        if builds is not None:
            builds.close()
    # Recorded so that whoever reads the lock can tell what it was made from (PEP 751 [tool]).
    tool = {"requirements": list(requirements)} | ({"constraints": list(constraints)} if constraints else {})
    return dataclasses.replace(lock, tool=tool)


class _BuildNotices(Reporter):
    def building(self, project: str, version: str) -> None:
        print(f"Building {project} {version} from its sdist (for its dependencies)", file=sys.stderr)


def _host_builder(indexes: Sequence[Index], read_url, target: Target):
    """A builder for sdists met while locking: the build runs in this CPython, its requirements
    resolved for ``target`` from the same indexes (they are pure Python, so they run here too)."""
    import sysconfig

    from ..build.builder import Builder

    async def resolve_wheels(build_requirements):
        catalog = Catalog(indexes, read_url=read_url)  # wheels only: no builds to build a builder
        return await resolve(parse_requirements(list(build_requirements)), catalog, target), catalog

    return Builder(
        target=target, cache=None, resolve_wheels=resolve_wheels,
        site_packages=Path(sysconfig.get_paths()["purelib"]), reporter=_BuildNotices(),
    )


def _target(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Target:
    if args.platform or args.python:
        if not (args.platform and args.python):
            parser.error("--platform and --python go together")
        if args.pyodide:
            parser.error("give --pyodide or --platform/--python, not both")
        return target_for_platform(args.platform, args.python)
    return target_for_pyodide(args.pyodide or DEFAULT_PYODIDE)


def _write(text: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


async def _lock_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    target = _target(args, parser)
    transport = UrllibTransport()

    async def read_text(location: str) -> str:
        return (await read_location(location, transport)).decode("utf-8")

    files = RequirementsFile()
    for kind, location in args.files:
        await load_requirements_file(_absolute(location), read_text, constraints=kind == "-c", into=files)
    for note in files.notes:
        print(f"note: {note}", file=sys.stderr)
    requirements = [*args.requirements, *files.requirements]
    if args.script is not None:
        requirements += await _script_dependencies(args.script, target, read_text)
    elif not requirements:
        parser.error("nothing to lock: name requirements, -r FILE or --script FILE")
    index_urls = args.index_url or files.index_urls or None
    lock = await lock_requirements(
        requirements, target, constraints=files.constraints, index_urls=index_urls,
        pre=args.pre or files.pre, transport=transport, only_binary=args.only_binary is not None,
    )
    text = dumps_pyodide_lock(lock) if args.format == "pyodide-lock" else dumps_pylock(lock)
    output = args.output or ("pyodide-lock.json" if args.format == "pyodide-lock" else "pylock.toml")
    _write(text, output)
    where = "standard output" if output == "-" else output
    print(f"Locked {len(lock.packages)} packages for {target.describe()} (Python {target.python_full_version})"
          f" into {where}", file=sys.stderr)
    return 0


async def _script_dependencies(location: str, target: Target, read_text) -> list[str]:
    """The dependencies a PEP 723 script declares, once its requires-python admits ``target``."""
    from packaging.version import Version

    from ..errors import ScriptError
    from ..model.script import check_python, read_script

    metadata = read_script(await read_text(_absolute(location)), location)
    if metadata is None:
        raise ScriptError(f"{location} has no '# /// script' block (PEP 723) to lock", script=location)
    check_python(metadata, Version(target.python_full_version), target.describe())
    return list(metadata.dependencies)


async def _mirror_command(args: argparse.Namespace) -> int:
    transport = UrllibTransport()
    location = _absolute(args.lock)
    text = (await read_location(location, transport)).decode("utf-8")
    lock = parse_lock(text, source=args.lock, base_url=location)
    build = None
    if not args.build and (args.pyodide_dir or args.index_url):
        print("note: --pyodide-dir and -i/--index-url are for --build; without it they are ignored", file=sys.stderr)
    if args.build:
        from .node_build import node_builder, pyodide_folder

        build = node_builder(lock, pyodide_folder(args.pyodide_dir), args.index_url)
    mirror = await build_mirror(lock, Path(args.output), lambda url: read_location(url, transport), build=build)
    sdists = f", {len(mirror.sdists)} sdists" if mirror.sdists else ""
    built = f" ({len(mirror.built)} wheels built from them)" if mirror.built else ""
    print(f"Mirrored {len(mirror.wheels)} wheels{sdists}{built} of {len(mirror.projects)} projects"
          f" ({mirror.bytes} bytes) into {mirror.root}", file=sys.stderr)
    return 0


class _FileAction(argparse.Action):
    """-r and -c keep their order in one list, as pip reads them."""

    def __call__(self, parser, namespace, value, option_string=None):
        getattr(namespace, self.dest).append(("-r" if option_string in ("-r", "--requirement") else "-c", value))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m micropkg", description="micropkg on the host: lock and mirror.")
    commands = parser.add_subparsers(dest="command", required=True)
    lock = commands.add_parser("lock", help="resolve for a Pyodide runtime and write a lock")
    lock.add_argument("requirements", nargs="*", metavar="REQ", help="PEP 508 requirements or wheel URLs")
    lock.add_argument("-r", "--requirement", "-c", "--constraint", dest="files", action=_FileAction, default=[],
                      metavar="FILE", help="a requirements (-r) or constraints (-c) file, pip's format")
    target = lock.add_argument_group("target runtime (default: --pyodide 314)")
    target.add_argument("--pyodide", metavar="VERSION", help="a Pyodide release: 314.0, 0.29, 0.27, 315.0")
    target.add_argument("--platform", metavar="TAG", help="a wheel platform, e.g. pyemscripten_2026_0_wasm32")
    target.add_argument("--python", metavar="X.Y", help="the Python version, with --platform")
    lock.add_argument("--script", metavar="FILE", help="a script whose PEP 723 '# /// script' block names the dependencies")
    lock.add_argument("-i", "--index-url", action="append", metavar="URL",
                      help="a Simple API index (repeatable; default https://pypi.org/simple)")
    lock.add_argument("--pre", action="store_true", help="allow pre-releases")
    lock.add_argument("--only-binary", nargs="?", const=":all:", choices=(":all:",), metavar=":all:",
                      help="never lock a project to its sdist (pip's --only-binary :all:)")
    lock.add_argument("--format", choices=("pylock", "pyodide-lock"), default="pylock")
    lock.add_argument("-o", "--output", metavar="FILE", help="where to write ('-' for standard output)")
    mirror = commands.add_parser("mirror", help="write a static index holding a lock's wheels and sdists")
    mirror.add_argument("lock", help="a pylock.toml or pyodide-lock.json (path or URL)")
    mirror.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write")
    mirror.add_argument("--build", action="store_true",
                        help="build each locked sdist into a wheel in Pyodide under Node, so pages never build")
    mirror.add_argument("--pyodide-dir", metavar="DIR",
                        help="with --build: an npm pyodide folder holding pyodide.mjs, of the lock's runtime"
                             " (default $PYODIDE_DIR; npm install pyodide@314.0.7)")
    mirror.add_argument("-i", "--index-url", action="append", metavar="URL",
                        help="with --build: where build requirements come from (repeatable; default PyPI)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "lock":
            return asyncio.run(_lock_command(args, parser))
        return asyncio.run(_mirror_command(args))
    except MicropkgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

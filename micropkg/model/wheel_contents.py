"""The checks of a wheel's contents: its ``.dist-info``, METADATA, WHEEL and RECORD.

:class:`~micropkg.model.wheel.Wheel` reads the archive's members; these
functions decide whether what it read is a wheel micropkg may install, and
where each member goes. Every refusal is an :class:`~micropkg.InvalidWheel`
naming the file and the member.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import InvalidWheel
from .headers import Headers, parse_headers
from .records import RecordEntry, RecordError, parse_record
from .wheel_member import StreamedMember

Contents = dict[str, "bytes | StreamedMember"]  # archive name -> bytes, or the member to stream

__all__ = [
    "SIGNATURES", "SLICE", "check_metadata", "check_record", "check_wheel_file", "find_dist_info", "install_paths",
]

SIGNATURES = frozenset({"RECORD.jws", "RECORD.p7s"})


# dist-info files the installer writes itself (PEP 376, PEP 610, PEP 627), so
# copies in a wheel are not installed; the signatures sign a RECORD that is replaced.
_NOT_INSTALLED = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}) | SIGNATURES


_ROOT_SCHEMES = frozenset({"purelib", "platlib"})


_SKIPPED_SCHEMES = frozenset({"scripts", "headers", "data"})


# Bytes inflated or hashed between two turns of the event loop in Wheel.open:
# a few milliseconds of work in Pyodide.
SLICE = 256 * 1024


def find_dist_info(filename: str, contents: Contents, name: str, version: Version) -> str:
    # Only top-level directories count: a nested foo/x.dist-info is package data.
    tops = {member.split("/", 1)[0] for member in contents if "/" in member}
    candidates = sorted(top for top in tops if top.endswith(".dist-info"))
    if len(candidates) != 1:
        found = ", ".join(repr(c) for c in candidates) or "none"
        raise InvalidWheel(
            f"expected exactly one .dist-info directory, found {found}", filename=filename
        )
    dist_info = candidates[0]
    dist_name, sep, dist_version = dist_info[: -len(".dist-info")].rpartition("-")
    if not sep:
        raise InvalidWheel(f"{dist_info!r} is not <name>-<version>.dist-info", filename=filename)
    if canonicalize_name(dist_name) != name:
        raise InvalidWheel(
            f"{dist_info!r} is for project {dist_name!r}, the filename says {name!r}",
            filename=filename,
        )
    try:
        parsed = Version(dist_version)
    except InvalidVersion as exc:
        raise InvalidWheel(
            f"{dist_info!r} has an invalid version {dist_version!r}", filename=filename
        ) from exc
    if parsed != version:
        raise InvalidWheel(
            f"{dist_info!r} is for version {dist_version!r}, the filename says {str(version)!r}",
            filename=filename,
        )
    return dist_info


def _headers(filename: str, member: str, data: bytes | StreamedMember) -> Headers:
    assert isinstance(data, bytes)  # dist-info files are always held
    try:
        text = data.decode("utf-8")  # core metadata and WHEEL are UTF-8 by specification
    except UnicodeDecodeError as exc:
        raise InvalidWheel(f"not UTF-8: {exc}", filename=filename, member=member) from exc
    return parse_headers(text)


def check_wheel_file(filename: str, dist_info: str, contents: Contents) -> bool:
    member = f"{dist_info}/WHEEL"
    headers = _headers(filename, member, contents[member])
    wheel_version = headers.get("Wheel-Version")
    if wheel_version is None:
        raise InvalidWheel("no Wheel-Version header", filename=filename, member=member)
    major = wheel_version.strip().split(".")[0]
    # PEP 427: an installer must refuse a wheel whose major Wheel-Version it does not know.
    if major != "1":
        raise InvalidWheel(
            f"Wheel-Version {wheel_version!r} is not 1.x", filename=filename, member=member
        )
    return (headers.get("Root-Is-Purelib") or "").strip().lower() == "true"


def check_metadata(
    filename: str, dist_info: str, contents: Contents, name: str, version: Version
) -> None:
    member = f"{dist_info}/METADATA"
    headers = _headers(filename, member, contents[member])
    meta_name, meta_version = headers.get("Name"), headers.get("Version")
    if meta_name is None or canonicalize_name(meta_name.strip()) != name:
        raise InvalidWheel(
            f"Name {meta_name!r} does not match the filename's {name!r}",
            filename=filename,
            member=member,
        )
    try:
        matches = meta_version is not None and Version(meta_version.strip()) == version
    except InvalidVersion as exc:
        raise InvalidWheel(
            f"Version {meta_version!r} is not a valid version", filename=filename, member=member
        ) from exc
    if not matches:
        raise InvalidWheel(
            f"Version {meta_version!r} does not match the filename's {str(version)!r}",
            filename=filename,
            member=member,
        )


def check_record(
    filename: str, dist_info: str, contents: Contents
) -> Generator[None, None, dict[str, RecordEntry]]:
    """The RECORD rows each member was checked against, by archive name (yields between slices)."""
    record_member = f"{dist_info}/RECORD"
    record = contents[record_member]
    assert isinstance(record, bytes)  # dist-info files are always held
    try:
        entries = parse_record(record)
    except RecordError as exc:
        raise InvalidWheel(
            f"malformed RECORD: {exc}", filename=filename, member=record_member
        ) from exc
    listed: dict[str, RecordEntry] = {entry.path: entry for entry in entries}
    work = 0
    for path in listed:
        if path not in contents:
            raise InvalidWheel(
                "RECORD lists this file but the archive has no such member",
                filename=filename,
                member=path,
            )
    for member, data in contents.items():
        if member == record_member:
            continue  # RECORD cannot contain its own hash
        entry = listed.get(member)
        if entry is None:
            # PEP 427 lets only the signatures stay out of RECORD (they sign RECORD itself).
            top, _, rest = member.partition("/")
            if top == dist_info and rest in SIGNATURES:
                continue
            raise InvalidWheel(
                "the member is not listed in RECORD", filename=filename, member=member
            )
        if entry.hash is None:
            raise InvalidWheel(
                "RECORD lists the member without a hash", filename=filename, member=member
            )
        if isinstance(data, StreamedMember):
            yield from data.verify(entry)
            continue
        problem = entry.mismatch(data)
        if problem is not None:
            raise InvalidWheel(problem, filename=filename, member=member)
        work += len(data)
        if work > SLICE:
            work = 0
            yield
    return listed


def install_paths(
    filename: str, dist_info: str, contents: Contents, checked: Mapping[str, RecordEntry]
) -> tuple[tuple[tuple[str, bytes | StreamedMember], ...], tuple[str, ...], dict[str, RecordEntry]]:
    data_dir = dist_info[: -len(".dist-info")] + ".data"
    members: list[tuple[str, bytes | StreamedMember]] = []
    skipped: list[str] = []
    targets: dict[str, str] = {}
    verified: dict[str, RecordEntry] = {}
    for member, data in contents.items():
        top, _, rest = member.partition("/")
        target = member
        if top.endswith(".data") and rest:
            if top != data_dir:
                raise InvalidWheel(
                    f"a .data directory other than {data_dir!r}", filename=filename, member=member
                )
            scheme, _, path = rest.partition("/")
            if scheme in _SKIPPED_SCHEMES:
                skipped.append(member)
                continue
            if scheme not in _ROOT_SCHEMES or not path:
                raise InvalidWheel(
                    f"unknown .data scheme {scheme!r}", filename=filename, member=member
                )
            target = path
        # Checked on the install path, so purelib/ cannot reach around them.
        target_top, _, target_rest = target.partition("/")
        if target_top.endswith(".dist-info") and target_top != dist_info:
            # Security: a planted dist-info for another project would be trusted
            # later, and uninstalling "it" would delete whatever its RECORD lists.
            raise InvalidWheel(
                f"installs into {target_top!r}, not this wheel's {dist_info!r}",
                filename=filename,
                member=member,
            )
        if target_top == dist_info and target_rest in _NOT_INSTALLED:
            skipped.append(member)
            continue
        if target in targets:
            # purelib/x and x would both install to x: which one wins is not defined.
            raise InvalidWheel(
                f"installs to the same path as {targets[target]!r}",
                filename=filename,
                member=member,
            )
        targets[target] = member
        members.append((target, data))
        entry = checked.get(member)
        if isinstance(data, StreamedMember) and data.sha256 is not None:
            verified[target] = RecordEntry(target, data.sha256, data.size)  # hashed while it was verified
        elif entry is not None and entry.hash is not None and entry.hash.algorithm == "sha256":
            verified[target] = RecordEntry(target, entry.hash, len(data))
    return tuple(members), tuple(skipped), verified

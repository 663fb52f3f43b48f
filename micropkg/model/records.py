"""RECORD files: a distribution's file list with hashes (PEP 376, PEP 627).

A RECORD is CSV with three columns, ``path,hash,size``::

    demo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0
    demo-1.0.dist-info/RECORD,,

``hash`` is ``<algorithm>=<digest>``, the digest being the urlsafe base64 of
the raw digest without ``=`` padding. ``hash`` and ``size`` may be empty: a
RECORD lists itself that way.

The same paths reach the filesystem, so this module also owns
:func:`path_problem`, the one lexical check every archive member, RECORD
entry and destination path goes through.

Parsing raises :class:`RecordError`, which never leaves micropkg: the caller
knows whether the RECORD came from a wheel (-> ``InvalidWheel``) or from an
installed distribution (-> ``InstallError`` / ``UninstallError``) and
re-raises accordingly, naming the file.
"""

from __future__ import annotations

# The C reader and writer that the csv module wraps: csv.py itself (DictReader,
# Sniffer) is 16 ms of compiling in a fresh Pyodide, for nothing used here.
import _csv as csv
import binascii
import io
import re
from collections.abc import Iterable

from ..value import Value
from . import digests

__all__ = [
    "ACCEPTED_ALGORITHMS",
    "Hash",
    "RecordEntry",
    "RecordError",
    "parse_record",
    "path_problem",
    "serialize_record",
]

# PEP 427: "sha256 or better"; md5 and sha1 are explicitly not permitted.
# shake_* is left out because its digest length is not fixed by its name.
ACCEPTED_ALGORITHMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)

_DIGEST = re.compile(r"[A-Za-z0-9_-]+")
_SIZE = re.compile(r"[0-9]+")
_DRIVE = re.compile(r"[A-Za-z]:")


class RecordError(Exception):
    """A RECORD that is not UTF-8 CSV of ``path,hash,size`` rows.

    Internal: callers re-raise it as a :class:`~micropkg.MicropkgError` that
    names the file the RECORD came from.
    """

    def __init__(self, reason: str, *, row_number: int | None = None, row: object = None) -> None:
        self.reason = reason
        self.row_number = row_number
        self.row = row
        where = "" if row_number is None else f"row {row_number} {row!r}: "
        super().__init__(f"{where}{reason}")


class Hash(Value):
    """``algorithm=digest`` as RECORD spells it. Immutable by convention."""

    __slots__ = ("algorithm", "digest")

    def __init__(self, algorithm: str, digest: str) -> None:
        self.algorithm = algorithm
        self.digest = digest  # urlsafe base64, no padding

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Hash:
        return cls(algorithm, _digest(data, algorithm))

    @classmethod
    def parse(cls, text: str) -> Hash:
        algorithm, sep, digest = text.partition("=")
        if not sep or not digest:
            raise RecordError(f"hash {text!r} is not 'algorithm=digest'")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise RecordError(
                f"hash algorithm {algorithm!r} is not accepted"
                f" (use one of {', '.join(sorted(ACCEPTED_ALGORITHMS))})"
            )
        if not _DIGEST.fullmatch(digest):
            raise RecordError(f"digest {digest!r} is not urlsafe base64 without padding")
        return cls(algorithm, digest)

    def matches(self, data: bytes) -> bool:
        return _digest(data, self.algorithm) == self.digest

    def __str__(self) -> str:
        return f"{self.algorithm}={self.digest}"


class RecordEntry(Value):
    """One RECORD row. ``hash`` and ``size`` are ``None`` when the row leaves them empty.
    Immutable by convention."""

    __slots__ = ("path", "hash", "size")

    def __init__(self, path: str, hash: Hash | None, size: int | None) -> None:
        self.path = path
        self.hash = hash
        self.size = size

    @classmethod
    def for_bytes(cls, path: str, data: bytes, algorithm: str = "sha256") -> RecordEntry:
        return cls(path, Hash.of(data, algorithm), len(data))

    def mismatch(self, data: bytes) -> str | None:
        """Why ``data`` is not the file this row describes, or ``None`` if it is."""
        if self.size is not None and self.size != len(data):
            return f"RECORD says {self.size} bytes, the file has {len(data)}"
        if self.hash is not None:
            actual = _digest(data, self.hash.algorithm)
            if actual != self.hash.digest:
                return f"RECORD says {self.hash}, the file has {self.hash.algorithm}={actual}"
        return None

    def to_row(self) -> tuple[str, str, str]:
        return (
            self.path,
            "" if self.hash is None else str(self.hash),
            "" if self.size is None else str(self.size),
        )


_sha256 = digests.constructor("sha256")
# base64's alphabet to its URL-safe one, as base64.urlsafe_b64encode translates it.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _digest(data: bytes, algorithm: str) -> str:
    """RECORD's spelling of ``data``'s digest: urlsafe base64 without padding.

    The C calls that ``hashlib.new`` and ``base64.urlsafe_b64encode`` make, made
    directly: this runs once per file of every wheel (1,650 files for 23
    packages), where each Python-level call costs microseconds in Pyodide.
    """
    hasher = _sha256(data) if algorithm == "sha256" else digests.new(algorithm, data)
    return binascii.b2a_base64(hasher.digest(), newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def path_problem(path: str) -> str | None:
    """Why ``path`` is unsafe to join to an install root, or ``None`` if it is safe.

    Safe means relative, ``/``-separated, with no empty, ``.`` or ``..``
    segment. Security: any other shape can name a file outside site-packages
    (absolute paths, ``..``, a Windows drive or separator), or alias another
    path (``a//b``, ``a/./b``) and so slip past the duplicate and RECORD checks.
    """
    if not path:
        return "the path is empty"
    if "\x00" in path:
        return "the path contains a NUL character"
    if "\\" in path:
        return "the path contains a backslash (a directory separator on Windows)"
    if path.startswith("/"):
        return "the path is absolute"
    if _DRIVE.match(path):
        return "the path starts with a drive letter"
    for segment in path.split("/"):
        if segment == "":
            return "the path has an empty segment"
        if segment in (".", ".."):
            return f"the path has a {segment!r} segment"
    return None


def _parse_row(row_number: int, row: list[str]) -> RecordEntry:
    if len(row) != 3:
        raise RecordError(
            f"expected 3 fields (path,hash,size), found {len(row)}", row_number=row_number, row=row
        )
    path, hash_text, size_text = row
    if not path:
        raise RecordError("the path is empty", row_number=row_number, row=row)
    try:
        hash_ = Hash.parse(hash_text) if hash_text else None
    except RecordError as exc:
        # The same error again, now naming its row: chaining would only repeat it.
        raise RecordError(exc.reason, row_number=row_number, row=row) from None
    if size_text and not _SIZE.fullmatch(size_text):
        raise RecordError(
            f"size {size_text!r} is not a decimal number", row_number=row_number, row=row
        )
    return RecordEntry(path, hash_, int(size_text) if size_text else None)


def parse_record(data: bytes) -> list[RecordEntry]:
    """The rows of a RECORD file, in order. Blank lines are skipped.

    Raises :class:`RecordError` for text that is not UTF-8, rows that are not
    ``path,hash,size``, and a path listed twice (two rows for one file would
    let one of them go unchecked).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 ({exc})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    entries: list[RecordEntry] = []
    seen: set[str] = set()
    try:
        for row in reader:
            if not row:
                continue
            entry = _parse_row(reader.line_num, row)
            if entry.path in seen:
                raise RecordError("the path is listed twice", row_number=reader.line_num, row=row)
            seen.add(entry.path)
            entries.append(entry)
    except csv.Error as exc:
        raise RecordError(f"not valid CSV ({exc})", row_number=reader.line_num) from exc
    return entries


def serialize_record(entries: Iterable[RecordEntry]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(entry.to_row() for entry in entries)
    return out.getvalue().encode("utf-8")

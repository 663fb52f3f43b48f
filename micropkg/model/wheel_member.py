"""A wheel member too big to hold: verified, then written, a piece at a time.

:class:`~micropkg.model.wheel.Wheel` holds the bytes of its members while it
verifies them, which suits the many small files of a wheel. A member over
:data:`STREAM_THRESHOLD` is not held: verifying inflates it a piece at a
time, checking its size and hash against its RECORD row (and keeping its
sha256 for the installed RECORD), and writing inflates it again, a piece at a
time, straight into its file. WebAssembly memory grows to its high-water mark
and never shrinks, so a 100 MiB library then costs a tab a 1 MiB piece while
it installs instead of its size twice over (the inflated bytes, and zlib's
output buffer while joining them). The price is inflating it twice.
"""

from __future__ import annotations

import base64
import io
import zipfile
import zlib
from collections.abc import Generator, Iterator

from ..errors import InvalidWheel
from . import digests
from .records import Hash, RecordEntry

__all__ = ["PIECE", "STREAM_THRESHOLD", "StreamedMember"]

# Members up to this size are held while the wheel is verified (inflated once); bigger
# ones are streamed (inflated twice). Real wheels' files are far smaller (pandas' largest
# is 1.1 MiB): only big native libraries and data files are streamed.
STREAM_THRESHOLD = 8 * 1024 * 1024
# Bytes inflated per piece: also the step of the event loop's turns while verifying.
PIECE = 1024 * 1024


class StreamedMember:
    """One member of a wheel's archive, inflated on demand (see the module docstring).

    ``bytes(member)`` inflates it whole, for destinations that hold files in memory.
    """

    __slots__ = ("_archive", "_info", "filename", "name", "sha256", "size")

    def __init__(self, filename: str, archive: bytes, info: zipfile.ZipInfo) -> None:
        self.filename = filename  # the wheel's, for errors
        self.name = info.filename  # the member's
        self.size = info.file_size  # declared; verify() and pieces() hold the member to it
        self.sha256: Hash | None = None  # known once verified
        self._archive = archive  # the wheel's bytes, held anyway while it installs
        self._info = info

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces())

    def __repr__(self) -> str:
        return f"<StreamedMember {self.name!r} of {self.filename}: {self.size} bytes>"

    def pieces(self) -> Iterator[bytes]:
        """The member's bytes, :data:`PIECE` at a time; raises :class:`InvalidWheel` on a damaged
        member or one that does not hold exactly its declared size."""
        produced = 0
        try:
            with zipfile.ZipFile(io.BytesIO(self._archive)) as archive, archive.open(self._info) as stream:
                while piece := stream.read(PIECE):  # zipfile checks the CRC-32 at the end
                    produced += len(piece)
                    if produced > self.size:
                        raise self._refused(f"the member inflates past its declared size of {self.size} bytes")
                    yield piece
        # As in Wheel: zipfile's failures on a corrupt member are not all BadZipFile.
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as exc:
            raise self._refused(f"the member cannot be read: {exc}") from exc
        if produced != self.size:
            raise self._refused(f"the member holds {produced} bytes, the archive declares {self.size}")

    def verify(self, entry: RecordEntry) -> Generator[None, None, None]:
        """Check the member against its RECORD row, yielding after each piece; keep its sha256."""
        assert entry.hash is not None  # check_record refuses a row without one first
        sha256 = digests.sha256()
        recorded = sha256 if entry.hash.algorithm == "sha256" else digests.new(entry.hash.algorithm)
        size = 0
        for piece in self.pieces():
            sha256.update(piece)
            if recorded is not sha256:
                recorded.update(piece)
            size += len(piece)
            yield
        if entry.size is not None and entry.size != size:
            raise self._refused(f"RECORD says {entry.size} bytes, the file has {size}")
        actual = Hash(entry.hash.algorithm, _b64(recorded.digest()))
        if actual != entry.hash:
            raise self._refused(f"RECORD says {entry.hash}, the file has {actual}")
        self.sha256 = Hash("sha256", _b64(sha256.digest()))

    def _refused(self, problem: str) -> InvalidWheel:
        return InvalidWheel(problem, filename=self.filename, member=self.name)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

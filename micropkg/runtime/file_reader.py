"""An installed tree read back in one call, and packed into one entry with the host's sha256.

The installed-tree cache (:mod:`micropkg.installation.tree_cache`) keeps what an
install wrote, for the next page load, and does it before ``install()``
returns. Read from Python, each of the ~1,800 files of the 23-package tree
costs an ``open``/``read``/``close`` through Emscripten's system calls, and
hashlib in WebAssembly takes ~3 ms a megabyte: ~100 ms of every cold install of
that tree. :func:`read_files` reads them in JavaScript, straight from
Emscripten's file system (``FS.readFile``), into one ``Uint8Array``;
:func:`pack_entry` frames them with the host's sha256 (Node's ``crypto``,
``crypto.subtle``), where they are. Outside Pyodide (CPython, the host tests)
the same work is done in Python, with the same result.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .file_tree import Held, sha256_hex
from .js import JsException, js_function

__all__ = ["frame", "pack_entry", "read_files"]

# (FS, root, paths joined by NUL, limit) => {data, sizes (joined by commas)}, or undefined past limit bytes.
_READ = r"""
(FS, root, joinedPaths, limit) => {
  const paths = joinedPaths === "" ? [] : joinedPaths.split("\0");
  const pieces = [];
  let total = 0;
  for (const path of paths) {
    const piece = FS.readFile(root + "/" + path);  // throws FS.ErrnoError: a file gone since it was written
    total += piece.length;
    if (total > limit) return undefined;  // None in Python (null is JsNull in Pyodide 0.28+)
    pieces.push(piece);
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) { data.set(piece, at); at += piece.length; }
  return { data, sizes: pieces.map((piece) => piece.length).join(",") };
}
"""

# (head, manifest, files) => one Uint8Array: head (the magic line's start), 64 bytes left for
# the digest, "\n", the manifest, "\n", the files. The digest is filled in by pack_entry.
_FRAME = r"""
(headBytes, manifestBytes, files) => {
  const data = new Uint8Array(headBytes.length + 65 + manifestBytes.length + 1 + files.length);
  data.set(headBytes, 0);
  data[headBytes.length + 64] = 10;
  data.set(manifestBytes, headBytes.length + 65);
  data[headBytes.length + 65 + manifestBytes.length] = 10;
  data.set(files, headBytes.length + 65 + manifestBytes.length + 1);
  return data;
}
"""


def read_files(root: str, paths: Sequence[str], limit: int) -> tuple[Held, list[int]] | None:
    """The bytes of the files at ``paths`` (relative to ``root``) one after another, and each
    one's size; None when they come to more than ``limit`` bytes. Raises ``OSError`` for a file
    that cannot be read (gone since it was written)."""
    if sys.platform == "emscripten":
        import pyodide_js

        try:
            read = js_function(_READ)(pyodide_js.FS, root, "\0".join(paths), limit)
        except JsException as exc:  # FS.ErrnoError
            raise OSError(f"reading back the installed files under {root} failed: {exc}") from exc
        if read is None:
            return None
        sizes = [int(size) for size in str(read.sizes).split(",")] if paths else []
        return Held(read.data), sizes
    pieces: list[bytes] = []
    total = 0
    for path in paths:
        with open(f"{root}/{path}", "rb") as file:
            pieces.append(file.read())
        total += len(pieces[-1])
        if total > limit:
            return None
    return Held(b"".join(pieces)), [len(piece) for piece in pieces]


async def pack_entry(head: bytes, manifest: bytes, files: Held) -> Held:
    """``head``, then the sha256 (hex) of everything after its line, ``\\n``, ``manifest``, ``\\n``
    and ``files``: the tree cache's entry, in one buffer where ``files`` are."""
    if sys.platform == "emscripten" and not isinstance(files.data, (bytes, bytearray, memoryview)):
        from pyodide.ffi import to_js

        framed = Held(js_function(_FRAME)(to_js(head), to_js(manifest), files.data))
        digest = await sha256_hex(framed, len(head) + 65)
        framed.data.set(to_js(digest.encode()), len(head))
        return framed
    return Held(frame(head, manifest, files.slice(0, len(files))))


def frame(head: bytes, manifest: bytes, files: bytes) -> bytes:
    """:func:`pack_entry` in Python, of bytes."""
    from ..model.digests import sha256

    rest = b"".join([manifest, b"\n", files])
    return b"".join([head, sha256(rest).hexdigest().encode(), b"\n", rest])

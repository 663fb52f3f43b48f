"""A tree of new files written in one call, and the sha256 that checks its bytes first.

A warm page load restores ~1,800 files (micropkg.installation.tree_cache). Written
from Python, each costs an ``open``/``fstat``/``write``/``close`` through
Emscripten's system calls plus path joins: ~120 µs a file, 200 ms for the
23-package tree in Pyodide 314 under Node. :func:`write_new_files` hands the
whole batch to JavaScript instead, which creates the files straight in
Emscripten's file system (``FS``): ~10 µs a file. Its sha256 is the host's
(Node's ``crypto``, the browser's ``crypto.subtle``) rather than hashlib compiled
to WebAssembly: 12 MB in ~8 ms instead of ~35 ms.

Both read the bytes in place (:class:`Held`): the ``Uint8Array`` the store
read, or a view of Python's memory held only during the call. Outside Pyodide
(CPython, the host tests) the same work is done in Python, with the same rules.

The rules are those of an install into site-packages, for files that must not
exist yet: every path must be safe (as ``model.records.path_problem`` says);
each file is created new, never through what is there (``O_EXCL |
O_NOFOLLOW``); a parent directory that exists must resolve inside the root (a
link may not lead the files out); missing ones are made. If any file is
already there -- or a parent is a file -- everything the call made is removed
again before it returns, and it returns None. :meth:`Batch.undo` removes the
files later (a rollback), each only while it is still the file written with
the bytes written, and then the directories made, when empty.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .js import JsException, js_function

__all__ = ["Batch", "HalfWritten", "Held", "sha256_hex", "write_new_files"]

_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# What makes a file "taken": something at its path, or a file where a parent directory should be.
_TAKEN = (errno.EEXIST, errno.ENOTDIR)

# Bytes as JavaScript sees them: a Uint8Array as it is, or a PyProxy of Python bytes, whose
# buffer is a view of the WebAssembly memory, valid until the next allocation (so it is taken
# and released within each call).
_VIEW = 'const viewOf = (data) => (typeof data.getBuffer === "function" ? data.getBuffer("u8") : { data, release() {} });'


def _with_view(function: str) -> str:
    return "(() => { " + _VIEW + " return " + function.strip() + "; })()"


# (FS, constants, root, data, paths joined by NUL, sizes joined by commas, start) => {taken} | {undo(data)}.
_WRITE = _with_view(r"""
(FS, c, root, data, joinedPaths, joinedSizes, start) => {
  // Two strings, not two lists: converting 1,800 strings one by one took 10-30 ms in a fresh Pyodide.
  const none = joinedSizes === "";
  const paths = none ? [] : joinedPaths.split("\0"), sizes = none ? [] : joinedSizes.split(",").map(Number);
  if (paths.length !== sizes.length) throw new Error("refusing the unsafe path list: a path holds a NUL");
  const buffer = viewOf(data);
  const MEMFS = FS.filesystems?.MEMFS;
  const made = [], written = [];
  const prefix = root + "/";
  const errnoOf = (error) => (error instanceof FS.ErrnoError ? error.errno : null);
  const child = (parent, name) => {  // the node, or null
    try { return FS.lookupNode(parent, name); } catch (error) { if (errnoOf(error) === c.ENOENT) return null; throw error; }
  };
  // Parent directories by path: there (a link must resolve inside the root), or made now. Files are
  // then made in their directory's node, as FS.mknod does after its path lookup (the lookup, with
  // its path normalizing, was most of the time FS.open took for each file).
  const dirs = new Map([[root, FS.lookupPath(root, { follow: true }).node]]);
  const directory = (dir) => {
    let node = dirs.get(dir);
    if (node !== undefined) return node;
    const cut = dir.lastIndexOf("/");
    const parent = directory(dir.slice(0, cut));
    node = child(parent, dir.slice(cut + 1));
    if (node === null) {
      node = FS.mkdir(dir, 0o777);
      made.push(dir);
    } else {
      const found = FS.lookupPath(dir, { follow: true });  // through a link or a mount point
      if (!(found.path + "/").startsWith(prefix)) throw new Error(`${dir} resolves to ${found.path}, outside ${root}`);
      node = found.node;
      if (!FS.isDir(node.mode)) throw new FS.ErrnoError(c.ENOTDIR);
    }
    dirs.set(dir, node);
    return node;
  };
  const removeAll = () => {
    for (let i = written.length - 1; i >= 0; i--) FS.unlink(written[i][0]);
    for (let i = made.length - 1; i >= 0; i--) FS.rmdir(made[i]);
  };
  // Security: the last gate before the file system, as model.records.path_problem (an oracle test
  // holds them equal): relative, "/"-separated, no empty, "." or ".." segment, no NUL, backslash or drive.
  const unsafe = paths.find((path) => path === "" || /[\0\\]/.test(path) || path.startsWith("/")
    || /^[A-Za-z]:/.test(path) || path.split("/").some((part) => part === "" || part === "." || part === ".."));
  if (unsafe !== undefined) {
    buffer.release();
    throw new Error(`refusing the unsafe path ${JSON.stringify(unsafe)}`);
  }
  let offset = start, target = root;
  try {
    const bytes = buffer.data;
    for (let i = 0; i < paths.length; i++) {
      target = prefix + paths[i];
      const cut = target.lastIndexOf("/"), name = target.slice(cut + 1), size = sizes[i];
      const parent = directory(target.slice(0, cut));
      // EEXIST for anything there, a link included (FS.mayCreate; for MEMFS without its lookup's throw).
      const refused = MEMFS && parent.mount.type === MEMFS
        ? (Object.hasOwn(parent.contents, name) ? c.EEXIST : FS.nodePermissions(parent, "wx"))
        : FS.mayCreate(parent, name);
      if (refused) throw new FS.ErrnoError(refused);
      const node = parent.node_ops.mknod(parent, name, c.fileMode, 0);
      written.push([target, node, offset, size]);
      if (!size) {
        // nothing to write
      } else if (MEMFS && node.stream_ops.write === MEMFS.stream_ops.write) {
        node.stream_ops.write({ node }, bytes, offset, size, 0, false);  // MEMFS copies the bytes
      } else {
        const stream = FS.open(node, c.O_WRONLY);
        try { FS.write(stream, bytes, offset, size, 0); } finally { FS.close(stream); }
      }
      offset += size;
    }
  } catch (error) {
    try {
      removeAll();
    } catch (again) {
      const message = `${target}: ${error.message || error}; removing what was written failed too (${errnoOf(again) ?? again})`;
      return { taken: false, halfWritten: message };
    }
    const code = errnoOf(error);
    if (code === c.EEXIST || code === c.ENOTDIR) return { taken: true };
    throw new Error(`${target}: ${code === null ? error.message || error : "errno " + code}`);
  } finally {
    buffer.release();
  }
  // Later (a native library failed): each file only while it is the one written, with its bytes.
  const undo = (again) => {
    const view = viewOf(again);
    const kept = [];
    try {
      for (let i = written.length - 1; i >= 0; i--) {
        const [target, node, at, size] = written[i];
        let now = null;
        try { now = FS.lookupPath(target, { follow: false }).node; } catch (error) { if (errnoOf(error) !== c.ENOENT) throw error; }
        if (now === null) continue;
        let same = now === node && FS.isFile(now.mode);
        if (same) {
          const held = FS.readFile(target), expected = view.data.subarray(at, at + size);
          same = held.length === size;
          for (let j = 0; same && j < size; j++) same = held[j] === expected[j];
        }
        if (same) FS.unlink(target);
        else kept.push(target.slice(prefix.length));
      }
      for (let i = made.length - 1; i >= 0; i--) {
        try { FS.rmdir(made[i]); } catch (error) {
          const code = errnoOf(error);
          if (code !== c.ENOTEMPTY && code !== c.ENOENT && code !== c.EEXIST) throw error;
        }
      }
    } catch (error) {
      throw new Error(errnoOf(error) === null ? error.message || String(error) : `errno ${errnoOf(error)}`);
    } finally {
      view.release();
    }
    return kept;
  };
  return { taken: false, undo };
}
""")

# (data, start) => the hex sha256 of data's bytes from ``start``: a string under Node (its
# crypto module hashes at once), a promise of one in a browser (crypto.subtle copies the
# bytes when called, so the view is released before the promise settles); null: neither.
_SHA256 = _with_view(r"""
(data, start) => {
  const buffer = viewOf(data);
  try {
    const view = buffer.data.subarray(start);
    const node = typeof process === "object" && typeof process.getBuiltinModule === "function"
      ? process.getBuiltinModule("node:crypto") : null;
    if (node) return node.createHash("sha256").update(view).digest("hex");
    if (!globalThis.crypto?.subtle) return null;
    return crypto.subtle.digest("SHA-256", view).then((digest) =>
      Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join(""));
  } finally {
    buffer.release();
  }
}
""")


class HalfWritten(OSError):
    """A write failed, and so did removing what the call had written: the root is left half-written."""


class Held:
    """Bytes where they were read: Python's, or (in Pyodide) a JavaScript ``Uint8Array`` from the
    store, which the sha256 and the writer read in place: 12 MB never copied into Python's memory."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data) if isinstance(self.data, (bytes, bytearray, memoryview)) else int(self.data.length)

    def slice(self, start: int, end: int) -> bytes:
        """A copy of the bytes from ``start`` to ``end``."""
        if isinstance(self.data, (bytes, bytearray, memoryview)):
            return bytes(self.data[start:end])
        return bytes(self.data.subarray(start, end).to_bytes())

    def find(self, byte: int, start: int) -> int:
        """Where ``byte`` is first at or after ``start``; -1: nowhere."""
        if isinstance(self.data, (bytes, bytearray)):
            return self.data.find(byte, start)
        if isinstance(self.data, memoryview):
            return bytes(self.data).find(byte, start)
        return int(self.data.indexOf(byte, start))


async def sha256_hex(data: Held | bytes, start: int = 0) -> str:
    """The hex sha256 of ``data[start:]``, by the host's hashing where there is one."""
    held = data if isinstance(data, Held) else Held(data)
    if sys.platform == "emscripten":
        try:
            digest = js_function(_SHA256)(held.data, start)
            if digest is not None and not isinstance(digest, str):
                digest = await digest
        except JsException:  # no crypto here after all (a sandbox): hashlib does it
            digest = None
        if digest is not None:
            return str(digest)
    from ..model.digests import sha256

    if not isinstance(held.data, (bytes, bytearray, memoryview)):
        return sha256(held.slice(start, len(held))).hexdigest()
    return sha256(memoryview(held.data)[start:]).hexdigest()


class Batch:
    """The files one :func:`write_new_files` call created, for :meth:`undo`."""

    def __init__(self, data: Any, undo: Callable[[Any], list[str]]) -> None:
        self._data: Any = data
        self._undo: Callable[[Any], list[str]] | None = undo

    def undo(self) -> list[str]:
        """Remove what the call made, except files changed since: their paths, sorted.
        Raises ``OSError`` when a removal fails."""
        if self._undo is None or self._data is None:
            raise RuntimeError("this batch was undone or kept already")
        undo, data, self._undo, self._data = self._undo, self._data, None, None
        return sorted(undo(data))

    def forget(self) -> None:
        """Keep the files: the undo data goes."""
        self._undo = self._data = None


def write_new_files(root: str, data: Held | bytes, files: Sequence[tuple[str, int]], start: int) -> Batch | None:
    """Create each ``(path, size)`` of ``files`` under ``root`` (a resolved directory), its
    bytes the next ``size`` of ``data`` from ``start``; None, with nothing left made, when
    one of them (or a parent) is taken. Raises ``OSError`` for anything else, having removed
    what it made (:class:`HalfWritten` when that failed too)."""
    held = data.data if isinstance(data, Held) else data
    if sys.platform == "emscripten":
        return _write_in_js(root, held, files, start)
    return _write_in_python(root, held, files, start)


def _write_in_js(root: str, data: Any, files: Sequence[tuple[str, int]], start: int) -> Batch | None:
    import js
    import pyodide_js
    from pyodide.ffi import to_js

    constants = {name: getattr(errno, name) for name in ("ENOENT", "EEXIST", "ENOTDIR", "ENOTEMPTY")}
    constants.update(O_WRONLY=os.O_WRONLY, fileMode=stat.S_IFREG | 0o666)  # what os.open(path, ..., 0o666) makes
    paths = [path for path, _ in files]
    if any("\0" in path for path in paths):  # the separator below; never in a safe path
        raise PermissionError(errno.EPERM, "refusing an unsafe path (it holds a NUL)")
    try:
        outcome = js_function(_WRITE)(
            pyodide_js.FS, to_js(constants, dict_converter=js.Object.fromEntries), root, data,
            "\0".join(paths), ",".join(str(size) for _, size in files), start,
        )
    except JsException as exc:
        raise OSError(f"writing the restored files under {root!r} failed: {exc}") from exc
    if outcome.taken:
        return None
    if getattr(outcome, "halfWritten", None):
        raise HalfWritten(f"writing the restored files under {root!r} failed: {outcome.halfWritten}")
    undo_in_js = outcome.undo

    def undo(again: Any) -> list[str]:
        try:
            return list(undo_in_js(again).to_py())
        except JsException as exc:
            raise OSError(f"removing the files restored under {root!r} failed: {exc}") from exc

    return Batch(data, undo)


def _write_in_python(root: str, data: bytes, files: Sequence[tuple[str, int]], start: int) -> Batch | None:
    from ..model.records import path_problem  # not in Pyodide: it loads hashlib and csv (~16 ms)

    for path, _ in files:
        problem = path_problem(path)
        if problem is not None:  # Security: the last gate before the file system
            raise PermissionError(errno.EPERM, f"refusing the unsafe path {path!r} ({problem})", path)
    view = memoryview(data)
    made: list[str] = []
    written: list[tuple[str, tuple[int, int], int, int]] = []
    known = {root}
    prefix = os.path.join(root, "")

    def directory(path: str) -> None:
        if path in known:
            return
        if not os.path.lexists(path):
            directory(os.path.dirname(path))
            os.mkdir(path)
            made.append(path)
        elif not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, "a parent directory is a file", path)
        elif not os.path.join(os.path.realpath(path), "").startswith(prefix):
            raise PermissionError(errno.EPERM, f"{path!r} resolves outside {root!r}", path)
        known.add(path)

    def remove_all() -> None:
        for target, _, _, _ in reversed(written):
            os.unlink(target)
        for path in reversed(made):
            os.rmdir(path)

    offset = start
    try:
        for path, size in files:
            target = prefix + path
            directory(os.path.dirname(target))
            fd = os.open(target, _CREATE_NEW, 0o666)
            try:
                info = os.fstat(fd)
                written.append((target, (info.st_dev, info.st_ino), offset, size))
                piece = view[offset:offset + size]
                while piece:
                    piece = piece[os.write(fd, piece):]
            finally:
                os.close(fd)
            offset += size
    except OSError as exc:
        try:
            remove_all()
        except OSError as again:
            raise HalfWritten(f"{exc}; removing what was written failed too ({again})") from exc
        if exc.errno in _TAKEN:
            return None
        raise

    def undo(again: bytes) -> list[str]:
        kept = []
        for target, identity, at, size in reversed(written):
            try:
                info = os.lstat(target)
            except FileNotFoundError:
                continue
            same = (info.st_dev, info.st_ino) == identity and stat.S_ISREG(info.st_mode)
            if same:
                with open(target, "rb") as stream:
                    same = stream.read(size + 1) == again[at:at + size]
            if same:
                os.unlink(target)
            else:
                kept.append(target[len(prefix):])
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    raise
        return kept

    return Batch(data, undo)

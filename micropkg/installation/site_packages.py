"""Where installed files go, behind one small base class, with rollback.

A :class:`Destination` is a site-packages directory seen through paths
relative to its root (``"demo/__init__.py"``). Reads work at any time;
changes happen inside a transaction, and :meth:`~Destination.rollback` puts
back exactly what was there before::

    with destination.transaction():
        destination.remove("old/__init__.py")
        destination.write("demo/__init__.py", b"...")
    # an exception inside the block: both changes are undone, then it propagates

:class:`SitePackages` is the real filesystem (Emscripten's in a browser);
:class:`MemoryDestination` is a dict, for tests.

Every path goes through :func:`~._records.path_problem` here again, though
the wheel and RECORD were already checked: it is the last point before the
filesystem. Failures are ``OSError``; the install and uninstall code re-raise
them as ``InstallError`` / ``UninstallError`` naming the distribution.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

from ..model.records import path_problem

__all__ = ["Destination", "SitePackages", "MemoryDestination"]

# Security: create, never open what is there. O_EXCL fails on an existing file
# and on a symlink, so a planted link cannot redirect a write; O_NOFOLLOW says
# the same to file systems (Emscripten's) that resolve links before O_EXCL.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class Destination:
    """Files under one root. Subclasses implement the underscored methods.

    Paths are relative and ``/``-separated; ``""`` is the root itself (only
    for :meth:`is_dir` and :meth:`list_dir`).
    """

    root: PurePath  # where the destination is: for messages and InstalledDistribution

    def __init__(self) -> None:
        self._active = False

    # -- reads ------------------------------------------------------------
    def read(self, path: str) -> bytes:
        return self._read(self._checked(path))

    def exists(self, path: str) -> bool:
        """Whether anything (file, directory, link) is at ``path``."""
        return self._exists(self._checked(path))

    def is_dir(self, path: str) -> bool:
        return self._is_dir(self._checked(path, root_ok=True))

    def list_dir(self, path: str = "") -> list[str]:
        """Sorted names in the directory ``path``."""
        return self._list_dir(self._checked(path, root_ok=True))

    # -- changes, inside a transaction --------------------------------------
    def write(self, path: str, data: bytes) -> None:
        """Create or replace the file ``path``, creating its parent directories."""
        self._require_transaction("write")
        self._write(self._checked(path), data)

    def remove(self, path: str) -> None:
        """Remove the file (or link) ``path``."""
        self._require_transaction("remove")
        self._remove(self._checked(path))

    def remove_dir(self, path: str) -> None:
        """Remove the empty directory ``path``."""
        self._require_transaction("remove_dir")
        self._remove_dir(self._checked(path))

    # -- transaction --------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._active

    def begin(self) -> None:
        if self._active:
            raise RuntimeError(f"{self!r}: a transaction is already open")
        self._begin()
        self._active = True

    def commit(self) -> None:
        """Keep the changes. Raises ``OSError`` if the undo data cannot be discarded."""
        self._require_transaction("commit")
        self._active = False
        self._commit()

    def rollback(self) -> None:
        """Undo every change since :meth:`begin`. Raises ``OSError`` if some could not be undone."""
        self._require_transaction("rollback")
        self._active = False
        self._rollback()

    @contextmanager
    def transaction(self) -> Iterator[Destination]:
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def _require_transaction(self, operation: str) -> None:
        if not self._active:
            raise RuntimeError(f"{self!r}: {operation}() outside a transaction; call begin() first")

    def _checked(self, path: str, *, root_ok: bool = False) -> str:
        if root_ok and path == "":
            return path
        problem = path_problem(path)
        if problem is not None:
            # Security: defence in depth; callers already check, this is the last gate.
            raise PermissionError(errno.EPERM, f"refusing an unsafe path ({problem})", path)
        return path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    # -- for subclasses -----------------------------------------------------
    def _read(self, path: str) -> bytes:
        raise NotImplementedError

    def _exists(self, path: str) -> bool:
        raise NotImplementedError

    def _is_dir(self, path: str) -> bool:
        raise NotImplementedError

    def _list_dir(self, path: str) -> list[str]:
        raise NotImplementedError

    def _write(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def _remove(self, path: str) -> None:
        raise NotImplementedError

    def _remove_dir(self, path: str) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class _Undo:
    description: str
    action: Callable[[], None]


class SitePackages(Destination):
    """A real directory. Changes are journaled; replaced or removed files are
    moved aside (not copied) into a hidden directory under the root, so a
    rollback renames them back with their bytes, mode and timestamps intact.
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root).resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(
                errno.ENOTDIR, "site-packages is not a directory", str(self.root)
            )
        self._root = str(self.root)
        self._root_prefix = os.path.join(self._root, "")
        self._forget_checks()
        self._journal: list[_Undo] = []
        self._stash_dir: Path | None = None

    def _path(self, path: str, *, follow: bool) -> Path:
        return Path(self._target(path, follow=follow)) if path else self.root

    def _target(self, path: str, *, follow: bool) -> str:
        target = os.path.join(self._root, *path.split("/"))
        # Security: the path is lexically safe, but a symlink inside site-packages
        # could still lead out of it. Changes never follow the last component (they
        # rename or create it), so its parent directory must resolve under the root;
        # reads follow links, so a link as the last component must resolve there too.
        self._require_inside(os.path.dirname(target), path)
        if follow and os.path.islink(target):
            self._require_inside(target, path, remember=False)
        return target

    def _require_inside(self, location: str, path: str, *, remember: bool = True) -> None:
        if location in self._inside:
            return
        resolved = os.path.realpath(location)
        if resolved != self._root and not resolved.startswith(self._root_prefix):
            raise PermissionError(
                errno.EPERM,
                f"refusing a path that resolves to {resolved!r}, outside {self._root!r}",
                path,
            )
        # Remembered until the transaction ends: micropkg creates real directories
        # only, never links, so a directory found inside stays inside meanwhile.
        # (Resolving each parent per file cost ~0.7 s for 23 packages in Pyodide.)
        if remember:
            self._inside.add(location)

    def _read(self, path: str) -> bytes:
        return self._path(path, follow=True).read_bytes()

    def _exists(self, path: str) -> bool:
        return os.path.lexists(self._path(path, follow=False))

    def _is_dir(self, path: str) -> bool:
        return self._path(path, follow=True).is_dir()

    def _list_dir(self, path: str) -> list[str]:
        return sorted(os.listdir(self._path(path, follow=True)))

    def _write(self, path: str, data: bytes) -> None:
        # Strings, not Paths, no stat before the write, and a bare descriptor
        # rather than a file object: this runs once per file of every wheel
        # (1,800 files for 23 packages), where pathlib, an lexists() per file
        # and open()'s buffered object cost about half a second in Pyodide.
        target = self._target(path, follow=False)
        self._make_parents(path)
        try:
            fd = os.open(target, _CREATE_NEW, 0o666)
        except FileExistsError:
            # Something is there: a directory is an error; a file or link is moved aside.
            if os.path.isdir(target) and not os.path.islink(target):
                raise IsADirectoryError(
                    errno.EISDIR, "cannot replace a directory with a file", path
                ) from None
            self._stash(path, Path(target))
            # O_EXCL again: anything there now (a link planted in between) is
            # an error, never something to write through.
            fd = os.open(target, _CREATE_NEW, 0o666)
        self._journal.append(
            _Undo(f"remove new file {path!r}", lambda: _unlink_if_there(target))
        )
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def _remove(self, path: str) -> None:
        target = self._path(path, follow=False)
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
        if not os.path.lexists(target):
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        self._stash(path, target)

    def _remove_dir(self, path: str) -> None:
        target = self._path(path, follow=False)
        mode = target.stat().st_mode & 0o7777
        target.rmdir()
        self._made.discard(str(target))
        self._journal.append(_Undo(f"recreate directory {path!r}", lambda: _mkdir(target, mode)))

    def _make_parents(self, path: str) -> None:
        segments = path.split("/")[:-1]
        if not segments or os.path.join(self._root, *segments) in self._made:
            return
        current = self._root
        for segment in segments:
            current = os.path.join(current, segment)
            if current in self._made or os.path.isdir(current):
                self._made.add(current)
                continue
            if os.path.lexists(current):
                raise NotADirectoryError(
                    errno.ENOTDIR, "a parent directory is a file", current
                )
            os.mkdir(current)
            self._made.add(current)
            self._journal.append(_Undo(f"remove new directory {current!r}", functools.partial(os.rmdir, current)))

    def _stash(self, path: str, target: Path) -> None:
        if self._stash_dir is None:
            # Under the root, not in /tmp: a rename cannot cross filesystems.
            self._stash_dir = Path(tempfile.mkdtemp(prefix=".micropkg-rollback-", dir=self.root))
        saved = self._stash_dir / str(len(self._journal))
        os.rename(target, saved)
        self._journal.append(_Undo(f"restore {path!r}", lambda: os.rename(saved, target)))

    def _begin(self) -> None:
        self._journal = []
        self._forget_checks()

    def _forget_checks(self) -> None:
        # What was checked before (or during) a transaction is not trusted after it.
        self._inside: set[str] = set()  # directories known to resolve under the root
        self._made: set[str] = set()  # directories known to exist, this transaction

    def _commit(self) -> None:
        self._forget_checks()
        self._journal = []
        stash, self._stash_dir = self._stash_dir, None
        if stash is not None:
            shutil.rmtree(stash)

    def _rollback(self) -> None:
        self._forget_checks()
        journal, self._journal = self._journal, []
        failures: list[tuple[str, OSError]] = []
        # Keep going after a failure: every other undo still brings the tree closer to before.
        for undo in reversed(journal):
            try:
                undo.action()
            except OSError as exc:
                failures.append((undo.description, exc))
        stash, self._stash_dir = self._stash_dir, None
        if stash is not None:
            try:
                stash.rmdir()  # empty unless a restore failed: then it holds the old files
            except OSError as exc:
                failures.append((f"remove {str(stash)!r}", exc))
        if failures:
            first = failures[0][1]
            for description, exc in failures:
                first.add_note(f"rollback could not {description}: {exc}")
            raise first


def _unlink_if_there(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _mkdir(path: Path, mode: int) -> None:
    path.mkdir()
    path.chmod(mode)  # mkdir's mode is filtered by the umask; restore the exact one


class MemoryDestination(Destination):
    """Files in a dict, for tests. Directories exist while they hold a file."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self.root = PurePosixPath("/<memory>")
        self.files: dict[str, bytes] = dict(files or {})
        self._snapshot: dict[str, bytes] = {}

    def _read(self, path: str) -> bytes:
        if path not in self.files:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        return self.files[path]

    def _exists(self, path: str) -> bool:
        return path in self.files or self._is_dir(path)

    def _is_dir(self, path: str) -> bool:
        prefix = f"{path}/" if path else ""
        return any(name.startswith(prefix) for name in self.files)

    def _list_dir(self, path: str) -> list[str]:
        prefix = f"{path}/" if path else ""
        return sorted(
            {name[len(prefix) :].split("/")[0] for name in self.files if name.startswith(prefix)}
        )

    def _write(self, path: str, data: bytes) -> None:
        if self._is_dir(path):
            raise IsADirectoryError(errno.EISDIR, "cannot replace a directory with a file", path)
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self.files:
                raise NotADirectoryError(errno.ENOTDIR, "a parent directory is a file", path)
        self.files[path] = bytes(data)

    def _remove(self, path: str) -> None:
        self._read(path)
        del self.files[path]

    def _remove_dir(self, path: str) -> None:
        if self._is_dir(path):
            raise OSError(errno.ENOTEMPTY, "directory not empty", path)
        raise FileNotFoundError(errno.ENOENT, "no such directory", path)

    def _begin(self) -> None:
        self._snapshot = dict(self.files)

    def _commit(self) -> None:
        self._snapshot = {}

    def _rollback(self) -> None:
        self.files, self._snapshot = self._snapshot, {}

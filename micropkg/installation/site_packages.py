"""Site-packages on the real file system: the :class:`Destination` installs write to.

Writes create new files only (never opening what is there), and a transaction
keeps what it replaced aside so that a rollback restores it exactly.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .destination import Destination

__all__ = ["SitePackages"]

# Security: create, never open what is there. O_EXCL fails on an existing file
# and on a symlink, so a planted link cannot redirect a write; O_NOFOLLOW says
# the same to file systems (Emscripten's) that resolve links before O_EXCL.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


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


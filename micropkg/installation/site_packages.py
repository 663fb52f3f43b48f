"""Site-packages on the real file system: the :class:`Destination` installs write to.

Writes create new files only (never opening what is there), and a transaction
keeps what it replaced aside so that a rollback restores it exactly.

Its journal says what each change was, so a rollback can tell its own work
from another transaction's (see :mod:`~micropkg.installation.destination`):
a file it wrote is its own while it is the same file (device and inode, as
created) holding the same bytes. Both are checked: by bytes alone, another
install of the same wheel -- the same dependency, written by two installs --
would look like this one's and be deleted; by inode alone, a number a file
system reuses after a delete could be taken for this one's file.
"""

from __future__ import annotations

import base64
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from ..model import digests
from ..model.records import Hash
from ..model.wheel_member import StreamedMember
from ..value import MutableValue
from .destination import Destination

__all__ = ["SitePackages"]

# Security: create, never open what is there. O_EXCL fails on an existing file
# and on a symlink, so a planted link cannot redirect a write; O_NOFOLLOW says
# the same to file systems (Emscripten's) that resolve links before O_EXCL.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


# Paths join by concatenation where the separator is the paths' own.
_SLASH = os.sep == "/"

# Bytes compared per read when a rollback checks that a file is still the one it wrote.
_COMPARE_CHUNK = 1 << 20


class _Change(MutableValue):
    """One journal entry: what a change did, and what undoing it needs."""

    __slots__ = ("kind", "path", "target", "project", "data", "identity", "complete", "saved", "own", "mode")

    def __init__(
        self,
        kind: str,  # "wrote" a new file, "moved" one aside, "made" or "removed" a directory
        path: str,  # relative to the root, for messages
        target: str,  # absolute
        project: str | None,  # Destination.project() when it was made
        data: bytes | StreamedMember = b"",  # "wrote": the bytes written (a big member: as it was streamed)
        identity: tuple[int, int] | None = None,  # "wrote": (st_dev, st_ino) of the file created
        complete: bool = False,  # "wrote": all of data reached the file
        saved: str | None = None,  # "moved": where it waits; "wrote": where a later remove() moved it
        own: _Change | None = None,  # "moved": the "wrote" entry of the file moved, if it was this transaction's
        mode: int = 0,  # "removed": the directory's mode
    ) -> None:
        self.kind = kind
        self.path = path
        self.target = target
        self.project = project
        self.data = data
        self.identity = identity
        self.complete = complete
        self.saved = saved
        self.own = own
        self.mode = mode


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
        self._journal: list[_Change] = []
        self._written: dict[str, _Change] = {}  # target -> the "wrote" entry of the file there now
        self._stash_dir: Path | None = None

    def _path(self, path: str, *, follow: bool) -> Path:
        return Path(self._target(path, follow=follow)) if path else Path(self.root)

    def _target(self, path: str, *, follow: bool) -> str:
        # The path is checked (Destination._checked): relative, "/"-separated, no "." or "..".
        target = self._root_prefix + path if _SLASH else os.path.join(self._root, *path.split("/"))
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

    def _write(self, path: str, data: bytes | StreamedMember) -> None:
        # Strings, not Paths, no stat before the write, and a bare descriptor
        # rather than a file object: this runs once per file of every wheel
        # (1,800 files for 23 packages), where pathlib, an lexists() per file
        # and open()'s buffered object cost about half a second in Pyodide.
        head, _, name = path.rpartition("/")
        parent = self._parents.get(head)
        if parent is None:
            parent = self._parents[head] = self._make_parents(head, path)
        target = os.path.join(parent, name)
        try:
            fd = os.open(target, _CREATE_NEW, 0o666)
        except FileExistsError:
            # Something is there: a directory is an error; a file or link is moved aside.
            if os.path.isdir(target) and not os.path.islink(target):
                raise IsADirectoryError(
                    errno.EISDIR, "cannot replace a directory with a file", path
                ) from None
            self._stash(path, target)
            # O_EXCL again: anything there now (a link planted in between) is
            # an error, never something to write through.
            fd = os.open(target, _CREATE_NEW, 0o666)
        # A reference, not a copy: the caller's bytes (a wheel's member) live as long anyway.
        if not isinstance(data, (bytes, StreamedMember)):
            data = bytes(data)
        try:
            info = os.fstat(fd)
        except OSError:
            os.close(fd)
            os.unlink(target)  # created just now, with O_EXCL: this transaction's own
            raise
        change = _Change("wrote", path, target, self._project, data=data, identity=(info.st_dev, info.st_ino))
        self._journal.append(change)
        self._written[target] = change
        try:
            if isinstance(data, StreamedMember):
                # Sized up front: Emscripten's in-memory files grow by 1/8 at a time past
                # 1 MiB, copying the whole file each time (writing 120 MiB took 1.3 s more).
                os.ftruncate(fd, data.size)
            for piece in data.pieces() if isinstance(data, StreamedMember) else (data,):
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view):]
            change.complete = True
        finally:
            os.close(fd)

    def _remove(self, path: str) -> None:
        target = self._path(path, follow=False)
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
        if not os.path.lexists(target):
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        self._stash(path, str(target))

    def _is_link(self, path: str) -> bool:
        return os.path.islink(self._target(path, follow=False))

    def _remove_dir(self, path: str) -> None:
        target = self._path(path, follow=False)
        mode = target.stat().st_mode & 0o7777
        target.rmdir()
        self._made.discard(str(target))
        self._parents.pop(path, None)  # made again if a file is written there later
        self._journal.append(_Change("removed", path, str(target), self._project, mode=mode))

    def _make_parents(self, directory: str, path: str) -> str:
        """The directory ``directory`` (relative; ``path`` is the file to write there, for
        errors) as an absolute path: made where missing, and resolving under the root.

        Walked down from the root, each step known to stay inside: a real directory (not a
        link) in a directory inside is inside, and so is one made here. Only a link on the
        way is resolved (``realpath`` takes a system call per component of the whole path):
        before anything is made under it, so nothing is ever made outside the root.
        """
        self._require_inside(self._root, path)
        current = self._root
        for segment in directory.split("/") if directory else ():
            above, current = current, os.path.join(current, segment)
            if current in self._made and current in self._inside:
                continue
            if above not in self._inside:  # a link on the way: where does it lead?
                self._require_inside(above, path)
            if current in self._made or os.path.isdir(current):
                self._made.add(current)
                if current not in self._inside and not os.path.islink(current):
                    self._inside.add(current)
                continue
            if os.path.lexists(current):
                raise NotADirectoryError(
                    errno.ENOTDIR, "a parent directory is a file", current
                )
            os.mkdir(current)  # never through a link: the directory it is made in is inside
            self._made.add(current)
            self._inside.add(current)
            relative = os.path.relpath(current, self._root).replace(os.sep, "/")
            self._journal.append(_Change("made", relative, current, self._project))
        self._require_inside(current, path)
        return current

    def _stash(self, path: str, target: str) -> None:
        if self._stash_dir is None:
            # Under the root, not in /tmp: a rename cannot cross filesystems.
            self._stash_dir = Path(tempfile.mkdtemp(prefix=".micropkg-rollback-", dir=self.root))
        saved = str(self._stash_dir / str(len(self._journal)))
        os.rename(target, saved)
        own = self._written.pop(target, None)  # a file this transaction wrote, removed again
        if own is not None:
            own.saved = saved
        self._journal.append(_Change("moved", path, target, self._project, saved=saved, own=own))

    def _begin(self) -> None:
        self._journal = []
        self._written = {}
        self._forget_checks()

    def _forget_checks(self) -> None:
        # What was checked before (or during) a transaction is not trusted after it.
        self._inside: set[str] = set()  # directories known to resolve under the root
        self._made: set[str] = set()  # directories known to exist, this transaction
        # Parent directories of the files written, relative -> absolute: both of the above
        # (a wheel's 1,800 files share some 130 directories).
        self._parents: dict[str, str] = {}

    def _commit(self) -> None:
        self._forget_checks()
        self._journal, self._written = [], {}
        stash, self._stash_dir = self._stash_dir, None
        if stash is not None:
            shutil.rmtree(stash)

    def _rollback(self) -> list[str]:
        self._forget_checks()
        journal, self._journal, self._written = self._journal, [], {}
        ours = {id(change): self._still_ours(change) for change in journal if change.kind == "wrote"}
        # What this transaction's own files at each place are now (not those a later remove() moved).
        here = {c.target: c for c in journal if c.kind == "wrote" and c.saved is None}

        def occupied(target: str) -> bool:  # by something that is not this transaction's own file
            return os.path.lexists(target) and not (target in here and ours[id(here[target])])

        # A project whose paths another transaction has taken over gets none of its old files back
        # (changes made outside Destination.project() are judged path by path).
        taken = {
            _owner(change) for change in journal
            if (change.kind == "wrote" and not ours[id(change)]) or (change.kind == "moved" and occupied(change.target))
        }
        kept: list[str] = []
        failures: list[tuple[str, OSError]] = []
        # Keep going after a failure: every other undo still brings the tree closer to before.
        for change in reversed(journal):
            try:
                self._undo(change, ours, taken, kept)
            except OSError as exc:
                failures.append((f"undo {change.kind} {change.path!r}", exc))
        stash, self._stash_dir = self._stash_dir, None
        if stash is not None:
            try:
                stash.rmdir()  # empty unless a restore failed: then it holds the old files
            except OSError as exc:
                failures.append((f"remove {str(stash)!r}", exc))
        if failures:
            first = failures[0][1]
            for description, problem in failures:
                first.add_note(f"rollback could not {description}: {problem}")
            raise first
        return sorted(set(kept))

    def _undo(self, change: _Change, ours: dict[int, bool], taken: set[str], kept: list[str]) -> None:
        if change.kind == "wrote":
            if change.saved is None:  # where it was written (a later remove() moved it: see "moved")
                if ours[id(change)]:
                    os.unlink(change.target)
                elif os.path.lexists(change.target):
                    kept.append(change.path)
        elif change.kind == "moved":
            assert change.saved is not None
            own = change.own
            # This transaction's own file comes back for the "wrote" undo to remove; another's
            # file (the version replaced) only if its project is intact and its place is free.
            free = not os.path.lexists(change.target)
            if free and (ours[id(own)] if own is not None else _owner(change) not in taken):
                os.rename(change.saved, change.target)
                if own is not None:
                    own.saved = None
            else:
                if not free:
                    kept.append(change.path)
                os.unlink(change.saved)  # a version another transaction has replaced since
        elif change.kind == "made":
            try:
                os.rmdir(change.target)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise  # not empty: another transaction's files are in it, and stay
        elif change.kind == "removed" and _owner(change) not in taken and not os.path.lexists(change.target):
            _mkdir(Path(change.target), change.mode)

    @staticmethod
    def _still_ours(change: _Change) -> bool:
        """Whether the file ``change`` wrote is still that file with those bytes (see the module docstring)."""
        where = change.saved or change.target
        try:
            info = os.lstat(where)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != change.identity:
            return False
        if not change.complete:
            return True  # the write itself failed: a part of the bytes, in this transaction's own file
        if info.st_size != len(change.data):
            return False
        with open(where, "rb") as stream:
            if isinstance(change.data, StreamedMember):  # not held: its sha256, taken while verified
                digest = digests.sha256()
                while piece := stream.read(_COMPARE_CHUNK):
                    digest.update(piece)
                return change.data.sha256 == Hash("sha256", _b64(digest.digest()))
            view = memoryview(change.data)
            for start in range(0, len(view), _COMPARE_CHUNK):
                if stream.read(_COMPARE_CHUNK) != view[start:start + _COMPARE_CHUNK]:
                    return False
        return True


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _owner(change: _Change) -> str:
    """What a rollback restores as a whole: the change's project, or else its path alone."""
    return f"project {change.project}" if change.project is not None else f"path {change.target}"


def _mkdir(path: Path, mode: int) -> None:
    path.mkdir()
    path.chmod(mode)  # mkdir's mode is filtered by the umask; restore the exact one

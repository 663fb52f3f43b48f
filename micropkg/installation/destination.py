"""Where installed files go, behind one small base class, with rollback.

A :class:`Destination` is a site-packages directory seen through paths
relative to its root (``"demo/__init__.py"``). Reads work at any time;
changes happen inside a transaction, and :meth:`~Destination.rollback` undoes
them::

    with destination.transaction():
        destination.remove("old/__init__.py")
        destination.write("demo/__init__.py", b"...")
    # an exception inside the block: both changes are undone, then it propagates

A rollback undoes its own work and nothing else. Another transaction on the
same directory (another install while this one waits for native code to
load) may have changed some of the same paths meanwhile; what it did stays.
A file this transaction wrote is removed only while it is still that file
with those bytes, and what it moved aside comes back only where nothing else
has been put since. Changes made inside :meth:`~Destination.project` are one
project's: if another transaction has taken over any path of that project
(replaced or removed a file this one wrote, or written where this one's
replaced version would come back), none of what the project replaced comes
back either -- the other transaction's version of the project is the one
installed now, and restoring half of the older one beside it would break
both. :meth:`~Destination.rollback` returns the paths it left as others made
them (normally none).

:class:`~micropkg.installation.site_packages.SitePackages` is the real file
system (Emscripten's in a browser); :class:`MemoryDestination` is a dict, for
tests.

Every path goes through :func:`~micropkg.model.records.path_problem` here
again, though the wheel and RECORD were already checked: it is the last
point before the file system. Failures are ``OSError``; the install and
uninstall code re-raise them as ``InstallError`` / ``UninstallError`` naming
the distribution.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePath, PurePosixPath

from ..model.records import path_problem
from ..model.wheel_member import StreamedMember

__all__ = ["Destination", "MemoryDestination", "rolled_back"]


def rolled_back(root: PurePath, kept: Sequence[str]) -> str:
    """The sentence an error ends with once a rollback has worked, ``kept`` as it returned."""
    said = f"Nothing was installed: every change to {str(root)!r} was rolled back"
    if not kept:
        return said + "."
    shown = ", ".join(repr(path) for path in kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
    return (
        f"{said}, except {len(kept)} path(s) another install has changed since ({shown}),"
        " which were left as it made them."
    )


class Destination:
    """Files under one root. Subclasses implement the underscored methods.

    Paths are relative and ``/``-separated; ``""`` is the root itself (only
    for :meth:`is_dir` and :meth:`list_dir`).
    """

    root: PurePath  # where the destination is: for messages and InstalledDistribution

    def __init__(self) -> None:
        self._active = False
        self._project: str | None = None  # see project()

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

    def is_link(self, path: str) -> bool:
        """Whether ``path`` is a symbolic link (which :meth:`remove` removes, never following it)."""
        return self._is_link(self._checked(path))

    # -- changes, inside a transaction --------------------------------------
    def write(self, path: str, data: bytes | StreamedMember) -> None:
        """Create or replace the file ``path``, creating its parent directories
        (a :class:`StreamedMember` is written a piece at a time)."""
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

    def rollback(self) -> list[str]:
        """Undo every change since :meth:`begin` that is still this transaction's (see the
        module docstring); return the paths left as another transaction made them.
        Raises ``OSError`` if some could not be undone."""
        self._require_transaction("rollback")
        self._active = False
        self._project = None
        return self._rollback()

    @contextmanager
    def project(self, name: str) -> Iterator[None]:
        """The changes made inside are project ``name``'s, for :meth:`rollback` (see the module docstring)."""
        previous, self._project = self._project, name
        try:
            yield
        finally:
            self._project = previous

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

    def _is_link(self, path: str) -> bool:
        raise NotImplementedError

    def _write(self, path: str, data: bytes | StreamedMember) -> None:
        raise NotImplementedError

    def _remove(self, path: str) -> None:
        raise NotImplementedError

    def _remove_dir(self, path: str) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> list[str]:
        raise NotImplementedError


class MemoryDestination(Destination):
    """Files in a dict, for tests. Directories exist while they hold a file.

    One transaction at a time, so a rollback puts the whole dict back.
    """

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

    def _is_link(self, path: str) -> bool:
        return False

    def _write(self, path: str, data: bytes | StreamedMember) -> None:
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

    def _rollback(self) -> list[str]:
        self.files, self._snapshot = self._snapshot, {}
        return []

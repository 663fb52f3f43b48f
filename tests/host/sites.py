"""What the install tests share: a site-packages tree's :func:`snapshot`, a
:class:`FailingSitePackages` that breaks on cue, and :func:`wheel`, a
verified wheel to install (built by :mod:`tests.harness.wheels`).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from micropkg.installation.site_packages import SitePackages
from micropkg.model.wheel import Wheel
from tests.harness.wheels import make_wheel

__all__ = ["FailingSitePackages", "snapshot", "wheel"]


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under ``root``: each file's bytes and mode, each directory's
    mode, each link's target. Equal snapshots mean byte-for-byte equal trees."""
    tree: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                tree[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                tree[key] = ("dir", stat.S_IMODE(mode))
            else:
                tree[key] = ("file", path.read_bytes(), stat.S_IMODE(mode))
    return tree


class FailingSitePackages(SitePackages):
    """A site-packages whose ``fail_at``-th write or removal fails (1-based).

    A failing write first writes half its bytes, like a full disk would.
    """

    def __init__(self, root: Path, fail_at: int, operation: str = "write") -> None:
        super().__init__(root)
        self.fail_at = fail_at
        self.operation = operation
        self.count = 0

    def _fails(self, operation: str) -> bool:
        if operation == self.operation:
            self.count += 1
        return operation == self.operation and self.count == self.fail_at

    def _write(self, path: str, data: bytes) -> None:
        if self._fails("write"):
            super()._write(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "injected failure", path)
        super()._write(path, data)

    def _remove(self, path: str) -> None:
        if self._fails("remove"):
            raise OSError(errno.EACCES, "injected failure", path)
        super()._remove(path)


def wheel(name: str = "demo", version: str = "1.0", files: dict[str, bytes] | None = None) -> Wheel:
    """A verified :class:`~micropkg.model.wheel.Wheel` of a freshly made wheel.

    The names keep the project's spelling (``Demo.Pkg-1.0.dist-info``, only
    ``-`` becomes ``_``), as some tests install such wheels on purpose.
    """
    package = name.replace("-", "_")
    built = make_wheel(
        name,
        version,
        files=files if files is not None else {f"{package}/__init__.py": b"VALUE = 1\n"},
        dist_info=f"{package}-{version}.dist-info",
        metadata=f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode(),
        filename=f"{package}-{version}-py3-none-any.whl",
    )
    return Wheel.from_bytes(*built.file)

"""Carrying out a plan in the running Pyodide: download, verify, write, load.

The order is the safety argument: every wheel of the transaction is
downloaded and hash-checked, then opened and verified (paths, RECORD,
dist-info), and only then is anything written -- in one destination
transaction that rolls back on failure. Native libraries load last, when
every file they may link against is in place.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._catalog import Catalog
from ._core import install as write_wheels
from ._destination import SitePackages
from ._environment import get
from ._errors import InstallError
from ._resolver import Pin, Plan
from ._wheel import Wheel

__all__ = ["Installed", "download_and_verify", "forget_modules", "install_plan"]


@dataclass(frozen=True)
class Installed:
    name: str
    version: str
    filename: str
    source: str


async def download_and_verify(pins: Sequence[Pin], catalog: Catalog) -> list[Wheel]:
    """All wheels of the plan, downloaded concurrently and verified; nothing written yet."""
    blobs = await asyncio.gather(*(catalog.wheel(pin.candidate) for pin in pins))
    return [Wheel.from_bytes(pin.file.filename, blob) for pin, blob in zip(pins, blobs)]  # type: ignore[union-attr]


def _direct_url(pin: Pin) -> str | None:
    if pin.file is None or pin.source != pin.file.url:
        return None
    # PEP 610: record where a direct-reference install came from.
    return json.dumps({"url": pin.file.url, "archive_info": {}})


async def install_plan(
    plan: Plan,
    catalog: Catalog,
    root: Path,
    *,
    requested: Collection[str],
    load_dynlibs,
    dynlibs_to_load,
) -> list[Installed]:
    """Install what ``plan`` adds to the runtime; return what was installed."""
    pins = plan.to_install
    if not pins:
        return []
    wheels = await download_and_verify(pins, catalog)
    old = {pin.name: dist for pin in pins if (dist := get([root], pin.name)) is not None}
    replace = set(old)
    direct_urls = {pin.name: url for pin in pins if (url := _direct_url(pin)) is not None}
    written = write_wheels(
        wheels,
        SitePackages(root),
        installer="micropkg",
        requested=set(requested),
        direct_urls=direct_urls,
        replace=replace,
    )
    # Modules imported from the replaced versions must not linger in sys.modules.
    forget_modules(root, [f for dist in old.values() for f in dist.files])
    for wheel, paths in zip(wheels, written):
        try:
            await load_dynlibs(root, dynlibs_to_load(paths.dynlibs))
        except InstallError:
            raise
        except Exception as exc:  # the JS loader's own errors, with the wheel named
            raise InstallError(f"Loading native code of {wheel.filename} failed: {exc}") from exc
    return [
        Installed(pin.name, str(pin.version), pin.file.filename, pin.source)  # type: ignore[union-attr]
        for pin in pins
    ]



def forget_modules(root: Path, files: Collection[str]) -> list[str]:
    """Drop from ``sys.modules`` every module loaded from one of ``files``."""
    paths = {str((root / f).resolve()) for f in files}
    gone = [
        name for name, module in list(sys.modules.items())
        if (origin := getattr(module, "__file__", None)) and str(Path(origin).resolve()) in paths
    ]
    for name in gone:
        del sys.modules[name]
    return gone

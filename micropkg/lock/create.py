"""A lock written from a resolution: what ``python -m micropkg lock`` and ``freeze`` emit.

The lock's model (its packages, PEP 751's selection rules) lives in
:mod:`micropkg.model.lock`; this module turns a resolver's plan into one.
Direct-URL wheels that state no hash are downloaded once and hashed here.
"""

from __future__ import annotations

import hashlib

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from ..errors import LockError
from ..model.lock import (
    SECURE_HASHES,
    Lock,
    LockedPackage,
    LockedWheel,
    environment_marker,
)
from ..model.plan import Kept, Plan
from ..model.target import Target
from ..resolution.catalog import Catalog

__all__ = ["lock_plan"]


def _dependencies(plan: Plan) -> dict[str, list[str]]:
    # required_by holds "name version" for each parent (extras included), so
    # inverting it gives each pin's dependencies without re-reading metadata.
    children: dict[str, list[str]] = {pin.name: [] for pin in plan}
    for pin in plan:
        for parent in pin.required_by:
            name, _, _ = parent.partition(" ")
            if name in children and name != pin.name:
                children[name].append(pin.name)
    return {name: sorted(set(deps)) for name, deps in children.items()}


async def lock_plan(plan: Plan, catalog: Catalog, target: Target, *, created_by: str = "micropkg") -> Lock:
    """The lock for ``plan`` on ``target``. Direct-URL wheels without a stated hash
    are downloaded once (through ``catalog``) and hashed here."""
    dependencies = _dependencies(plan)
    packages = []
    for pin in plan:
        if isinstance(pin, Kept):
            raise LockError(
                f"Cannot lock {pin.name} {pin.version}: the plan keeps the installed copy, whose file"
                " is unknown. Resolve with reinstall=True to lock every file.",
                lock="<plan>",
                project=pin.name,
            )
        file = pin.file
        hashes = {k: v for k, v in file.hashes.items() if k in SECURE_HASHES}
        size = file.size
        if not hashes:
            data = await catalog.wheel(pin.candidate)
            hashes = {"sha256": hashlib.sha256(data).hexdigest()}
            size = len(data)
        locked = LockedWheel(file.filename, file.url, None, hashes, size, file.upload_time)
        packages.append(
            LockedPackage(
                name=pin.name,
                version=pin.version,
                # An sdist (built by micropkg when installed) is locked as PEP 751's [packages.sdist].
                wheels=(locked,) if file.is_wheel else (),
                sdist=None if file.is_wheel else locked,
                requires_python=SpecifierSet(file.requires_python) if file.requires_python else None,
                index=pin.source.index_url,
                dependencies=tuple(dependencies[pin.name]),
            )
        )
    major_minor = target.markers["python_version"]
    return Lock(
        packages=tuple(sorted(packages, key=lambda p: p.name)),
        source="<plan>",
        environments=(Marker(environment_marker(target)),),
        requires_python=SpecifierSet(f"=={major_minor}.*"),
        created_by=created_by,
        target=target,
    )

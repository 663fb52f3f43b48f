"""The real PyPI, as the harness needs it: look files up, download them verified.

Only the legacy JSON API (``/pypi/<name>/json``) is used: it lists every
release's files with their sha256 in one answer. Its per-version form
(``/pypi/<name>/<version>/json``) answers 404 from this network, so it is
never used. Every download is checked against the sha256 PyPI states before
it is moved into place, so a cache directory never holds a bad file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PyPIFile", "release_files", "download"]

PYPI_URL = os.environ.get("MICROPKG_TEST_PYPI_URL", "https://pypi.org")
_TIMEOUT = 60
_ATTEMPTS = 3
_USER_AGENT = "micropkg-test-harness (+https://github.com/micropkg)"


@dataclass(frozen=True)
class PyPIFile:
    """One file of one release, as PyPI's JSON API describes it."""

    project: str
    version: str
    filename: str
    url: str
    sha256: str
    size: int
    packagetype: str  # "bdist_wheel" or "sdist"


def _get(url: str) -> bytes:
    """GET ``url``, retrying transient network failures (CI is on a shared link)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError:
            raise  # a real answer (404, 403...): retrying will not change it
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == _ATTEMPTS:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def release_files(project: str) -> list[PyPIFile]:
    """Every file of every release of ``project`` that PyPI lists."""
    api_url = f"{PYPI_URL}/pypi/{project}/json"
    document = json.loads(_get(api_url))
    files = []
    for version, entries in document["releases"].items():
        for entry in entries:
            files.append(
                PyPIFile(
                    project=project,
                    version=version,
                    filename=entry["filename"],
                    # Absolute on pypi.org; relative behind some mirrors (this
                    # network's answers for some projects), so resolve it.
                    url=urllib.parse.urljoin(api_url, entry["url"]),
                    sha256=entry["digests"]["sha256"],
                    size=entry["size"],
                    packagetype=entry["packagetype"],
                )
            )
    return files


def download(file: PyPIFile, directory: Path) -> Path:
    """Download ``file`` into ``directory`` unless it is already there.

    A file already present is trusted: it only got there through this
    function, which checks the hash before the final rename.
    """
    target = directory / file.filename
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    data = _get(file.url)
    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        raise RuntimeError(
            f"{file.url}: sha256 is {digest}, PyPI states {file.sha256}; not caching it"
        )
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".download-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    return target

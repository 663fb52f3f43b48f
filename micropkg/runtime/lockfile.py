"""The running Pyodide's own ``pyodide-lock.json``, read one way for every reader.

``freeze`` (which writes file names relative to the runtime's packages) and
``install`` (which reads the distribution's files) must agree on the base URL
that relative ``file_name`` values resolve against; :func:`package_base_url`
is that one rule.
"""

from __future__ import annotations

from .detect import in_browser

__all__ = ["package_base_url", "runtime_distribution", "runtime_lockfile"]


def package_base_url(package_base: object, index_url: object) -> str | None:
    """Where a Pyodide resolves its lockfile's relative ``file_name`` values.

    Pyodide 0.28 and later read packages from ``config.packageBaseUrl``, which
    defaults to the folder of the ``lockFileURL`` (and otherwise of
    ``indexURL``); 0.27 has no such setting and reads them from ``indexURL``.
    """
    base = package_base or index_url
    return str(base) if base else None


def runtime_lockfile() -> tuple[dict, dict, str | None]:
    """The runtime's own ``pyodide-lock.json``: its ``info``, its ``packages``, and the
    base that relative ``file_name`` values resolve against."""
    import pyodide_js

    api = pyodide_js._api
    config = api.config
    base = package_base_url(getattr(config, "packageBaseUrl", None), getattr(config, "indexURL", None))
    return api.lockfile_info.to_py(), api.lockfile_packages.to_py(), base


def runtime_distribution() -> tuple[str, object, str, str | None]:
    """The running Pyodide's distribution: its lockfile's URL (the ``lockFileURL``
    the app gave, else ``pyodide-lock.json`` under the base), its ``packages``,
    the base URL its relative ``file_name`` values resolve against (a host path
    under Node becomes a ``file:`` URL, to be read), and, under Node, the CDN URL that
    ``loadPackage`` reads a file from when the local folder lacks it (else None)."""
    import pyodide_js

    api = pyodide_js._api
    config = api.config
    base = package_base_url(getattr(config, "packageBaseUrl", None), getattr(config, "indexURL", None)) or ""
    index = str(getattr(config, "indexURL", None) or base)
    url = str(getattr(config, "lockFileURL", None) or "") or index + "pyodide-lock.json"
    if not in_browser():
        base, url = _readable(base), _readable(url)
    cdn = getattr(config, "cdnUrl", None) if base.startswith("file:") else None
    return url, api.lockfile_packages.to_py(), base, (str(cdn) if cdn else None)


def _readable(location: str) -> str:
    # Under Node the base is a host path; micropkg reads host files through file: URLs.
    return "file://" + location if location.startswith("/") else location

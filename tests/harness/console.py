"""Pyodide's own browser REPL (``console.html``), servable without a CDN.

The Pyodide distribution folder ships ``console.html``: a jquery.terminal
page that boots Pyodide from its own folder (``./pyodide.mjs``) and runs
``pyodide.console.PyodideConsole``. It loads jQuery and jquery.terminal
from ``cdn.jsdelivr.net``, which this network cannot reach; both are on the
npm registry, which it can. So:

``.cache/npm/console/<name>-<version>.tgz``
    the npm tarballs (``npm pack``, fetched once, checked against the
    registry's sha512 ``integrity`` recorded below).
:func:`prepare` ``(dist_dir, site)``
    fills ``site`` with the Pyodide folder's files (hard links, or copies
    across file systems; made afresh each time, so a rebuilt micropkg wheel
    is never stale), ``vendor/`` holding the four files the page needs out
    of those tarballs, and ``console.html`` with its four CDN URLs -- and
    nothing else -- replaced by ``vendor/...`` paths. Serve ``site`` as a
    static folder and open ``console.html``.

The rewrite, exactly (:data:`REWRITES`):

* ``jquery@3.7.1`` (jsDelivr's default file) -> ``dist/jquery.min.js``.
* ``jquery.terminal@2.35.2`` -> ``jquery.terminal@2.35.3``: the page pins
  2.35.2, which the npm registry does not have (2.35.0 and 2.35.3 only), so
  the next patch release stands in.
* ``js/unix_formatting.min.js`` -> ``js/unix_formatting.js``: the npm
  package has no minified copy (jsDelivr minifies on the fly); same code.

The page's one other remote URL, ``https://unpkg.com/idb-keyval`` (imported
only by ``mountDirectory()``, for mounting a local folder), is left as it
is: the REPL never asks for it. Run ``python -m tests.harness.console DIR``
to build a site from the prepared Pyodide folder into ``DIR``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from . import pyodide_dist

__all__ = ["PACKAGES", "REWRITES", "prepare", "rewrite"]

CACHE = pyodide_dist.CACHE / "npm" / "console"

# npm name@version -> the registry's dist.integrity of its tarball.
PACKAGES = {
    "jquery@3.7.1":
        "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
    "jquery.terminal@2.35.3":
        "sha512-McYaOivaUB2Gubn8IBhQY7zxjGWXg4ENSofL11rt7HACWUDjqncXxakShuqq7Ma0y+BwCcYdltPl1e+WpDJkeg==",
}

# URL in console.html -> (npm package, file in its tarball); served as vendor/<package>/<file>.
REWRITES = {
    "https://cdn.jsdelivr.net/npm/jquery@3.7.1": ("jquery@3.7.1", "dist/jquery.min.js"),
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/js/jquery.terminal.min.js": (
        "jquery.terminal@2.35.3", "js/jquery.terminal.min.js"),
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/js/unix_formatting.min.js": (
        "jquery.terminal@2.35.3", "js/unix_formatting.js"),
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/css/jquery.terminal.min.css": (
        "jquery.terminal@2.35.3", "css/jquery.terminal.min.css"),
}


def _log(message: str) -> None:
    print(f"[console] {message}", file=sys.stderr, flush=True)


def _tarball(spec: str, cache: Path = CACHE) -> Path:
    """The npm tarball of ``spec`` (``name@version``), fetched with ``npm pack`` once."""
    name, version = spec.rsplit("@", 1)
    path = cache / f"{name}-{version}.tgz"
    if not path.is_file():
        _log(f"npm pack {spec}")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", "--silent", "--pack-destination", str(cache), spec],
            check=True, stdout=subprocess.DEVNULL,
        )
    algorithm, digest = PACKAGES[spec].split("-", 1)
    found = base64.b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).decode()
    if found != digest:
        path.unlink()
        raise RuntimeError(f"{path.name}: {algorithm} {found}, the registry says {digest}; removed, run again")
    return path


def rewrite(html: str) -> str:
    """console.html with its CDN URLs pointing at ``vendor/``; fails if the page is not the one expected."""
    for url, (spec, member) in REWRITES.items():
        quoted = f'"{url}"'
        if html.count(quoted) != 1:
            raise ValueError(f"console.html has {html.count(quoted)} references to {url}, expected 1")
        html = html.replace(quoted, f'"vendor/{spec}/{member}"')
    if "cdn.jsdelivr.net" in html:
        raise ValueError("console.html loads something else from cdn.jsdelivr.net: extend REWRITES")
    return html


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)  # never write through an old link into the Pyodide folder
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def prepare(dist_dir: Path, site: Path) -> Path:
    """Fill the folder ``site`` (see the module's docstring); return ``site/console.html``."""
    site.mkdir(parents=True, exist_ok=True)
    for entry in dist_dir.iterdir():
        if entry.is_file() and entry.name != "console.html" and not entry.name.startswith("."):
            _link_or_copy(entry, site / entry.name)
    for spec, member in set(REWRITES.values()):
        with tarfile.open(_tarball(spec)) as archive:
            data = archive.extractfile(f"package/{member}").read()
        target = site / "vendor" / spec / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    page = site / "console.html"
    page.write_text(rewrite((dist_dir / "console.html").read_text(encoding="utf-8")), encoding="utf-8")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("site", type=Path, help="folder to fill (serve it, open console.html)")
    parser.add_argument("--pyodide", default=pyodide_dist.DEFAULT_VERSION, help="prepared Pyodide version")
    args = parser.parse_args()
    dist_dir = pyodide_dist.dist_dir(args.pyodide)
    if not (dist_dir / "pyodide-lock.json").is_file():
        sys.exit(f"{dist_dir} is not prepared: python -m tests.harness.pyodide_dist --pyodide {args.pyodide}")
    print(json.dumps({"page": str(prepare(dist_dir, args.site))}))


if __name__ == "__main__":
    main()

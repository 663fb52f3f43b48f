"""Big PEP 691 pages read by the runtime's ``JSON.parse``, narrowed to what WebAssembly may use.

pydantic-core's page on PyPI lists ~15,000 files in 6.9 MB of JSON, of which
about ten are wheels a Pyodide runtime can install. ``json.loads`` builds all
of them in ~60 ms in a fresh Pyodide 314, and the resolver's first look over
their names costs ~30 ms more, while the chain's answers wait behind it
(`benchmarks/run --trace`, 2026-12-05); the engine's ``JSON.parse`` reads the
same bytes in a fraction of that. :func:`narrow_json_page` hands Python the
page with the other platforms' wheels left out
(:func:`micropkg.model.simple.may_be_webassembly` is the rule, and
``tests/host/test_json_pages.py`` holds the two spellings of it together);
the page keeps its whole JSON for whoever asks for every file
(:class:`~micropkg.model.simple.ProjectPage`).
"""

from __future__ import annotations

import sys

from .js import js_function

__all__ = ["NARROW_FROM", "NARROW_PAGE", "narrow_json_page"]

# Below this, json.loads is quick, and the copy into JavaScript and back is not worth it.
NARROW_FROM = 256 * 1024

# A parsed page (PEP 691) as JSON without the wheels of other platforms than WebAssembly's;
# null when it is not such a page, or has little to leave out (Python's own parse costs as
# much). The chain (runtime.chain) narrows the pages it parses with it too.
NARROW_PAGE = r"""(page) => {
  if (page === null || typeof page !== "object" || Array.isArray(page) || !Array.isArray(page.files)) return null;
  const kept = page.files.filter((file) => {
    const name = file !== null && typeof file === "object" ? file.filename : null;
    if (typeof name !== "string" || !name.endsWith(".whl")) return true;  // sdists, and malformed entries
    const platform = name.slice(name.lastIndexOf("-") + 1, -4);
    return platform.includes("wasm") || platform.includes("emscripten") || platform.includes("pyodide")
      || ("." + platform + ".").includes(".any.") || platform !== platform.toLowerCase() || !/[a-z]/.test(platform);
  });
  if (kept.length * 2 > page.files.length) return null;
  return JSON.stringify(Object.assign({}, page, { files: kept }));
}"""

# A body that is not UTF-8 is refused as Python's parser would refuse it, not replaced.
_NARROW = r"""(narrowPage) => (body) => {
  let page;
  try { page = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)); } catch { return null; }
  return narrowPage(page);
}"""


def narrow_json_page(body: bytes) -> bytes | None:
    """``body``, a PEP 691 page, as JSON without the wheels no WebAssembly runtime can use;
    None when it is small, not such a page, or has little to leave out (parse it whole)."""
    if len(body) < NARROW_FROM or sys.platform != "emscripten":
        return None
    # A page of pure wheels and sdists has nothing to leave out: a count of Linux wheels' tags
    # in its first part says so without parsing (most projects that build for other platforms
    # build for Linux, and a page lists its files in upload order: old and new mixed alike;
    # the narrowing itself decides for the others). Over a whole 7 MB page it took 14 ms.
    if body.count(b"linux_", 0, NARROW_FROM) * 4 < body.count(b".whl", 0, NARROW_FROM):
        return None
    from pyodide.ffi import to_js

    narrowed = js_function(_NARROW)(js_function(NARROW_PAGE))(to_js(body))
    # JavaScript's null is not None in Pyodide 0.28+ (pyodide.ffi.jsnull): a string or nothing.
    return narrowed.encode() if isinstance(narrowed, str) else None

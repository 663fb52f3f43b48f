"""The machinery micropkg's tests stand on: wheels, indexes, Pyodide distributions.

Nothing here is part of micropkg. Each module is named after the thing it
provides: :mod:`.wheels` builds wheels in memory, :mod:`.index_server`
serves them like PyPI does, with the pages :mod:`.pages` writes (the host
tests' in-memory indexes write theirs with it too), :mod:`.scenarios` reads
the resolution scenarios of ``tests/data/resolution``, :mod:`.pypi` talks to
the real PyPI, :mod:`.pypi_cache` keeps real PyEmscripten wheels on disk,
:mod:`.pyodide_dist` assembles the folder pytest-pyodide runs Pyodide from.
For the browser tests: :mod:`.chrome` (how Chromium is started),
:mod:`.firefox` and :mod:`.webkit` (Firefox through Marionette, WebKitGTK on a
private Xvfb), :mod:`.engines` (both as pytest-pyodide runtimes beside Chrome
and Node), :mod:`.console` (Pyodide's REPL page, served offline),
:mod:`.jupyterlite` (a real JupyterLite site) and :mod:`.screenshot` (what a
test saw, and whether it is a rendered page).
"""

"""The runtime adapter: the only package that imports ``pyodide`` or ``js``.

Detection (:mod:`.detect`), HTTP through ``pyfetch`` (:mod:`.fetch`), native
libraries and Pyodide's package manager (:mod:`.native`), the runtime's own
lockfile (:mod:`.lockfile`), the cache's storage (:mod:`.stores`) and the
JavaScript boundary (:mod:`.js`). Each module imports Pyodide's modules
inside its functions, so importing it on CPython is safe.
"""

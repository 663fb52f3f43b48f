"""The runtime adapter: the only package that imports ``pyodide`` or ``js``.

Detection (:mod:`.detect`), HTTP through the runtime's ``fetch`` (:mod:`.fetch`;
:mod:`.early` before the session exists), native libraries and Pyodide's
package manager (:mod:`.native`), the runtime's own lockfile (:mod:`.lockfile`),
the cache's storage (:mod:`.stores`), one change to site-packages at a time
(:mod:`.changes`) and the JavaScript boundary (:mod:`.js`). Each module imports Pyodide's modules
inside its functions, so importing it on CPython is safe.
"""

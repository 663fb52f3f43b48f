"""The runtime's ``fetch``, wrapped to tell a hook each request's URL as it leaves.

Runtime tests pass :data:`RECORDING_FETCH` into Pyodide (a ``run_in_pyodide`` body cannot
import the harness) and call it with their hook; it returns the function that restores ``fetch``.
"""

RECORDING_FETCH = (
    "(hook) => { const real = globalThis.fetch;"
    " globalThis.fetch = (request, init) => { hook(String(request.url ?? request)); return real(request, init); };"
    " return () => { globalThis.fetch = real; }; }"
)

"""HTTP for micropkg: the transport seam, retries, the https/loopback rule, the persistent cache.

:class:`~micropkg.net.transport.Transport` is the one pluggable seam (a fake
network is a :class:`~micropkg.net.transport.MockTransport` and a function);
inside Pyodide it is :class:`~micropkg.runtime.fetch.PyfetchTransport`.
"""

"""Package sources: index clients, the Pyodide distribution, the source policy, downloads.

Everything that reads a package index or the Pyodide distribution over a
:class:`~micropkg.net.transport.Transport`: pages (PEP 691/503), PEP 658
metadata or METADATA by range requests, and wheels checked against their
hashes. Runs on CPython against an in-memory index in the host tests.
"""

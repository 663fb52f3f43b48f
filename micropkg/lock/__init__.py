"""Locks in and out: PEP 751 ``pylock.toml``, Pyodide's ``pyodide-lock.json``, freeze, mirror.

The lock model and PEP 751's selection rules are :mod:`micropkg.model.lock`;
this package reads and writes the formats, writes a lock from a resolution,
and turns the installed set or a lock into files for a static host.
"""

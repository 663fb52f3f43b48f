"""Inside Pyodide, micropkg hashes through CPython's built-in hash modules, not ``hashlib``:
a fresh Pyodide 314 compiles ``hashlib`` from source. The same digests, and an install that
does not import it."""

from __future__ import annotations

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["micropkg"])
async def _install_then_compare(selenium, index_url):
    import sys

    before = "hashlib" in sys.modules
    import micropkg

    installed = [i.name for i in await micropkg.install("rt-digest", index_urls=[index_url], pyodide_packages=False)]
    imported = "hashlib" in sys.modules
    import hashlib

    from micropkg.model import digests

    data = bytes(range(256)) * 300
    same, built_in = {}, {}
    for name in sorted(hashlib.algorithms_guaranteed):
        ours, theirs = digests.new(name, data), hashlib.new(name, data)
        long = name.startswith("shake_")
        same[name] = (ours.hexdigest(32) == theirs.hexdigest(32)) if long else ours.hexdigest() == theirs.hexdigest()
        built_in[name] = getattr(digests.constructor(name), "__module__", None)
    return installed, before, imported, same, built_in


def test_hashes_come_from_the_built_in_modules_and_agree_with_hashlib(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-digest", "1.0"))
    installed, before, imported, same, built_in = _install_then_compare(selenium_standalone, index_server.simple_url)
    assert installed == ["rt-digest"]
    if not before:  # pytest-pyodide's own code may have imported it
        assert not imported, "the install imported hashlib"
    assert all(same.values()), same
    assert all(module in ("_sha2", "_sha1", "_md5", "_sha3", "_blake2") for module in built_in.values()), built_in

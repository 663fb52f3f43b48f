"""micropkg installs into a real Pyodide (Node and headless Chromium) from the loopback index.

Each test runs its Pyodide part through ``@run_in_pyodide`` and returns plain
values; the host side asserts on them and on the index server's request log.
Errors are caught inside Pyodide and returned as (type name, message), so
the assertions read the same message a user would see.
"""

from __future__ import annotations

import hashlib

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.engines import runtime_follows_chain

LUAU = r'''
local animals = {"fox", "owl", "frog", "rabbit"}
table.sort(animals, function(a, b) return #a < #b end)
for i, name in animals do
 print(i .. ". " .. name .. " (" .. #name .. ")")
end
'''


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirements, index_url, kwargs=None):
    """Install; return (installed, error, site-packages listing of dist-infos)."""
    import os
    import sysconfig

    import micropkg

    try:
        installed = await micropkg.install(requirements, index_urls=[index_url], **(kwargs or {}))
        result = [(i.name, i.version, i.filename) for i in installed], None
    except micropkg.MicropkgError as exc:
        result = None, (type(exc).__name__, str(exc))
    site = sysconfig.get_path("purelib")
    dist_infos = sorted(d for d in os.listdir(site) if d.endswith(".dist-info"))
    return result[0], result[1], dist_infos


@pytest.mark.pyodide_abi("2026_0")
def test_luau_wasm_installs_and_runs(selenium, index_server):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, code):
        import sysconfig
        from pathlib import Path

        import micropkg

        installed = await micropkg.install("luau-wasm", index_urls=[index_url])
        import luau_wasm

        dist_info = next(Path(sysconfig.get_path("purelib")).glob("luau_wasm-*.dist-info"))
        return (
            [(i.name, i.version, i.filename) for i in installed],
            luau_wasm.execute(code),
            (dist_info / "INSTALLER").read_text(),
            (dist_info / "REQUESTED").exists(),
        )

    installed, output, installer, requested = run(selenium, index_server.simple_url, LUAU)
    assert installed == [("luau-wasm", "0.1a0", "luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl")]
    assert output.split("\n")[:4] == ["1. fox (3)", "2. owl (3)", "3. frog (4)", "4. rabbit (6)"]
    assert installer == "micropkg\n" and requested
    counts = index_server.log.counts()
    # One JSON page and one PEP 658 metadata file to resolve, then the wheel once.
    assert counts["simple-project"] == 1 and counts["file"] == 1 and counts["metadata"] == 1, counts


@pytest.mark.pyodide_abi("2025_0", "2026_0", "2026_5")  # msgpack 1.2.4 has no wheel for 0.27's 2024_0
def test_msgpack_wheel_follows_the_runtime_abi(selenium, index_server, pyodide_info):
    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg

        installed = await micropkg.install("msgpack", index_urls=[index_url])
        import msgpack
        import msgpack._cmsgpack  # the C extension itself, not the pure-Python fallback

        packed = msgpack.packb({"a": [1, 2, 3]})
        return [i.filename for i in installed], msgpack.unpackb(packed), msgpack._cmsgpack.__file__

    filenames, roundtrip, extension = run(selenium, index_server.simple_url)
    major, minor = pyodide_info["python"].split(".")[:2]
    assert filenames == [
        f"msgpack-1.2.4-cp{major}{minor}-cp{major}{minor}-pyemscripten_{pyodide_info['abi_version']}_wasm32.whl"
    ]
    assert roundtrip == {"a": [1, 2, 3]}
    assert extension.endswith(".so")


def test_dependencies_resolve_and_list_and_uninstall(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-app", "1.0", requires_dist=["rt-lib>=2", "rt-never; sys_platform == 'linux'"]))
    index_server.add(make_wheel("rt-lib", "1.0"))
    index_server.add(make_wheel("rt-lib", "2.0", files={"rt_lib/__init__.py": b"VALUE = 2\n"}))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import os
        import sysconfig

        import micropkg

        site = sysconfig.get_path("purelib")
        before = set(os.listdir(site))
        installed = await micropkg.install(["rt-app"], index_urls=[index_url])
        import rt_lib

        listing = {name: (p.version, p.source) for name, p in micropkg.list().items()}
        after_install = set(os.listdir(site)) - before
        removed = await micropkg.uninstall(["rt-app", "rt-lib"])
        gone = "rt_lib" not in __import__("sys").modules
        return (
            sorted((i.name, i.version) for i in installed), rt_lib.VALUE, listing,
            sorted(after_install), removed, sorted(set(os.listdir(site)) - before), gone,
        )

    installed, value, listing, added, removed, left, gone = run(selenium, index_server.simple_url)
    assert installed == [("rt-app", "1.0"), ("rt-lib", "2.0")]
    assert value == 2
    assert listing["rt-app"] == ("1.0", "micropkg") and listing["rt-lib"] == ("2.0", "micropkg")
    assert added == ["rt_app", "rt_app-1.0.dist-info", "rt_lib", "rt_lib-2.0.dist-info"]
    assert removed == ["rt-app", "rt-lib"] and left == [] and gone


def test_unknown_project_names_it_and_the_index(selenium, index_server):
    installed, error, _ = _install(selenium, "no-such-project-xyz", index_server.simple_url)
    assert installed is None
    kind, message = error
    assert kind == "ProjectNotFound"
    assert "'no-such-project-xyz'" in message and index_server.simple_url in message


@pytest.mark.pyodide_abi("2025_0", "2026_0", "2026_5")  # its cp312 2024_0 wheel is the one 0.27 installs
def test_no_compatible_wheel_says_what_exists(selenium, index_server, make_wheel, pyodide_info):
    index_server.add(make_wheel("rt-native", "3.1.1", tag="cp312-cp312-pyemscripten_2024_0_wasm32"))
    index_server.add_file("rt_native-3.1.1.tar.gz", b"not really an sdist")
    # only_binary: the sdist is not built (tests/runtime/test_sdist.py covers building).
    installed, error, _ = _install(selenium, "rt-native", index_server.simple_url, {"only_binary": True})
    kind, message = error
    assert kind == "NoCompatibleFile"
    assert "rt-native 3.1.1 has cp312 pyemscripten_2024_0 wheels and an sdist" in message
    abi = pyodide_info["abi_version"]
    assert f"pyemscripten_{abi}" in message and "only_binary is set, so no sdist is built" in message


def test_hash_mismatch_installs_nothing(selenium, index_server, make_wheel):
    good = make_wheel("rt-tampered", "1.0")
    index_server.add(make_wheel("rt-needs-tampered", "1.0", requires_dist=["rt-tampered"]))
    index_server.add(good)
    evil = make_wheel("rt-tampered", "1.0", files={"rt_tampered/__init__.py": b"print('evil')\n"})
    # The index lists the good wheel's sha256, but the file host serves other bytes.
    index_server.inject(f"/files/{good.filename}", body=evil.data)

    installed, error, dist_infos = _install(selenium, "rt-needs-tampered", index_server.simple_url)
    kind, message = error
    assert kind == "IntegrityError"
    assert index_server.file_url(good.filename) in message
    assert hashlib.sha256(good.data).hexdigest() in message and hashlib.sha256(evil.data).hexdigest() in message
    assert not any(d.startswith(("rt_tampered", "rt_needs_tampered")) for d in dist_infos)


def test_invalid_requirement_shows_where(selenium, index_server):
    installed, error, _ = _install(selenium, "rt-app[extra", index_server.simple_url)
    kind, message = error
    assert kind == "InvalidRequirement" and "'rt-app[extra'" in message and "^" in message


def test_two_versions_of_one_project_are_refused(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-one", "1.0"))
    index_server.add(make_wheel("rt-one", "2.0"))
    index_server.add(make_wheel("rt-wants-new", "1.0", requires_dist=["rt-one>=2"]))
    installed, error, dist_infos = _install(selenium, ["rt-one==1.0", "rt-wants-new"], index_server.simple_url)
    kind, message = error
    assert kind == "ConflictError"
    assert "you asked for rt-one==1.0" in message and "rt-wants-new 1.0" in message and "rt-one>=2" in message
    assert not any(d.startswith("rt_one") for d in dist_infos)


def test_html_index_legacy_json_and_no_pep658(selenium, index_server, make_wheel):
    wheel = make_wheel("rt-html", "1.0", requires_dist=["rt-html-dep"])
    index_server.add(wheel)
    index_server.add(make_wheel("rt-html-dep", "1.0"))
    # A PEP 503 page, as a static HTML index would serve it (no PEP 658 metadata).
    url = index_server.file_url(wheel.filename)
    sha = hashlib.sha256(wheel.data).hexdigest()
    html = f'<html><body><a href="{url}#sha256={sha}">{wheel.filename}</a></body></html>'.encode()
    index_server.inject("/simple/rt-html/", body=html, content_type="text/html")
    index_server.core_metadata = False

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, simple_url, json_template):
        import micropkg

        a = await micropkg.resolve("rt-html", index_urls=[simple_url])
        b = await micropkg.resolve("rt-html", index_urls=[json_template])
        return [(p.name, str(p.version), p.required_by) for p in a], [(p.name, str(p.version)) for p in b]

    via_html, via_legacy = run(selenium, index_server.simple_url, index_server.url + "pypi/{package_name}/json")
    assert via_html == [("rt-html", "1.0", ("the request",)), ("rt-html-dep", "1.0", ("rt-html 1.0",))]
    assert via_legacy == [("rt-html", "1.0"), ("rt-html-dep", "1.0")]
    counts = index_server.log.counts()
    # No metadata advertised: the wheels themselves were read (once per resolution).
    assert counts["metadata"] == 0 and counts["file"] >= 2 and counts["legacy-json"] == 2, counts


def test_a_big_page_of_other_platforms_wheels_is_read_narrowed(selenium, index_server, make_wheel):
    # pydantic-core's shape: thousands of other platforms' wheels around the few that fit. The
    # runtime's JSON.parse reads the page; Python gets the files WebAssembly may use and reads
    # the whole page only when asked for every file (here: explaining a project with none).
    index_server.add(make_wheel("rt-big-app", "1.0", requires_dist=["rt-big"]))
    index_server.add(make_wheel("rt-big", "2.0", files={"rt_big/__init__.py": b"VALUE = 2\n"}))
    for project in ("rt-big", "rt-big-none"):
        for i in range(2500):
            index_server.add_file(
                f"{project.replace('-', '_')}-1.{i}-cp312-cp312-manylinux_2_17_x86_64.whl", b"x",
                project=project, version=f"1.{i}",
            )
    # A big page with more pure wheels than others: not worth narrowing (JavaScript's null, which
    # Pyodide 0.28+ hands over as jsnull, not None), parsed whole.
    index_server.add(make_wheel("rt-big-mixed", "3.0"))
    for i in range(2500):
        tag = "py3-none-any" if i % 5 < 3 else "cp312-cp312-manylinux_2_17_x86_64"
        index_server.add_file(f"rt_big_mixed-2.{i}-{tag}.whl", b"x", project="rt-big-mixed", version=f"2.{i}")

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg
        from micropkg.index import client
        from micropkg.net.transport import Request
        from micropkg.runtime.fetch import PyfetchTransport

        accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
        response = await PyfetchTransport().fetch(Request(index_url + "rt-big/", accept))
        page = client.parse_page(response, "rt-big")
        narrowed = (len(response.body), page._whole is not None, len(page._entries))
        # Where the chain (a browser's) asked for the page, the index client takes its narrowing.
        parsed, narrowed_here = [], []
        parse_json_page, narrow_json_page = client.parse_json_page, client.narrow_json_page
        client.parse_json_page = lambda *a, **k: parsed.append((a[0], k["narrowed"] is not None)) or parse_json_page(*a, **k)
        client.narrow_json_page = lambda body: (len(body) > 256 * 1024 and narrowed_here.append(len(body))) or narrow_json_page(body)
        try:
            installed = [(i.name, i.version) for i in await micropkg.install("rt-big-app", index_urls=[index_url])]
        finally:
            client.parse_json_page, client.narrow_json_page = parse_json_page, narrow_json_page
        installed += [(i.name, i.version) for i in await micropkg.install("rt-big-mixed", index_urls=[index_url])]
        import rt_big

        try:
            await micropkg.install("rt-big-none", index_urls=[index_url])
            error = None
        except micropkg.MicropkgError as exc:
            error = (type(exc).__name__, str(exc))
        return narrowed, installed, rt_big.VALUE, error, parsed, narrowed_here

    (size, narrowed, entries), installed, value, error, parsed, narrowed_here = run(selenium, index_server.simple_url)
    assert size > 256 * 1024 and narrowed and entries == 1, (size, narrowed, entries)
    assert sorted(installed) == [("rt-big", "2.0"), ("rt-big-app", "1.0"), ("rt-big-mixed", "3.0")] and value == 2
    assert (index_server.simple_url + "rt-big/", True) in parsed, parsed
    if runtime_follows_chain(selenium):
        assert narrowed_here == [], "the chain parsed rt-big's page, yet Python narrowed it again"
    kind, message = error
    assert kind == "NoCompatibleFile" and "manylinux_2_17_x86_64" in message, error

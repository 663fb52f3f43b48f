"""Sources inside a real Pyodide: several indexes with per-index headers, direct
references (``name @ URL``, a bare wheel URL, ``emfs:``, ``file:``), a Pyodide
distribution served from loopback, ``explain``, and what an unreachable index says.

A second loopback index (``other_index``, another origin: another port) plays
the public index or the foreign file host; both servers' request logs show
which headers each request carried.
"""

from __future__ import annotations

import collections
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.index_server import IndexServer

TOKEN = "Bearer test-token-for-private-index"


@pytest.fixture(scope="module")
def _other_index_session():
    with IndexServer() as server:
        yield server


@pytest.fixture
def other_index(_other_index_session):
    state = _other_index_session.snapshot()
    _other_index_session.restore(state)
    yield _other_index_session
    _other_index_session.restore(state)


@run_in_pyodide(packages=["micropkg"])
async def _call(selenium, function, args, kwargs):
    """``micropkg.<function>(*args, **kwargs)``: (result rows, error) as plain values."""
    import micropkg

    try:
        result = await getattr(micropkg, function)(*args, **kwargs)
    except micropkg.MicropkgError as exc:
        return None, (type(exc).__name__, str(exc))
    if function == "install":
        return [(i.name, i.version, i.filename, i.source) for i in result], None
    if function == "explain":
        return str(result), None
    return [(p.name, str(p.version), str(p.source)) for p in result], None


def _auth(server: IndexServer, kind: str | None = None) -> dict[str, str | None]:
    """Request path -> its Authorization header, for every GET the server answered."""
    return {e.path: e.headers.get("authorization") for e in server.log if e.method == "GET" and kind in (None, e.kind)}


def test_per_index_headers_reach_only_their_own_origin(selenium, index_server, other_index, make_wheel):
    # The private index's page for corp-lib links its wheel on another origin (a CDN).
    corp = make_wheel("corp-lib", "1.0", requires_dist=["pub-dep"])
    other_index.add(corp)
    sha = hashlib.sha256(corp.data).hexdigest()
    page = {"meta": {"api-version": "1.1"}, "name": "corp-lib", "files": [
        {"filename": corp.filename, "url": other_index.file_url(corp.filename), "hashes": {"sha256": sha}}]}
    index_server.add_project("corp-lib")
    index_server.inject("/simple/corp-lib/", body=json.dumps(page).encode(),
                        content_type="application/vnd.pypi.simple.v1+json")
    other_index.add(make_wheel("pub-dep", "1.0"))

    installed, error = _call(selenium, "install", ["corp-lib"], {
        "index_urls": [(index_server.simple_url, {"Authorization": TOKEN}), other_index.simple_url]})
    assert error is None, error
    assert sorted(row[:2] for row in installed) == [("corp-lib", "1.0"), ("pub-dep", "1.0")]
    private = _auth(index_server)
    assert private["/simple/corp-lib/"] == TOKEN and private["/simple/pub-dep/"] == TOKEN  # pub-dep: a 404 there
    public = _auth(other_index)
    assert public[f"/files/{corp.filename}"] is None  # the file host on another origin got no token
    assert public["/simple/pub-dep/"] is None and public["/files/pub_dep-1.0-py3-none-any.whl"] is None
    assert "/simple/corp-lib/" not in public  # first-index: the private index's answer stood


def test_merge_takes_the_newest_across_indexes(selenium, index_server, other_index, make_wheel):
    index_server.add(make_wheel("rt-merged", "1.0"))
    other_index.add(make_wheel("rt-merged", "2.0"))
    urls = [index_server.simple_url, other_index.simple_url]
    first, error = _call(selenium, "resolve", ["rt-merged"], {"index_urls": urls})
    assert error is None and first == [("rt-merged", "1.0", index_server.simple_url)]
    merged, error = _call(selenium, "resolve", ["rt-merged"], {"index_urls": urls, "index_strategy": "merge"})
    assert error is None and merged == [("rt-merged", "2.0", other_index.simple_url)]


def test_a_failing_index_does_not_fall_through(selenium, index_server, other_index, make_wheel):
    index_server.inject("/simple/rt-shadowed/", status=503, body=b"<h1>maintenance</h1>", content_type="text/html")
    other_index.add(make_wheel("rt-shadowed", "9.0"))
    _, error = _call(selenium, "install", ["rt-shadowed"], {"index_urls": [index_server.simple_url, other_index.simple_url]})
    kind, message = error  # after micropkg's retries of a 503
    assert kind == "HTTPStatusError" and f"{index_server.simple_url}rt-shadowed/ answered HTTP 503" in message
    assert other_index.log.count("simple-project") == 0


def test_unreachable_index_names_the_url(selenium, index_server, runtime):
    closed = "http://127.0.0.1:9/simple/"  # the discard port: nothing listens there
    _, error = _call(selenium, "resolve", ["anything"], {"index_urls": [closed]})
    kind, message = error
    assert kind == "NetworkError" and f"{closed}anything/" in message
    if runtime.startswith("chrome"):
        assert "Access-Control-Allow-Origin" in message


@run_in_pyodide(packages=["micropkg"])
async def _install_direct(selenium, requirement, index_url, emfs_wheel=None):
    from pathlib import Path

    import micropkg

    if emfs_wheel is not None:
        path, data = emfs_wheel
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    try:
        installed = await micropkg.install(requirement, index_urls=[index_url])
    except micropkg.MicropkgError as exc:
        return None, (type(exc).__name__, str(exc))
    import importlib

    values = {}
    for item in installed:
        module = importlib.import_module(item.name.replace("-", "_"))
        values[item.name] = getattr(module, "VALUE", None)
    await micropkg.uninstall([i.name for i in installed])
    return sorted((i.name, i.version, i.source) for i in installed), values


def _direct_wheels(index_server, make_wheel, name):
    wheel = make_wheel(name, "1.0", requires_dist=[f"{name}-dep"], files={f"{name.replace('-', '_')}/__init__.py": b"VALUE = 'direct'\n"})
    index_server.add(make_wheel(f"{name}-dep", "1.0"))
    return wheel


def test_name_at_url_and_a_bare_wheel_url_resolve_their_dependencies(selenium, index_server, make_wheel):
    wheel = _direct_wheels(index_server, make_wheel, "rt-direct")
    # Served by URL only: the index does not list the project.
    index_server.mount("direct", _written(wheel))
    url = index_server.url + "direct/" + wheel.filename
    sha = hashlib.sha256(wheel.data).hexdigest()
    for requirement in (f"rt-direct @ {url}#sha256={sha}", url):
        installed, values = _install_direct(selenium, requirement, index_server.simple_url)
        assert installed == [("rt-direct", "1.0", url + (f"#sha256={sha}" if "@" in requirement else "")),
                             ("rt-direct-dep", "1.0", index_server.simple_url)], installed
        assert values["rt-direct"] == "direct"
    _, error = _install_direct(selenium, f"rt-direct @ {url}#sha256={'0' * 64}", index_server.simple_url)
    assert error[0] == "IntegrityError" and url in error[1] and sha in error[1] and "0" * 64 in error[1]


def test_an_emfs_wheel_resolves_its_dependencies(selenium, index_server, make_wheel):
    wheel = _direct_wheels(index_server, make_wheel, "rt-emfs")
    path = f"/tmp/wheels/{wheel.filename}"
    installed, values = _install_direct(selenium, path, index_server.simple_url, (path, wheel.data))
    assert installed == [("rt-emfs", "1.0", f"emfs:{path}"), ("rt-emfs-dep", "1.0", index_server.simple_url)]
    assert values["rt-emfs"] == "direct"
    sha = hashlib.sha256(wheel.data).hexdigest()
    _, error = _install_direct(selenium, f"rt-emfs @ emfs:{path}#sha256={'1' * 64}", index_server.simple_url, (path, wheel.data))
    assert error[0] == "IntegrityError" and sha in error[1]


def test_a_file_url_under_node(selenium, index_server, make_wheel, runtime, tmp_path):
    wheel = _direct_wheels(index_server, make_wheel, "rt-file")
    path = wheel.write(tmp_path)
    requirement = f"rt-file @ file://{path}"
    installed, values = _install_direct(selenium, requirement, index_server.simple_url)
    if runtime.startswith("chrome"):
        assert installed is None and values[0] == "NetworkError" and "only under Node" in values[1]
        return
    assert installed == [("rt-file", "1.0", f"file://{path}"), ("rt-file-dep", "1.0", index_server.simple_url)]
    assert values["rt-file"] == "direct"


def _written(wheel) -> Path:
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="micropkg-direct-"))
    wheel.write(directory)
    return directory


# -- the Pyodide distribution -----------------------------------------------------------


def _distribution(tmp_path: Path, pyodide_dist_dir: Path, wheels: list, depends: dict[str, list[str]]) -> Path:
    """A copy of the runtime's lockfile whose packages are ``wheels`` (files beside it)."""
    lock = json.loads((pyodide_dist_dir / "pyodide-lock.json").read_text())
    template = lock["packages"]["packaging"]
    packages = {}
    for wheel in wheels:
        name = wheel.filename.split("-")[0].replace("_", "-")
        path = tmp_path / wheel.filename
        if hasattr(wheel, "path"):
            shutil.copyfile(wheel.path, path)
        else:
            wheel.write(tmp_path)
        packages[name] = {**template, "name": name, "version": wheel.version, "file_name": wheel.filename,
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "imports": [name.replace("-", "_")],
                          "depends": depends.get(name, [])}
    (tmp_path / "pyodide-lock.json").write_text(json.dumps({"info": lock["info"], "packages": packages}))
    return tmp_path


def _runtime_msgpack(real_wheels, pyodide_info):
    abi = pyodide_info["abi_version"]
    return next((w for w in real_wheels if w.project == "msgpack" and f"pyemscripten_{abi}_" in w.filename), None)


def test_a_distribution_from_loopback_installs_with_its_depends(
    selenium, index_server, other_index, make_wheel, real_wheels, pyodide_info, pyodide_dist_dir, tmp_path,
):
    msgpack = _runtime_msgpack(real_wheels, pyodide_info)
    if msgpack is None:
        pytest.skip(f"no real msgpack wheel for ABI {pyodide_info['abi_version']}")
    # rt-distpkg's own METADATA names no dependency: the lockfile's depends does.
    app = make_wheel("rt-distpkg", "1.0", files={"rt_distpkg/__init__.py": b"import msgpack\nVALUE = msgpack.packb(7)\n"})
    base = index_server.mount("distribution", _distribution(tmp_path, pyodide_dist_dir, [app, msgpack],
                                                            {"rt-distpkg": ["msgpack"]}))
    lock_url = base + "pyodide-lock.json"

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url, empty_index_url, lock_url):
        import micropkg

        # The loopback index has msgpack 1.2.4 too: on a tie its file is taken.
        plan = await micropkg.resolve("rt-distpkg", index_urls=[index_url], pyodide_packages=lock_url)
        # An index without msgpack: everything comes from the distribution.
        installed = await micropkg.install("rt-distpkg", index_urls=[empty_index_url], pyodide_packages=lock_url)
        import rt_distpkg

        return ([(p.name, str(p.version), str(p.source)) for p in plan],
                sorted((i.name, i.filename, i.source) for i in installed), rt_distpkg.VALUE)

    plan, installed, value = run(selenium, index_server.simple_url, other_index.simple_url, lock_url)
    assert plan == [("msgpack", "1.2.4", index_server.simple_url), ("rt-distpkg", "1.0", lock_url)]
    assert installed == [("msgpack", msgpack.filename, lock_url), ("rt-distpkg", app.filename, lock_url)]
    assert value == b"\x07"
    static = collections.Counter(e.path for e in index_server.log if e.kind == "static")
    # The lockfile once per call; the wheels once, by install: resolve needed neither (depends is in the lockfile).
    assert static == {"/distribution/pyodide-lock.json": 2, f"/distribution/{msgpack.filename}": 1,
                      f"/distribution/{app.filename}": 1}
    assert index_server.log.count("file") == 0  # resolve only: no wheel from the index either
    assert other_index.log.count("file") == 0 and other_index.log.count("metadata") == 0


def test_a_tampered_distribution_file_installs_nothing(
    selenium, index_server, make_wheel, pyodide_dist_dir, tmp_path,
):
    app = make_wheel("rt-distbad", "1.0")
    directory = _distribution(tmp_path, pyodide_dist_dir, [app], {})
    (directory / app.filename).write_bytes(make_wheel("rt-distbad", "1.0", files={"rt_distbad/__init__.py": b"EVIL = 1\n"}).data)
    lock_url = index_server.mount("distribution", directory) + "pyodide-lock.json"
    _, error = _call(selenium, "install", ["rt-distbad"], {"index_urls": [index_server.simple_url], "pyodide_packages": lock_url})
    assert error[0] == "IntegrityError" and app.sha256 in error[1] and "distribution/" + app.filename in error[1]


def test_a_shared_library_of_another_lockfile_is_refused_before_writing(
    selenium, index_server, make_wheel, pyodide_dist_dir, tmp_path,
):
    app = make_wheel("rt-needslib", "1.0")
    directory = _distribution(tmp_path, pyodide_dist_dir, [app], {"rt-needslib": ["libfake"]})
    lock = json.loads((directory / "pyodide-lock.json").read_text())
    lock["packages"]["libfake"] = {
        "name": "libfake", "version": "1.0", "file_name": "libfake-1.0.zip", "sha256": "0" * 64, "depends": [],
        "imports": [], "install_dir": "dynlib", "package_type": "shared_library", "unvendored_tests": False,
    }
    (directory / "pyodide-lock.json").write_text(json.dumps(lock))
    lock_url = index_server.mount("distribution", directory) + "pyodide-lock.json"
    _, error = _call(selenium, "install", ["rt-needslib"], {"index_urls": [index_server.simple_url], "pyodide_packages": lock_url})
    kind, message = error
    assert kind == "InstallError"
    assert message.startswith(f"rt-needslib from {lock_url} need the shared libraries libfake,")
    assert _dist_infos(selenium, "rt_needslib") == []


@run_in_pyodide(packages=["micropkg"])
def _dist_infos(selenium, prefix):
    import os
    import sysconfig

    return [d for d in os.listdir(sysconfig.get_path("purelib")) if d.startswith(prefix)]


def test_the_runtime_own_lockfile_is_a_source(selenium, index_server):
    # numpy is only in the runtime's lockfile (the loopback index does not know it).
    plan, error = _call(selenium, "resolve", ["numpy"], {"index_urls": [index_server.simple_url]})
    assert error is None, error
    ((name, version, source),) = plan
    assert name == "numpy" and source.endswith("pyodide-lock.json")
    _, error = _call(selenium, "resolve", ["numpy"], {"index_urls": [index_server.simple_url], "pyodide_packages": False})
    assert error[0] == "ProjectNotFound"


# -- explain ---------------------------------------------------------------------------------


def test_explain_inside_pyodide(selenium, index_server, pyodide_info):
    text, error = _call(selenium, "explain", ["msgpack"], {"index_urls": [index_server.simple_url], "pyodide_packages": False})
    assert error is None, error
    lines = text.splitlines()
    major, minor = pyodide_info["python"].split(".")[:2]
    abi = pyodide_info["abi_version"]
    assert lines[0] == f"msgpack: 3 files for cp{major}{minor} pyemscripten_{abi}, from {index_server.simple_url}"
    verdicts = {line.split()[1]: (line.split()[0], line.split(None, 2)[2])
                for line in lines[1:] if line.startswith(("  taken", "  refused"))}
    assert len(verdicts) == 3
    if not any(f"pyemscripten_{abi}_" in wheel for wheel in verdicts):  # Pyodide 0.27: no msgpack wheel for it
        assert lines[-1] == f"  nothing fits: msgpack cannot be installed on cp{major}{minor} pyemscripten_{abi}"
    for wheel, (verdict, reason) in verdicts.items():
        if f"pyemscripten_{abi}_" in wheel:
            assert (verdict, reason) == ("taken", "newest version that fits")
        else:
            assert verdict == "refused" and reason.endswith(f"do not fit cp{major}{minor} pyemscripten_{abi}")

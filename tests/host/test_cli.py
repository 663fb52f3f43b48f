"""``python -m micropkg lock`` and ``mirror`` against a loopback index, on plain CPython."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from micropkg.commands.cli import main, read_location
from micropkg.index.client import Index
from micropkg.installation.installer import install_lock
from micropkg.lock.pyodide_lock import parse_lock
from micropkg.model.pyodide_releases import target_for_pyodide
from micropkg.model.requirements import parse_requirements
from micropkg.net.transport import UrllibTransport
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve
from tests.harness.index_server import IndexServer
from tests.harness.wheels import make_wheel

REPO = Path(__file__).resolve().parents[2]
NATIVE = {
    "314": "cp314-cp314-pyemscripten_2026_0_wasm32",
    "0.29": "cp313-cp313-pyemscripten_2025_0_wasm32",
    "0.27": "cp312-cp312-pyodide_2024_0_wasm32",
}


@pytest.fixture(scope="module")
def server():
    with IndexServer() as server:
        server.add(make_wheel("cli-app", "1.0", requires_dist=["cli-native>=1", "cli-extra; sys_platform == 'linux'"]))
        server.add(make_wheel("cli-app", "2.0", requires_dist=["cli-native>=3"]))
        for tag in NATIVE.values():
            server.add(make_wheel("cli-native", "1.5", tag=tag))
        server.add(make_wheel("cli-native", "3.0", tag="cp311-cp311-manylinux_2_17_x86_64"))
        server.add(make_wheel("cli-extra", "1.0"))
        yield server


@pytest.fixture(autouse=True)
def fresh_log(server):
    server.log.reset()


def lock(server, tmp_path, *args: str) -> dict:
    out = tmp_path / "pylock.toml"
    assert main(["lock", *args, "-i", server.simple_url, "-o", str(out)]) == 0
    return tomllib.loads(out.read_text())


def wheels_of(document: dict) -> dict[str, list[str]]:
    return {p["name"]: [w["name"] for w in p["wheels"]] for p in document["packages"]}


@pytest.mark.parametrize("pyodide", ["314.0", "0.29.5", "0.27"])
def test_lock_picks_the_wheels_of_the_target_runtime(server, tmp_path, pyodide):
    # 2.0 needs cli-native>=3, which has no wheel for any Pyodide. micropkg does not walk a
    # project back across a major version on its own (test below): the pin accepts 1.x.
    document = lock(server, tmp_path, "cli-app<2", "--pyodide", pyodide)
    series = ".".join(pyodide.split(".")[:2]) if pyodide.startswith("0.") else pyodide.split(".")[0]
    assert wheels_of(document) == {
        "cli-app": ["cli_app-1.0-py3-none-any.whl"],
        "cli-native": [f"cli_native-1.5-{NATIVE[series]}.whl"],
    }
    python = target_for_pyodide(pyodide).markers["python_version"]
    assert document["requires-python"] == f"=={python}.*"
    assert f'python_version == "{python}"' in document["environments"][0]


def test_an_unavailable_dependency_stops_at_the_major_version_and_names_the_pin(server, tmp_path, capsys):
    out = tmp_path / "pylock.toml"
    assert main(["lock", "cli-app", "--pyodide", "314", "-i", server.simple_url, "-o", str(out)]) != 0
    message = capsys.readouterr().err
    assert "cli-app 2.0 (cli-app 2.0 ← your request): it needs cli-native>=3" in message
    assert "no release of cli-native that fits >=3 has a file for this runtime (releases that do: 1.5)" in message
    assert "'cli-app<2'" in message and not out.exists()


def test_lock_by_platform_and_python_equals_lock_by_pyodide(server, tmp_path):
    by_platform = lock(server, tmp_path, "cli-app<2", "--platform", "pyemscripten_2026_0_wasm32", "--python", "3.14")
    by_pyodide = lock(server, tmp_path, "cli-app<2", "--pyodide", "314")
    assert by_platform == by_pyodide


def test_requirements_and_constraints_files(server, tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("cli-extra  # pulled in by -r\n")
    (tmp_path / "constraints.txt").write_text("cli-app<2\n")
    (tmp_path / "requirements.txt").write_text(
        "# the app\n"
        f"--index-url {server.simple_url}\n"
        "cli-app \\\n"
        "    >=1.0 --hash=sha256:0000\n"
        "-r sub/more.txt\n"
        "-c constraints.txt\n"
    )
    out = tmp_path / "pylock.toml"
    assert main(["lock", "-r", str(tmp_path / "requirements.txt"), "-o", str(out)]) == 0
    document = tomllib.loads(out.read_text())
    assert sorted(wheels_of(document)) == ["cli-app", "cli-extra", "cli-native"]
    assert document["tool"]["micropkg"]["requirements"] == ["cli-app >=1.0", "cli-extra"]
    assert document["tool"]["micropkg"]["constraints"] == ["cli-app<2"]
    err = capsys.readouterr().err
    assert "requirements.txt, line 3: --hash is not checked" in err and "Locked 3 packages" in err


def test_lock_a_scripts_inline_metadata(server, tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text(
        "#!/usr/bin/env python3\n# /// script\n# requires-python = '>=3.13'\n"
        "# dependencies = ['cli-app<2', 'cli-extra']\n# ///\nimport cli_app\n"
    )
    document = lock(server, tmp_path, "--script", str(script), "--pyodide", "314")
    assert sorted(wheels_of(document)) == ["cli-app", "cli-extra", "cli-native"]
    assert document["tool"]["micropkg"]["requirements"] == ["cli-app<2", "cli-extra"]
    # Pyodide 0.27 runs Python 3.12: the script's requires-python refuses it before any request.
    server.log.reset()
    assert main(["lock", "--script", str(script), "--pyodide", "0.27", "-i", server.simple_url, "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert f"{script} requires Python >=3.13 (requires-python, line 3)" in err and "3.12" in err, err
    assert not server.log.counts() and not (tmp_path / "x").exists()
    (tmp_path / "broken.py").write_text("# /// script\n# dependencies = ['cli-app'\n# ///\n")
    assert main(["lock", "--script", str(tmp_path / "broken.py"), "-i", server.simple_url, "-o", str(tmp_path / "x")]) == 1
    assert "broken.py, line 2: the '# /// script' block is not valid TOML" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sdist_server():
    from tests.harness.sdists import backend_wheels, make_sdist

    with IndexServer() as server:
        for wheel in backend_wheels():
            server.add(wheel)
        server.add(make_wheel("cli-wheeled", "1.0"))
        # 2.0 publishes only an sdist: pip's --prefer-binary would keep 1.0, a pin builds it.
        server.add(make_sdist("cli-sdist", "2.0", backend="flit", dependencies=["cli-wheeled"]))
        server.add(make_sdist("cli-legacy", "0.3", backend="setup.py", dependencies=["cli-wheeled>=1"]))
        yield server


def test_a_host_lock_keeps_an_sdist_and_reads_its_dependencies_from_its_backend(sdist_server, tmp_path, capsys):
    document = lock(sdist_server, tmp_path, "cli-sdist", "cli-legacy", "--pyodide", "314")
    packages = {p["name"]: p for p in document["packages"]}
    assert sorted(packages) == ["cli-legacy", "cli-sdist", "cli-wheeled"]
    for name, filename in (("cli-sdist", "cli_sdist-2.0.tar.gz"), ("cli-legacy", "cli_legacy-0.3.tar.gz")):
        entry = packages[name]
        assert "wheels" not in entry and entry["sdist"]["name"] == filename, entry
        assert entry["sdist"]["hashes"]["sha256"] == sdist_server.file(filename).sha256
    # What each backend said it needs (flit from pyproject, setuptools from setup.py).
    assert [d["name"] for d in packages["cli-sdist"]["dependencies"]] == ["cli-wheeled"]
    assert [d["name"] for d in packages["cli-legacy"]["dependencies"]] == ["cli-wheeled"]
    err = capsys.readouterr().err
    assert "Building cli-sdist 2.0 from its sdist" in err and "Building cli-legacy 0.3 from its sdist" in err
    # Build isolation on the host too: the backends were imported only inside the builds.
    assert not [name for name in sys.modules if name.startswith("flit_core")]


def test_a_host_lock_with_only_binary_refuses_the_sdist(sdist_server, tmp_path, capsys):
    out = tmp_path / "pylock.toml"
    assert main(["lock", "cli-legacy", "--only-binary", ":all:", "-i", sdist_server.simple_url, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cli-legacy" in err and "sdist" in err and not out.exists(), err


def test_pyodide_lock_format(server, tmp_path):
    out = tmp_path / "pyodide-lock.json"
    args = ["lock", "cli-app<2", "--pyodide", "0.29", "--format", "pyodide-lock", "-i", server.simple_url, "-o", str(out)]
    assert main(args) == 0
    document = json.loads(out.read_text())
    assert document["info"]["abi_version"] == "2025_0" and document["info"]["platform"] == "emscripten_4_0_9"
    assert document["packages"]["cli-app"]["depends"] == ["cli-native"]
    native = server.file(f"cli_native-1.5-{NATIVE['0.29']}.whl")
    assert document["packages"]["cli-native"]["sha256"] == native.sha256
    assert document["packages"]["cli-native"]["file_name"] == server.file_url(native.filename)


def test_errors_are_one_line_and_exit_1(server, tmp_path, capsys):
    assert main(["lock", "no-such-project", "-i", server.simple_url, "-o", str(tmp_path / "x")]) == 1
    assert "error: Project 'no-such-project' was not found" in capsys.readouterr().err
    assert main(["lock", "cli-app", "--pyodide", "0.20"]) == 1
    assert "Unknown Pyodide version '0.20'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["lock", "cli-app", "--platform", "pyemscripten_2026_0_wasm32"])  # --python missing
    assert "--platform and --python go together" in capsys.readouterr().err


def test_mirror_serves_as_index_and_as_lock_with_no_other_index(server, tmp_path):
    lock(server, tmp_path, "cli-app<2", "--pyodide", "314")
    mirror_dir = tmp_path / "mirror"
    assert main(["mirror", str(tmp_path / "pylock.toml"), "-o", str(mirror_dir)]) == 0
    base = server.mount("mirror-cli", mirror_dir)
    server.log.reset()
    transport = UrllibTransport()
    target = target_for_pyodide("314")

    async def plan_from(index_url):
        catalog = Catalog([Index(index_url, transport)])
        plan = await resolve(parse_requirements(["cli-app"]), catalog, target)
        return [(p.name, str(p.version), p.file.filename) for p in plan]

    via_html = asyncio.run(plan_from(base + "simple/"))
    via_json = asyncio.run(plan_from(base + "simple/{package_name}/index.json"))
    assert via_html == via_json == [
        ("cli-app", "1.0", "cli_app-1.0-py3-none-any.whl"),
        ("cli-native", "1.5", f"cli_native-1.5-{NATIVE['314']}.whl"),
    ]
    page = json.loads((mirror_dir / "simple" / "cli-native" / "index.json").read_text())
    [file] = page["files"]
    assert set(file) >= {"hashes", "size", "upload-time", "core-metadata", "requires-python"}
    assert (mirror_dir / "files" / (file["filename"] + ".metadata")).read_bytes().startswith(b"Metadata-Version")
    # Nothing reached the index itself: only the static folder.
    assert {e.path.split("/")[1] for e in server.log} == {"mirror-cli"}

    # The mirror's own lock installs from the mirror's copies (PEP 751 prefers path).
    server.log.reset()
    lock_url = base + "pylock.toml"
    mirrored = parse_lock(asyncio.run(read_location(lock_url, transport)).decode(), source=lock_url, base_url=lock_url)
    site = tmp_path / "site"
    site.mkdir()
    server.log.reset()

    async def no_dynlibs(root, paths):
        assert not paths

    installed = asyncio.run(install_lock(mirrored, target, site, lambda url: read_location(url, transport),
                                         load_dynlibs=no_dynlibs, dynlibs_to_load=list))
    assert sorted(i.name for i in installed) == ["cli-app", "cli-native"]
    assert sorted(e.path for e in server.log) == sorted(
        f"/mirror-cli/files/{name}" for name in ("cli_app-1.0-py3-none-any.whl", f"cli_native-1.5-{NATIVE['314']}.whl")
    )
    pyodide_lock = json.loads((mirror_dir / "pyodide-lock.json").read_text())
    assert pyodide_lock["packages"]["cli-app"]["file_name"] == "files/cli_app-1.0-py3-none-any.whl"


def test_python_dash_m_runs_the_cli(tmp_path):
    result = subprocess.run([sys.executable, "-m", "micropkg", "lock", "--help"], cwd=REPO,
                            capture_output=True, text=True, check=True)
    assert "--pyodide VERSION" in result.stdout and "--format {pylock,pyodide-lock}" in result.stdout

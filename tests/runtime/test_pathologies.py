"""The long tail's pathologies inside a real Pyodide, from the loopback index (issue 15).

(a) every release of a parent needs a project with no build here: refused at once, naming it;
(b) a walk-back through a hundred releases without ``.metadata`` files, from a file host
    that answers ranges (no wheel downloaded whole but the one installed) and from one
    that does not (each wheel downloaded once, the chosen one not again);
(c) the folded-licence METADATA that lost sglang's dependencies: the dependency installs;
(d) walked back within a major version: installed, and the user hears of it (reporter,
    warning); across one: refused with the pin.
The host-side scenarios, at larger scale, are tests/host/test_pathologies.py.
"""

from __future__ import annotations

import random

import pytest
from pytest_pyodide import run_in_pyodide

LINUX = "cp314-cp314-manylinux_2_17_x86_64"


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirements, index_url, kwargs=None):
    """Install with an EventReporter; return (installed, error, events, warnings, stats of a dry run)."""
    import warnings

    import micropkg

    events = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            installed = await micropkg.install(
                requirements, index_urls=[index_url], reporter=micropkg.EventReporter(events.append), **(kwargs or {})
            )
            result, error = [(i.name, i.version) for i in installed], None
        except micropkg.MicropkgError as exc:
            result, error = None, (type(exc).__name__, str(exc), getattr(exc, "blocker", None))
    notes = [(str(w.message), w.filename) for w in caught if issubclass(w.category, UserWarning)]
    return result, error, [{k: v for k, v in e.items() if k != "seconds"} for e in events], notes


# -- (a) ---------------------------------------------------------------------------------------


def test_every_release_of_a_parent_needs_a_project_without_a_build_here(selenium, index_server, make_wheel):
    index_server.add(make_wheel("pa-app", "1.0", requires_dist=["pa-parent"]))
    for i in range(30):
        index_server.add(make_wheel("pa-parent", f"4.{i}.0", requires_dist=["pa-blocker>=1"]))
    index_server.add(make_wheel("pa-blocker", "1.0", tag=LINUX))
    installed, error, events, _ = _install(selenium, "pa-app", index_server.simple_url)
    assert installed is None
    kind, message, blocker = error
    assert (kind, blocker) == ("UnavailableDependency", "pa-blocker")
    assert "Cannot install pa-app 1.0 (pa-app 1.0 ← your request): it needs pa-parent" in message
    assert "every pa-parent 4.x needs it: pa-parent 4.29.0 needs pa-blocker>=1" in message
    assert "pa-blocker has no build for Emscripten" in message
    assert events[-1]["event"] == "failed"
    # Three pages and at most each release's metadata once (the newest DEAD_STREAK releases
    # decide it), nothing asked twice; the only wheels fetched are the greedy walk's picks,
    # downloaded while the resolution ran (speculation).
    counts = index_server.log.counts()
    assert counts["simple-project"] == 3 and 8 < counts["metadata"] <= 31, counts
    assert {e.path for e in index_server.log if e.kind == "file"} <= {
        "/files/pa_app-1.0-py3-none-any.whl", "/files/pa_parent-4.29.0-py3-none-any.whl",
    }


# -- (b) ---------------------------------------------------------------------------------------

RELEASES, CHOSEN = 100, 20  # lib 1.k needs core==1.k: core==1.20.0 walks lib back 79 releases


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_walk_back_through_a_hundred_releases_without_metadata_files(selenium, index_server, make_wheel, ranges):
    lib, core = ("rb-lib", "rb-core") if ranges else ("rn-lib", "rn-core")  # one runtime runs both
    for i in range(RELEASES):
        wheel = make_wheel(
            lib, f"1.{i}.0", requires_dist=[f"{core}==1.{i}.0"],
            files={f"{lib.replace('-', '_')}/blob.bin": random.Random(i).randbytes(250_000)},
        )
        index_server.add(wheel, metadata=None)
        index_server.add(make_wheel(core, f"1.{i}.0"))
    index_server.ranges = ranges
    installed, error, _, _ = _install(selenium, [lib, f"{core}==1.{CHOSEN}.0"], index_server.simple_url)

    assert error is None and installed == [(core, f"1.{CHOSEN}.0"), (lib, f"1.{CHOSEN}.0")]
    prefix = f"/files/{lib.replace('-', '_')}-"
    chosen, newest = f"{prefix}1.{CHOSEN}.0-py3-none-any.whl", f"{prefix}1.{RELEASES - 1}.0-py3-none-any.whl"
    libs = [e for e in index_server.log if e.kind == "file" and e.path.startswith(prefix)]
    read = {e.path for e in libs}
    assert RELEASES - CHOSEN <= len(read) <= RELEASES and chosen in read
    whole = [e.path for e in libs if e.status == 200]
    # The newest, the likely pick, arrives whole once, sent for ahead (runtime.chain) or by the
    # speculative download; its METADATA is read out of that wheel when it was on its way
    # before the resolver asked (the chain's, in a runtime still importing), else by a range.
    newest_reads = sorted((e.status, "range" in e.headers) for e in libs if e.path == newest)
    assert newest_reads in ([(200, False)], sorted([(200, False), (206 if ranges else 200, True)])), newest_reads
    extra = len(newest_reads) - 1
    if ranges:
        # Every other release read by one range of its tail; the chosen one then downloaded whole.
        assert sorted(set(whole)) == sorted({chosen, newest}), whole
        assert len(libs) == len(read) + 1 + extra and all(e.status == 206 for e in libs if e.path not in whole)
    else:
        # Each wheel arrives whole once, the chosen one too, and is not downloaded again to install.
        assert len(whole) == len(libs) == len(read) + extra
    received = sum(e.size for e in libs)
    sizes = sum(index_server.file(p.rsplit("/", 1)[1]).size for p in whole)
    ranged = sum(e.size for e in libs if e.status == 206)
    assert received == sizes + ranged and ranged < 0.3 * len(read) * index_server.file(chosen.rsplit("/", 1)[1]).size
    print(f"\n{'with' if ranges else 'without'} ranges: {len(read)} {lib} wheels read, {len(libs)} requests,"
          f" {received / 1e6:.1f} MB, of which {sizes / 1e6:.1f} MB whole wheels")


# -- (c) ---------------------------------------------------------------------------------------

FOLDED = (
    "Metadata-Version: 2.4\n"
    "Name: rc-folded\n"
    "Version: 0.5.10.post1\n"
    "License:                                  Apache License\n"
    "                                   Version 2.0, January 2004\n"
    "        \n"
    "           TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n"
    "        |\n"
    "        \t\n"
    "           limitations under the License.\n"
    "        \n"
    "Requires-Python: >=3.10\n"
    "Requires-Dist: rc-folded-dep>=1\n"
    "\n"
    "# The project\n"
)


@pytest.mark.parametrize("pep658", [True, False], ids=["metadata-file", "inside-the-wheel"])
def test_a_folded_licence_loses_no_dependency(selenium, index_server, make_wheel, pep658):
    name = "rc-folded" if pep658 else "rc-folded-zip"  # one runtime runs both
    metadata = FOLDED.replace("rc-folded-dep", f"{name}-dep").replace("Name: rc-folded", f"Name: {name}")
    index_server.add(make_wheel(name, "0.5.10.post1", metadata=metadata.encode()),
                     **({} if pep658 else {"metadata": None}))
    index_server.add(make_wheel(f"{name}-dep", "1.0"))
    url = index_server.simple_url
    installed, error, _, _ = _install(selenium, name, url)
    assert error is None and installed == [(name, "0.5.10.post1"), (f"{name}-dep", "1.0")]

    @run_in_pyodide(packages=["micropkg"])
    async def after(selenium, name, index_url):
        import importlib
        from importlib.metadata import requires

        import micropkg

        declared = requires(name)
        await micropkg.uninstall(f"{name}-dep")
        # The installed METADATA is read again (no index: the check before resolving): its
        # Requires-Dist must be there for the dependency to come back.
        again = await micropkg.install(name, index_urls=[index_url])
        module = importlib.import_module(f"{name}-dep".replace("-", "_"))
        return declared, [(i.name, i.version) for i in again], module.__name__

    declared, again, module = after(selenium, name, url)
    assert declared == [f"{name}-dep>=1"]
    assert again == [(f"{name}-dep", "1.0")] and module == f"{name}-dep".replace("-", "_")


# -- (d) ---------------------------------------------------------------------------------------


def test_walked_back_within_a_major_version_installs_and_says_so(selenium, index_server, make_wheel):
    for version in ("2.5", "2.4", "2.3"):
        index_server.add(make_wheel("rd-lib", version, requires_dist=["rd-blocker"]))
    for version in ("2.2", "2.1"):
        index_server.add(make_wheel("rd-lib", version))
    index_server.add(make_wheel("rd-blocker", "1.0", tag=LINUX))
    installed, error, events, notes = _install(selenium, "rd-lib", index_server.simple_url)

    assert error is None and installed == [("rd-lib", "2.2")]
    reason = "newer releases need rd-blocker, and rd-blocker has no build for Emscripten (its wheels are for other platforms)"
    assert {"event": "walked_back", "notices": [
        {"name": "rd-lib", "chosen": "2.2", "newest": "2.5", "reason": reason},
    ]} in events
    assert [e["event"] for e in events].index("walked_back") < [e["event"] for e in events].index("resolved")
    # One warning, pointing at the caller's line (the run_in_pyodide function), not micropkg's.
    assert len(notes) == 1, notes
    message, filename = notes[0]
    assert message == f"rd-lib 2.2 is not its newest release, 2.5: {reason}. Pin the version you want to decide it yourself."
    assert "micropkg" not in filename


def test_walked_back_across_a_major_version_is_refused_with_the_pin(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rd-lib2", "3.1", requires_dist=["rd-blocker2"]))
    index_server.add(make_wheel("rd-lib2", "3.0", requires_dist=["rd-blocker2"]))
    index_server.add(make_wheel("rd-lib2", "2.9"))
    index_server.add_project("rd-blocker2")  # known to the index, with no file at all
    url = index_server.simple_url
    installed, error, _, _ = _install(selenium, "rd-lib2", url)
    assert installed is None
    kind, message, blocker = error
    assert (kind, blocker) == ("UnavailableDependency", "rd-blocker2")
    assert "micropkg does not walk rd-lib2 back to an older major version on its own" in message
    assert "(e.g. 'rd-lib2<3')" in message
    # The pin it names installs.
    installed, error, _, notes = _install(selenium, "rd-lib2<3", url)
    assert (installed, error, notes) == ([("rd-lib2", "2.9")], None, [])


def test_explain_says_what_the_dependencies_decide(selenium, index_server, make_wheel):
    # issue 15: explain() names the newest file that fits, and, where resolving with the
    # dependencies ends elsewhere, says so: a walk-back, or why nothing can be installed.
    for version in ("3.2", "3.1"):
        index_server.add(make_wheel("rx-lib", version, requires_dist=["rx-blocker"]))
    index_server.add(make_wheel("rx-lib", "3.0"))
    index_server.add(make_wheel("rx-blocker", "1.0", tag=LINUX))
    index_server.add(make_wheel("rx-app", "1.0", requires_dist=["rx-blocker"]))

    @run_in_pyodide(packages=["micropkg"])
    async def explain(selenium, index_url):
        import micropkg

        lib = await micropkg.explain("rx-lib", index_urls=[index_url], pyodide_packages=False)
        app = await micropkg.explain("rx-app", index_urls=[index_url], pyodide_packages=False)
        return str(lib), lib.resolution, app.resolution

    text, lib, app = explain(selenium, index_server.simple_url)
    assert lib == ("installed rx-lib 3.0, not 3.2: newer releases need rx-blocker, and rx-blocker has no build"
                   " for Emscripten (its wheels are for other platforms)",), lib
    assert "  with its dependencies: installed rx-lib 3.0, not 3.2" in text
    assert len(app) == 1 and app[0].startswith("UnavailableDependency: Cannot install rx-app 1.0"), app
    assert "rx-blocker has no build for Emscripten" in app[0]

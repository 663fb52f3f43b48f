"""The resolution scenarios, inside a real Pyodide against the loopback index.

The same JSON data as ``tests/host/test_resolver_scenarios.py`` (tests/data/resolution,
read through tests/harness/scenarios.py); here every
release becomes a real wheel on the loopback index and ``micropkg.resolve``
runs in Pyodide, with the runtime's own tags and marker values. The cases
that pretend a distribution is installed stay on the host.
"""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide

from tests.harness.scenarios import scenarios

# These cases name pyemscripten_2026_0 or Python 3.14: they hold on Pyodide 314 only.
ABI_SPECIFIC = {"versions.json", "markers_python.json"}


def _cases():
    for scenario in scenarios():
        if "installed" in scenario.case.get("options", {}):
            continue
        marks = [pytest.mark.pyodide_abi("2026_0")] if scenario.file in ABI_SPECIFIC else []
        yield pytest.param(scenario.file, scenario.index, scenario.case, id=scenario.id, marks=marks)


def _publish(index_server, make_wheel, index: dict) -> None:
    for name, releases in index.items():
        for version, facts in releases.items():
            facts = facts or {}
            for tag in facts.get("tags", ["py3-none-any"]):
                wheel = make_wheel(
                    name, version, tag=tag,
                    requires_dist=facts.get("requires", []),
                    requires_python=facts.get("metadata_requires_python"),
                    provides_extra=facts.get("extras", []),
                )
                # The index's requires-python may differ from METADATA's (as on real indexes).
                index_server.add(wheel, yanked=facts.get("yanked", False),
                                 requires_python=facts.get("requires_python"))


@run_in_pyodide(packages=["micropkg"])
async def _resolve(selenium, requirements, index_url, options):
    import micropkg

    try:
        plan = await micropkg.resolve(requirements, index_urls=[index_url], **options)
    except micropkg.MicropkgError as exc:
        return None, (type(exc).__name__, str(exc))
    return {p.name: str(p.version) for p in plan}, None


@pytest.mark.parametrize("filename, index, case", list(_cases()))
def test_scenario_in_pyodide(selenium_standalone, index_server, make_wheel, filename, index, case):
    # A fresh runtime per case: after about ten resolutions in one long-lived
    # pytest-pyodide runtime, Pyodide 314 under Node dies with a fatal error
    # (not reproduced with 40 resolutions in a plain Node runtime; open).
    _publish(index_server, make_wheel, index)
    pins, error = _resolve(selenium_standalone, case["request"], index_server.simple_url, case.get("options", {}))
    if "error" in case:
        assert pins is None, pins
        kind, message = error
        assert kind == case["error"]["type"], message
        for fragment in case["error"]["contains"]:
            fragment = fragment.replace("https://memory.example/simple", index_server.simple_url)
            assert fragment in message, (fragment, message)
    else:
        assert error is None, error
        assert pins == case["pins"]


def test_thirty_packages_resolver_figures(selenium_standalone, index_server, make_wheel):
    # root -> 15 projects -> the same 15 more: 31 projects, 3 levels deep.
    level1 = [f"wide-a{i}" for i in range(15)]
    level2 = [f"wide-b{i}" for i in range(15)]
    index_server.add(make_wheel("wide-root", "1.0", requires_dist=level1))
    for name in level1:
        index_server.add(make_wheel(name, "1.0", requires_dist=level2))
        index_server.add(make_wheel(name, "0.9"))
    for name in level2:
        index_server.add(make_wheel(name, "1.0"))

    @run_in_pyodide(packages=["micropkg"])
    async def run(selenium, index_url):
        import micropkg

        plan = await micropkg.resolve("wide-root", index_urls=[index_url])
        return len(plan), plan.stats.attempts, plan.stats.resolver_seconds, plan.stats.requests

    count, attempts, seconds, requests = run(selenium_standalone, index_server.simple_url)
    assert count == 31 and attempts == 1
    # One page and one metadata file per project, nothing twice.
    assert requests == 62 and index_server.log.counts()["file"] == 0
    print(f"\nresolver CPU for 31 packages inside Pyodide: {seconds * 1000:.1f} ms")

"""What is installed already: no index request, no resolver (micropkg.installation.satisfied);
and the user's markers, evaluated for the runtime. Inside Pyodide, from the loopback index."""

from __future__ import annotations

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["micropkg"])
async def _install(selenium, requirements, index_url, kwargs=None, forget_resolver=False):
    """Install with an EventReporter; return (installed, error, events, resolver modules imported)."""
    import sys

    import micropkg

    if forget_resolver:
        # As in a fresh runtime whose site-packages a previous page load filled.
        for name in [n for n in sys.modules if n.startswith(("micropkg.resolution", "resolvelib"))]:
            del sys.modules[name]
    events = []
    try:
        installed = await micropkg.install(
            requirements, index_urls=[index_url], reporter=micropkg.EventReporter(events.append), **(kwargs or {})
        )
        result, error = [(i.name, i.version) for i in installed], None
    except micropkg.MicropkgError as exc:
        result, error = None, (type(exc).__name__, str(exc))
    loaded = sorted(n for n in sys.modules if n.startswith(("micropkg.resolution", "resolvelib")))
    return result, error, [{k: v for k, v in e.items() if k != "seconds"} for e in events], loaded


def test_an_installed_request_needs_no_index_and_no_resolver(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-sat", "1.0", requires_dist=["rt-sat-dep>=1", "rt-sat-win; sys_platform == 'win32'"]))
    index_server.add(make_wheel("rt-sat-dep", "1.5"))
    url = index_server.simple_url
    installed, error, _, loaded = _install(selenium, "rt-sat", url)
    assert error is None and installed == [("rt-sat", "1.0"), ("rt-sat-dep", "1.5")]
    assert "micropkg.resolution.resolver" in loaded  # the control: a resolution imports it
    index_server.log.reset()

    installed, error, events, loaded = _install(selenium, ["rt-sat>=1", "rt_sat.dep"], url, forget_resolver=True)

    assert (installed, error) == ([], None)
    assert len(index_server.log) == 0, list(index_server.log)
    assert loaded == []  # neither micropkg.resolution.* nor resolvelib was imported again
    assert events == [
        {"event": "resolving", "requirements": ["rt-sat>=1", "rt_sat.dep"]},
        {"event": "resolved", "packages": []},
        {"event": "installed", "packages": []},
    ]


def test_what_is_not_satisfied_goes_to_the_index_as_before(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-sat2", "1.0"))
    index_server.add(make_wheel("rt-sat2", "2.0"))
    url = index_server.simple_url
    assert _install(selenium, "rt-sat2==1.0", url)[:2] == ([("rt-sat2", "1.0")], None)
    index_server.log.reset()

    # An unmet version: the resolver says what to do, as it did.
    _, error, _, loaded = _install(selenium, "rt-sat2>=2", url, forget_resolver=True)
    assert error[0] == "ConflictError" and "reinstall=True" in error[1]
    assert "micropkg.resolution.resolver" in loaded
    assert index_server.log.count("simple-project") == 1
    index_server.log.reset()

    # reinstall=True and a constraint resolve even when everything is installed.
    installed, error, _, _ = _install(selenium, "rt-sat2==1.0", url, {"reinstall": True})
    assert (installed, error) == ([("rt-sat2", "1.0")], None)
    assert index_server.log.count("simple-project") == 1
    index_server.log.reset()
    installed, error, _, _ = _install(selenium, "rt-sat2", url, {"constraints": ["rt-sat2<2"]}, forget_resolver=True)
    assert (installed, error) == ([], None)
    assert index_server.log.count("simple-project") == 1


def test_a_requirement_for_another_platform_installs_nothing_and_says_so(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-winonly", "1.0"))
    index_server.add(make_wheel("rt-here", "1.0"))
    url = index_server.simple_url
    installed, error, events, _ = _install(selenium, 'rt-winonly; sys_platform == "win32"', url)
    assert (installed, error) == ([], None)
    assert {"event": "ignored", "requirement": 'rt-winonly; sys_platform == "win32"',
            "marker": 'sys_platform == "win32"'} in events
    assert len(index_server.log) == 0  # not even its page

    # Beside a requirement that does apply, through the resolver.
    installed, error, events, _ = _install(selenium, ['rt-winonly; os_name == "nt"', "rt-here"], url)
    assert (installed, error) == ([("rt-here", "1.0")], None)
    assert [e["event"] for e in events][:3] == ["resolving", "ignored", "resolved"]
    assert index_server.log.count("simple-project", path="/simple/rt-winonly/") == 0


def test_markers_that_cannot_be_evaluated_name_where_they_are(selenium, index_server, make_wheel):
    index_server.add(make_wheel("rt-badmark", "3.1", requires_dist=["rt-here2; python_version ~= 'abc'"]))
    index_server.add(make_wheel("rt-here2", "1.0"))
    url = index_server.simple_url
    _, error, _, _ = _install(selenium, "rt-here2; python_version ~= 'abc'", url)
    assert error[0] == "InvalidRequirement"
    assert "'rt-here2; python_version ~= \"abc\"'" in error[1] and "cannot be evaluated" in error[1]
    _, error, _, _ = _install(selenium, "rt-badmark", url)
    assert error[0] == "ResolutionError"
    assert "rt-badmark 3.1 declares 'Requires-Dist: rt-here2; python_version ~= \"abc\"'" in error[1]

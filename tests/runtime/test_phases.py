"""An install in Pyodide reports its phases (``Reporter.phase``) in order, with times that
never go back, counted from the call of ``install()``; ``resolve()``'s plan carries its own."""

from __future__ import annotations

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["micropkg"])
async def _phases(selenium, index_url):
    import time

    import micropkg
    from micropkg.reporter import Reporter

    class Phases(Reporter):
        def __init__(self):
            self.marks = []

        def phase(self, name, at):
            self.marks.append((name, at))

    reporter = Phases()
    begun = time.perf_counter()
    await micropkg.install("rt-phase-app", index_urls=[index_url], pyodide_packages=False, reporter=reporter)
    took = time.perf_counter() - begun
    plan = await micropkg.resolve("rt-phase-other", index_urls=[index_url], pyodide_packages=False)
    return reporter.marks, took, list(plan.stats.phases)


def test_an_install_reports_its_phases_in_order(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-phase-app", "1.0", requires_dist=["rt-phase-lib"]))
    index_server.add(make_wheel("rt-phase-lib", "1.0"))
    index_server.add(make_wheel("rt-phase-other", "1.0"))
    marks, took, resolved = _phases(selenium_standalone, index_server.simple_url)
    names = [name for name, _ in marks]
    assert names == [
        "request", "imports", "waiting", "resolving", "resolved", "downloading", "verifying", "writing", "done",
    ], marks
    times = [at for _, at in marks]
    assert times == sorted(times) and times[0] >= 0, marks
    assert times[-1] <= took, (marks, took)  # counted from the call, not from some earlier clock
    assert [name for name, _ in resolved] == ["waiting", "resolving", "resolved"], resolved
    assert [at for _, at in resolved] == sorted(at for _, at in resolved)

"""The reporters' output on CPython: the console lines and the event dicts."""

from __future__ import annotations

import io

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from micropkg.model.plan import WalkBack
from micropkg.reporter import announce
from micropkg.ui.default import default_reporter
from micropkg.ui.progress import ConsoleReporter, EventReporter, Reporter, format_size


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (999, "999 B"), (1_000, "1 kB"), (272_431, "272 kB"), (5_123_456, "5.1 MB")]
)
def test_sizes_read_like_pypi(size, text):
    assert format_size(size) == text


def test_console_lines():
    out = io.StringIO()
    reporter = ConsoleReporter(out)
    reporter.resolving(["a"])
    reporter.resolved([("a", "1.0"), ("b", "2.0")], 0.41)
    reporter.downloading(10, 20, 1, 2)
    reporter.downloaded(2, 5_100_000, 0.84)
    reporter.installing([("a", "1.0"), ("b", "2.0")])
    reporter.loading("b/_b.so", 1, 1)
    reporter.installed([("a", "1.0"), ("b", "2.0")], 1.32)
    assert out.getvalue().splitlines() == [
        "Resolved 2 packages in 0.4 s",
        "Downloaded 2 files, 5.1 MB in 0.8 s",
        "Installed 2 packages in 1.3 s",
        " + a==1.0",
        " + b==2.0",
    ]


def test_console_nothing_and_failure():
    out = io.StringIO()
    reporter = ConsoleReporter(out)
    reporter.resolved([], 0.01)
    reporter.installed([], 0.02)
    reporter.failed(RuntimeError("no wheel for x"))
    assert out.getvalue().splitlines() == [
        "Resolved 0 packages in 0.0 s",
        "Nothing to install: every requirement is already satisfied",
        "Failed: no wheel for x",
    ]


def test_events_are_plain_dicts():
    events = []
    reporter = EventReporter(events.append)
    reporter.resolving(["a>=1"])
    reporter.downloading(5, 10, 1, 2)
    reporter.loading("a/_a.so", 1, 3)
    reporter.installed([("a", "1.0")], 0.5)
    reporter.failed(KeyError("x"))
    assert events == [
        {"event": "resolving", "requirements": ["a>=1"]},
        {"event": "downloading", "done_bytes": 5, "total_bytes": 10, "done_files": 1, "files": 2},
        {"event": "loading", "library": "a/_a.so", "done": 1, "total": 3},
        {"event": "installed", "packages": [["a", "1.0"]], "seconds": 0.5},
        {"event": "failed", "error": "'x'", "type": "KeyError"},
    ]


def test_default_reporter_outside_a_notebook():
    assert type(default_reporter(None)) is Reporter
    assert type(default_reporter(True)) is ConsoleReporter


WALK_BACK = WalkBack(
    canonicalize_name("lib"), Version("2.2"), Version("2.5"), "newer releases need gone, and no index knows gone"
)


def test_console_says_what_was_ignored_and_walked_back():
    out = io.StringIO()
    reporter = ConsoleReporter(out)
    reporter.ignored('x; sys_platform == "win32"', 'sys_platform == "win32"')
    reporter.walked_back([WALK_BACK])
    assert out.getvalue().splitlines() == [
        """Ignoring x; sys_platform == "win32": its markers 'sys_platform == "win32"' do not match this runtime""",
        "Note: lib 2.2 is not its newest release, 2.5: newer releases need gone, and no index knows gone",
    ]


def test_events_for_ignored_and_walked_back():
    events = []
    reporter = EventReporter(events.append)
    reporter.ignored("x; os_name == 'nt'", 'os_name == "nt"')
    reporter.walked_back([WALK_BACK])
    assert events == [
        {"event": "ignored", "requirement": "x; os_name == 'nt'", "marker": 'os_name == "nt"'},
        {"event": "walked_back", "notices": [
            {"name": "lib", "chosen": "2.2", "newest": "2.5", "reason": "newer releases need gone, and no index knows gone"},
        ]},
    ]
    Reporter().walked_back([WALK_BACK])  # the base class hears it and does nothing
    Reporter().ignored("x", "y")


def test_announce_tells_the_reporter_and_warns_once_of_walk_backs():
    events = []
    ignored = [Requirement('x; sys_platform == "win32"')]
    with pytest.warns(UserWarning) as caught:
        announce(EventReporter(events.append), ignored, [WALK_BACK, WALK_BACK], stacklevel=1)
    assert [e["event"] for e in events] == ["ignored", "walked_back"]
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message) == (
        "lib 2.2 is not its newest release, 2.5: newer releases need gone, and no index knows gone;"
        " lib 2.2 is not its newest release, 2.5: newer releases need gone, and no index knows gone."
        " Pin the version you want to decide it yourself."
    )


def test_announce_without_walk_backs_does_not_warn(recwarn):
    events = []
    announce(EventReporter(events.append), [], [], stacklevel=1)
    assert events == [] and len(recwarn) == 0

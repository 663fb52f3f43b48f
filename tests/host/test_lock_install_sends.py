"""Which of a lock's files ``install(lock=...)`` sends for before the installer loads.

The sending itself is Pyodide's (tests/runtime/test_lock_early.py watches it);
the choice is plain logic: only http(s) locations the session would send, the
credentials of a URL as a header, at most the downloads' own bound at once,
and nothing for a project whose ``.dist-info`` is there at the locked version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from micropkg import lock_install
from micropkg.model.simple import DistFile
from micropkg.runtime import detect, early_files
from micropkg.session import Session


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict[str, str]]]:
    calls: list[tuple[str, dict[str, str]]] = []

    def send_files(requests, credentials=None):
        got = {url: headers for url, headers in requests}
        calls.extend(got.items())
        return {url: object() for url in got}

    monkeypatch.setattr(detect, "in_pyodide", lambda: True)
    monkeypatch.setattr(early_files, "send_files", send_files)
    return calls


def _files(*urls: str) -> dict[str, DistFile]:
    return {url: DistFile(filename=url.rsplit("/", 1)[1].partition("#")[0], url=url) for url in urls}


def test_only_locations_the_session_would_send(sent) -> None:
    files = _files(
        "https://files.example/a-1.0-py3-none-any.whl#sha256=00",
        "http://insecure.example/b-1.0-py3-none-any.whl",
        "http://127.0.0.1:8000/c-1.0-py3-none-any.whl",
        "emfs:/wheels/d-1.0-py3-none-any.whl",
        "https://user:secret@private.example/e-1.0-py3-none-any.whl",
    )
    by_location = lock_install._send_files(Session.open(), files, None)
    assert sorted(by_location) == [
        "http://127.0.0.1:8000/c-1.0-py3-none-any.whl",  # loopback: allowed without https
        "https://files.example/a-1.0-py3-none-any.whl",  # as the downloads read it: no fragment
        "https://user:secret@private.example/e-1.0-py3-none-any.whl",
    ]
    headers = dict(sent)
    assert headers["https://files.example/a-1.0-py3-none-any.whl"] == {}
    [(private, auth)] = [(url, h) for url, h in sent if "private" in url]
    assert "secret" not in private and auth["Authorization"].startswith("Basic ")


def test_at_most_the_downloads_bound_at_once(sent) -> None:
    files = _files(*(f"https://files.example/p{i}-1.0-py3-none-any.whl" for i in range(60)))
    by_location = lock_install._send_files(Session.open(), files, None)
    assert len(by_location) == len(sent) == lock_install._AT_ONCE == 24
    assert list(by_location) == list(files)[:24]  # no sizes: the first ones, in the lock's order


def test_the_biggest_files_are_asked_for_first(sent) -> None:
    sizes = {"a": 10, "b": None, "c": 5000, "d": 300}
    files = {
        f"https://files.example/{name}-1.0-py3-none-any.whl": DistFile(
            filename=f"{name}-1.0-py3-none-any.whl", url=f"https://files.example/{name}-1.0-py3-none-any.whl", size=size)
        for name, size in sizes.items()
    }
    lock_install._send_files(Session.open(), files, None)
    assert [url.rsplit("/", 1)[1][0] for url, _ in sent] == ["c", "d", "a", "b"]


def test_nothing_outside_pyodide(monkeypatch) -> None:
    monkeypatch.setattr(detect, "in_pyodide", lambda: False)
    assert lock_install._send_files(Session.open(), _files("https://files.example/a-1.0-py3-none-any.whl"), None) == {}


def test_a_project_whose_dist_info_is_there_is_not_sent(tmp_path: Path) -> None:
    (tmp_path / "a-1.0.dist-info").mkdir()
    (tmp_path / "b-1.0.dist-info").mkdir()
    files = _files(
        "https://files.example/a-1.0-py3-none-any.whl",  # there at this version
        "https://files.example/b-2.0-py3-none-any.whl",  # there at another
        "https://files.example/c-1.0-py3-none-any.whl",
    )
    assert sorted(lock_install._not_installed(files, tmp_path)) == [
        "https://files.example/b-2.0-py3-none-any.whl", "https://files.example/c-1.0-py3-none-any.whl",
    ]
    assert lock_install._not_installed(files, tmp_path / "missing") == files

"""Fixtures shared by the host tests."""

from pathlib import Path

import pytest


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An empty site-packages directory."""
    path = tmp_path / "site-packages"
    path.mkdir()
    return path

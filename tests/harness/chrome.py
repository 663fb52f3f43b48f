"""How headless Chromium is started here, for the tests and the benchmark alike.

As root in a container, quiet on the network: it must not phone home (only
PyPI, npm and Debian are reachable here) and QUIC to loopback only slows it
down. Each session gets a fresh ``--user-data-dir`` of its own (chromedriver
makes one; the benchmark passes its own).
"""

from __future__ import annotations

__all__ = ["CHROME_FLAGS"]

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # /dev/shm is small in containers; a page that outgrows it crashes its tab.
    "--disable-dev-shm-usage",
)

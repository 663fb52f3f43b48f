"""Fetch the METADATA corpus from PyPI (run by hand; the tests only read the files).

    python3 tests/host/data/metadata/fetch.py [project==version ...]

With no arguments it fetches every project in ``PROJECTS``, at the pinned
version, or at the newest one when none is pinned. For each project it picks
one wheel of that release (pure first, then anything), reads its PEP 658
``<wheel-url>.metadata`` file, and when that answers 404 (many do on PyPI as
seen from here) reads ``*.dist-info/METADATA`` out of the wheel through HTTP
range requests. The bytes are stored untouched as ``<name>-<version>.METADATA``
and ``SOURCES.txt`` records where each came from.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"

# Popular and big projects, projects whose build backend writes the licence
# text into a folded License field (setuptools, meson-python, scikit-build),
# and a few with unusual writers or old metadata versions.
PROJECTS = [
    "sglang==0.5.10.post1",  # issue 15: 105 Requires-Dist after a folded licence
    "boto3",
    "botocore",
    "awscli",
    "pandas",
    "numpy",
    "scipy",
    "torch",
    "transformers",
    "litellm",
    "langchain",
    "langchain-core",
    "langchain-community",
    "openai",
    "anthropic",
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "setuptools",
    "python-dateutil",
    "pyyaml",
    "typing-extensions",
    "packaging",
    "pip",
    "wheel",
    "attrs",
    "pydantic-core",
    "fastapi",
    "starlette",
    "jinja2",
    "markupsafe",
    "click",
    "rich",
    "pygments",
    "pytest",
    "cryptography",
    "cffi",
    "matplotlib",
    "pillow",
    "sqlalchemy",
    "aiohttp",
    "grpcio",
    "protobuf",
    "google-api-core",
    "huggingface-hub",
    "tokenizers",
    "networkx",
    "sympy",
    "scikit-learn",
    "ipython",
    "vllm",
    "apache-airflow",
    "jupyterlab",
    "six==1.10.0",
    "requests==2.0.0",
]


def get(url: str, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file, read with HTTP range requests."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.pos = url, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: 0, 1: self.pos, 2: self.size}[whence] + offset
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        end = min(self.pos + len(buffer), self.size)
        if end <= self.pos:
            return 0
        data = get(self.url, {"Range": f"bytes={self.pos}-{end - 1}"})
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def metadata_of(url: str, size: int) -> tuple[bytes, str]:
    try:
        return get(url + ".metadata"), url + ".metadata"
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    raw = io.BufferedReader(RangeFile(url, size), buffer_size=256 * 1024)
    with zipfile.ZipFile(raw) as archive:
        (member,) = [
            n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        return archive.read(member), f"{url}#{member}"


def fetch(spec: str) -> str:
    name, _, version = spec.partition("==")
    page = json.loads(get(INDEX + name + "/", {"Accept": ACCEPT}))
    wheels = [f for f in page["files"] if f["filename"].endswith(".whl") and not f.get("yanked")]
    if not version:
        from packaging.version import Version

        versions = {f["filename"].split("-")[1] for f in wheels}
        version = str(max(Version(v) for v in versions if not Version(v).is_prerelease))
    chosen = [f for f in wheels if f["filename"].split("-")[1] == version]
    chosen.sort(key=lambda f: (not f["filename"].endswith("-any.whl"), f["size"]))
    file = chosen[0]
    data, source = metadata_of(file["url"], file["size"])
    target = HERE / f"{name}-{version}.METADATA"
    target.write_bytes(data)
    return f"{target.name} {hashlib.sha256(data).hexdigest()} {source}"


def main(specs: list[str]) -> None:
    sources = HERE / "SOURCES.txt"
    for spec in specs or PROJECTS:
        line = fetch(spec)
        print(line, flush=True)
        old = sources.read_text().splitlines() if sources.exists() else []
        lines = {row.split()[0]: row for row in old} | {line.split()[0]: line}
        sources.write_text("".join(f"{row}\n" for _, row in sorted(lines.items())))


if __name__ == "__main__":
    main(sys.argv[1:])

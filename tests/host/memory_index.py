"""An index that lives in a dict, served through a MockTransport.

A snapshot maps project -> version -> release facts::

    {"a": {"1.0": {"requires": ["b>=1"], "requires_python": ">=3.8",
                   "yanked": "reason", "tags": ["py3-none-any"], "extras": ["x"],
                   "sdist": True}}}

``"sdist": True`` adds ``a-1.0.tar.gz`` (its bytes are its file name; it has no
``.metadata``: a builder says its metadata); ``"tags": []`` makes a release sdist-only.

Pages are PEP 691 JSON written by :mod:`tests.harness.pages`, the loopback
index's writer, with ``core-metadata``; ``.metadata`` files are served.
Wheels are not (resolution never needs them when metadata is advertised).
"""

from __future__ import annotations

import hashlib

from micropkg.net.transport import MockTransport, Request, Response
from tests.harness.pages import SIMPLE_JSON, PageFile, project_json

BASE = "https://memory.example"
INDEX_URL = BASE + "/simple"


def metadata_bytes(name: str, version: str, facts: dict) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if facts.get("metadata_requires_python"):
        lines.append(f"Requires-Python: {facts['metadata_requires_python']}")
    lines += [f"Provides-Extra: {e}" for e in facts.get("extras", [])]
    lines += [f"Requires-Dist: {r}" for r in facts.get("requires", [])]
    return ("\n".join(lines) + "\n").encode()


def _files(name: str, releases: dict) -> list[PageFile]:
    files = []
    for version, facts in releases.items():
        facts = facts or {}
        for tag in facts.get("tags", ["py3-none-any"]):
            filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
            files.append(PageFile(
                filename=filename,
                url=f"{BASE}/files/{filename}",
                sha256=hashlib.sha256(filename.encode()).hexdigest(),  # no wheel is ever fetched
                version=version,
                metadata_sha256=hashlib.sha256(metadata_bytes(name, version, facts)).hexdigest(),
                requires_python=facts.get("requires_python") or None,
                yanked=facts.get("yanked") or False,
            ))
        if facts.get("sdist"):
            filename = f"{name.replace('-', '_')}-{version}.tar.gz"
            files.append(PageFile(
                filename=filename, url=f"{BASE}/files/{filename}", version=version,
                sha256=hashlib.sha256(filename.encode()).hexdigest(),  # its bytes are its name
                requires_python=facts.get("requires_python") or None,
            ))
    return files


def memory_transport(snapshot: dict) -> MockTransport:
    metadata = {}
    for name, releases in snapshot.items():
        for version, facts in releases.items():
            for tag in (facts or {}).get("tags", ["py3-none-any"]):
                filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
                metadata[f"{BASE}/files/{filename}.metadata"] = metadata_bytes(name, version, facts or {})

    def handler(request: Request) -> Response:
        url = request.url
        if url in metadata:
            return Response(url, 200, {"content-type": "application/octet-stream"}, metadata[url])
        if url.startswith(f"{BASE}/files/") and url.endswith(".tar.gz"):
            return Response(url, 200, {"content-type": "application/octet-stream"}, url.rsplit("/", 1)[1].encode())
        prefix = INDEX_URL + "/"
        if url.startswith(prefix):
            name = url[len(prefix):].strip("/")
            if name in snapshot:
                return Response(url, 200, {"content-type": SIMPLE_JSON}, project_json(name, _files(name, snapshot[name])))
        return Response(url, 404, {"content-type": "text/plain"}, b"not found")

    return MockTransport(handler)

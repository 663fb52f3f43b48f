"""The chain's reading of a wheel's METADATA (JavaScript, micropkg.runtime.wheel_metadata) against micropkg's own.

The chain reads the METADATA out of a wheel it fetched ahead when the release has no
metadata file of its own, only to guess which pages come next; here, under Node, it must
read what ``model.zip_directory.metadata_from_wheel`` reads (stored and deflated entries,
a comment after the directory, other members around it) and say null, not throw or make
something up, for bytes that are not such a wheel.
"""

from __future__ import annotations

import base64
import io
import json
import random
import shutil
import subprocess
import zipfile

import pytest

from micropkg.model.zip_directory import metadata_from_wheel
from micropkg.runtime.wheel_metadata import WHEEL_METADATA
from tests.harness.wheels import make_wheel

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")

_RUN = """
const { source, wheels } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const read = eval(source);
Promise.all(wheels.map((w) => read(new Uint8Array(Buffer.from(w, "base64"))).catch((e) => "THREW " + e)))
  .then((texts) => console.log(JSON.stringify(texts)));
"""


def _read(wheels: list[bytes]) -> list[str | None]:
    done = subprocess.run(
        ["node", "-e", _RUN], capture_output=True, text=True, check=True, timeout=120,
        input=json.dumps({"source": WHEEL_METADATA, "wheels": [base64.b64encode(w).decode() for w in wheels]}),
    )
    return json.loads(done.stdout)


def _rezipped(data: bytes, compression: int, comment: bytes, rng: random.Random) -> bytes:
    """The same members, compressed otherwise, in another order, with a comment at the end."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", compression) as target:
        members = source.infolist()
        rng.shuffle(members)
        for info in members:
            target.writestr(info.filename, source.read(info))
        target.comment = comment
    return out.getvalue()


def test_the_chain_reads_the_metadata_micropkg_reads() -> None:
    rng = random.Random(658)
    wheels = []
    for i in range(40):
        built = make_wheel(
            f"demo-{i}", f"1.{i}", requires_dist=[f"dep-{j}>={j}" for j in range(rng.randint(0, 30))],
            files={f"demo_{i}/__init__.py": "x = 1\n" * rng.randint(1, 2000), f"demo_{i}/data.bin": bytes(rng.randbytes(3000))},
        )
        compression = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
        wheels.append((built.filename, _rezipped(built.data, compression, rng.choice([b"", b"a comment" * 50]), rng)))
    texts = _read([data for _, data in wheels])
    for (filename, data), text in zip(wheels, texts, strict=True):
        _, metadata = metadata_from_wheel(filename, data, url=f"https://files.example/{filename}")
        assert text == metadata.decode(), filename
    assert any("Requires-Dist: dep-29" in t for t in texts)  # not vacuous


def test_what_is_not_a_wheel_reads_as_null() -> None:
    good = make_wheel("demo", "1.0", requires_dist=["dep"]).data
    no_metadata = io.BytesIO()
    with zipfile.ZipFile(no_metadata, "w") as z:
        z.writestr("demo/__init__.py", "")
        z.writestr("demo-1.0.dist-info/RECORD", "")
    bzip2 = io.BytesIO()
    with zipfile.ZipFile(bzip2, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("demo-1.0.dist-info/METADATA", "Name: demo\n")
    cases = [b"", b"not a zip at all" * 100, good[: len(good) // 2], good[:-30], no_metadata.getvalue(), bzip2.getvalue()]
    assert _read(cases) == [None] * len(cases)

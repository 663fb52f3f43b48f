"""Big pages narrowed by the runtime's JSON.parse (micropkg.runtime.json_pages) against Python's parse.

The narrowing runs in JavaScript (here under Node, as in Pyodide); a page read
from its narrowed JSON must answer everything the resolver asks exactly as
the page parsed whole: the wheels for a WebAssembly runtime's platforms, the
sdists, and -- parsing the whole JSON then -- every file, and the wheels of any
other platform.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from micropkg.errors import IndexFormatError
from micropkg.model.candidates import SDIST_SUFFIXES
from micropkg.model.simple import may_be_webassembly, parse_json_page
from micropkg.model.tags import PlatformInfo
from micropkg.model.target import Target
from micropkg.runtime.json_pages import _NARROW, NARROW_PAGE

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")

URL = "https://index.example/simple/demo/"
TARGET = Target.for_platform(PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(4, 0, 9)))
PLATFORMS = [
    "any", "pyemscripten_2026_0_wasm32", "pyodide_2026_0_wasm32", "emscripten_4_0_9_wasm32", "manylinux_2_17_x86_64",
    "manylinux2014_aarch64.manylinux_2_17_aarch64", "win_amd64", "macosx_11_0_arm64", "musllinux_1_2_x86_64",
    "manylinux_2_17_x86_64.pyemscripten_2026_0_wasm32", "MANYLINUX_X86_64", "Any", "123", "wasi_0_wasm32",
    "pyemscripten_2025_0_wasm32",
]
OTHER_NAMES = ["demo-1.0.tar.gz", "demo-1.0.zip", "demo-1.0.WHL", "demo.whl", "demo-1.0-py3-none-any.egg"]

_RUN = """
const { source, page, bodies } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const narrow = eval(source)(eval(page));
console.log(JSON.stringify(bodies.map((body) => narrow(new Uint8Array(Buffer.from(body, "base64"))))));
"""


def _narrowed(bodies: list[bytes]) -> list[bytes | None]:
    import base64

    done = subprocess.run(
        ["node", "-e", _RUN], capture_output=True, text=True, check=True, timeout=120,
        input=json.dumps({"source": _NARROW, "page": NARROW_PAGE, "bodies": [base64.b64encode(b).decode() for b in bodies]}),
    )
    return [None if text is None else text.encode() for text in json.loads(done.stdout)]


def _page(rng: random.Random) -> bytes:
    files = []
    for i in range(rng.randint(1, 60)):
        if rng.random() < 0.1:
            name = rng.choice(OTHER_NAMES)
        else:
            name = f"demo-1.{i}-{rng.choice(['py3', 'cp314'])}-{rng.choice(['none', 'cp314'])}-{rng.choice(PLATFORMS)}.whl"
        entry: dict = {"filename": name, "url": f"https://files.example/{i}/{name}", "hashes": {"sha256": f"{i:064x}"}}
        if rng.random() < 0.5:
            entry["size"] = rng.randint(1, 10**9)
        if rng.random() < 0.2:
            entry["yanked"] = rng.choice([True, "broken"])
        if rng.random() < 0.2:
            entry["requires-python"] = ">=3.8"
        files.append(entry)
    # Other platforms' wheels outnumber the rest, as on pydantic-core's page.
    files += [
        {"filename": f"demo-0.{i}-cp312-cp312-win_amd64.whl", "url": f"https://files.example/w/{i}.whl", "hashes": {}}
        for i in range(rng.randint(0, 200))
    ]
    rng.shuffle(files)
    page: dict = {"name": rng.choice(["demo", "Demo"]), "files": files}
    if rng.random() < 0.7:
        page["meta"] = {"api-version": "1.1"}
    if rng.random() < 0.5:
        page["versions"] = ["1.0", "0.5"]
    return json.dumps(page).encode()


def test_a_narrowed_page_answers_as_the_whole_page() -> None:
    rng = random.Random(691)
    bodies = [_page(rng) for _ in range(300)]
    narrowed_pages = 0
    for body, narrowed in zip(bodies, _narrowed(bodies), strict=True):
        whole = parse_json_page(URL, body, "demo")
        if narrowed is None:
            continue
        narrowed_pages += 1
        assert len(narrowed) < len(body)
        page = parse_json_page(URL, body, "demo", narrowed=narrowed)
        assert (page.name, page.versions) == (whole.name, whole.versions)
        assert page.wheels_for(TARGET.platforms) == whole.wheels_for(TARGET.platforms)
        assert page.files_ending(SDIST_SUFFIXES) == whole.files_ending(SDIST_SUFFIXES)
        # Nothing the runtime's platforms could use was left out.
        kept = {raw["filename"] for raw in json.loads(narrowed)["files"]}
        assert {f.filename for f in whole.wheels_for(TARGET.platforms)} <= kept
        # More than that: the whole JSON is parsed.
        other = frozenset({"win_amd64", "any"})
        assert parse_json_page(URL, body, "demo", narrowed=narrowed).wheels_for(other) == whole.wheels_for(other)
        assert page.files == whole.files
        assert page.files_ending((".whl",)) == whole.files_ending((".whl",))
    assert narrowed_pages > 100, narrowed_pages  # not vacuous


def test_every_pyodide_platform_is_one_a_narrowed_page_keeps() -> None:
    assert TARGET.platforms and all(may_be_webassembly(p) for p in TARGET.platforms)
    assert not may_be_webassembly("manylinux_2_17_x86_64") and not may_be_webassembly("win_amd64")


def test_what_the_narrowing_leaves_to_pythons_parser() -> None:
    big = [{"filename": f"d-0.{i}-cp312-cp312-win_amd64.whl", "url": f"https://f.example/{i}.whl"} for i in range(50)]
    cases = [
        b"\xff\xfe not utf-8",  # Python's parser names the error
        b'{"name": "demo", "files": [1, 2',  # broken JSON
        b'[{"name": "demo"}]',  # not an object
        b'{"name": "demo", "files": {}}',  # no list
        json.dumps({"name": "demo", "files": big[:1] + [{"filename": "d-1.0.tar.gz", "url": "u"}] * 3}).encode(),  # little to drop
        # Every file is another platform's and there is no 'meta': narrowed to no files at all.
        json.dumps({"name": "demo", "files": big}).encode(),
    ]
    results = _narrowed(cases)
    assert results[:5] == [None] * 5
    assert results[5] is not None and json.loads(results[5])["files"] == []
    page = parse_json_page(URL, cases[5], "demo", narrowed=results[5])
    assert page.wheels_for(TARGET.platforms) == [] and len(page.files) == 50
    with pytest.raises(IndexFormatError, match="not valid JSON"):
        parse_json_page(URL, cases[0], "demo", narrowed=results[0])

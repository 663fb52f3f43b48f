"""The chain's guess (JavaScript, micropkg.runtime.chain) against packaging, as an oracle.

The chain guesses an install's likely pick without ``packaging`` (not imported
yet, on purpose). A wrong guess costs only a request, but a guess that is often
wrong would cost the whole point: here it is run under Node over thousands of
random project pages and compared with what packaging says the runtime takes --
the newest final release, not yanked, whose Requires-Python admits the runtime,
with a wheel for it (a pre-release when no final release has a usable file: such a wheel,
or an sdist the resolver would build); of that release, a file whose tags rank best
(``Target.tag_rank``: cpXY platform wheels, then abi3, then pure ones).

The tags drawn are what projects publish. The guess does not tell apart tags
packaging orders within one kind (``py313-none-any`` after ``py3-none-any``,
``cp313-abi3`` after ``cp312-abi3``, ``cp314-none-<platform>`` before
``cp313-abi3-<platform>``): no release offers both of such a pair, so TAGS holds one of each.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from micropkg.model.tags import PlatformInfo, emscripten_platforms
from micropkg.model.target import Target
from micropkg.runtime.chain import _CHAIN

PYTHON = "3.14.2"
INFO = PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(4, 0, 9))
PLATFORM = "pyemscripten_2026_0_wasm32"

TAGS = [
    "py3-none-any", "py2.py3-none-any", "cp314-none-any", f"cp314-cp314-{PLATFORM}", f"cp312-abi3-{PLATFORM}",
    f"py3-none-{PLATFORM}", "cp314-cp314-pyodide_2026_0_wasm32", "cp314-cp314-emscripten_4_0_9_wasm32",
    # none of these fit
    f"cp313-cp313-{PLATFORM}", "cp314-cp314-manylinux_2_17_x86_64", "cp314-cp314-pyemscripten_2025_0_wasm32",
    f"cp315-abi3-{PLATFORM}", "py2-none-any", "cp314-cp314t-" + PLATFORM,
]
VERSIONS = ["1.0", "1.2", "1.10", "2.0", "10.0", "1.0.post1", "2.0.post2", "2.0rc1", "3.0a1", "3.0.dev1", "1!0.5", "2.0.0"]
# Pages of pre-releases only (a final release among them is the usual pick, tested above).
PRE_VERSIONS = [
    "0.1a0", "0.1a1", "0.1a10", "0.1b2", "0.1rc1", "0.1.dev3", "0.1a1.dev1", "0.1rc1.post1", "0.1.post1.dev2",
    "0.2.0a1", "0.2.dev0", "0.1_alpha_2", "0.1.BETA3", "1!0.1a1", "0.1pre4", "0.1c3", "0.2a1.post2.dev3",
]
REQUIRES = [None, ">=3.8", ">=3.15", "<3.14", ">=3.14,<3.15", "==3.*", "!=3.14.*", "~=3.10", " >= 3.9 ", ">3.14.2", "==3.14.2"]

_RUN = """
const { source, python, platforms, pages } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const chain = eval(source)({ index: "https://index.example/simple/", headers: {}, accept: "", credentials: "",
  installed: [], wheelBound: 0, bytesBound: 0, maxRequests: 0, depth: 0, python, platforms, fetch: null });
console.log(JSON.stringify(pages.map((page) => chain.guess(page))));
"""


def _page(rng: random.Random, n: int) -> dict:
    files = []
    pool = PRE_VERSIONS + rng.sample(VERSIONS, rng.randint(0, 1)) if rng.random() < 0.3 else VERSIONS
    for version in rng.sample(pool, rng.randint(1, 6)):
        if rng.random() < 0.1:
            tag_sets = ["sdist"]
        else:
            tag_sets = rng.sample(TAGS, rng.randint(1, 3))
        for tags in tag_sets:
            filename = f"proj_{n}-{version}.tar.gz" if tags == "sdist" else f"proj_{n}-{version}-{tags}.whl"
            files.append({
                "filename": filename, "url": filename,
                "requires-python": rng.choice(REQUIRES), "yanked": rng.random() < 0.15, "size": 1000,
                "hashes": {"sha256": "0" * 64},
            })
    return {"name": f"Proj.{n}", "files": files}


def _packaging_pick(page: dict, target: Target) -> tuple[Version, int] | None:
    wheels: list[tuple[Version, int]] = []
    usable: list[Version] = []  # versions of every usable file, sdists too
    for file in page["files"]:
        if file["yanked"]:
            continue
        if file["requires-python"] is not None and not SpecifierSet(file["requires-python"]).contains(PYTHON):
            continue
        if file["filename"].endswith(".tar.gz"):
            usable.append(parse_sdist_filename(file["filename"])[1])
            continue
        _, version, _, tags = parse_wheel_filename(file["filename"])
        rank = target.tag_rank(frozenset(tags))
        if rank is not None:
            wheels.append((version, rank))
            usable.append(version)
    # PEP 440: pre-releases only when no final release is usable.
    if any(not v.is_prerelease for v in usable):
        wheels = [(v, rank) for v, rank in wheels if not v.is_prerelease]
    return max(wheels, key=lambda pick: (pick[0], -pick[1]), default=None)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")
def test_the_guess_is_what_packaging_would_take() -> None:
    rng = random.Random(783)
    pages = [_page(rng, n) for n in range(3000)]
    done = subprocess.run(
        ["node", "-e", _RUN],
        input=json.dumps({"source": _CHAIN, "python": [3, 14, 2], "platforms": emscripten_platforms(INFO), "pages": pages}), capture_output=True, text=True, check=True, timeout=120,
    )
    guesses = json.loads(done.stdout)
    target = Target.for_platform(INFO, PYTHON)
    wrong = []
    for page, guess in zip(pages, guesses, strict=True):
        expected = _packaging_pick(page, target)
        if guess is None:
            got = None
        else:
            _, version, _, tags = parse_wheel_filename(guess)
            got = (version, target.tag_rank(frozenset(tags)))
        if got != expected:
            wrong.append((page["name"], expected, guess))
    assert not wrong, f"{len(wrong)} of {len(pages)} guesses differ from packaging's pick: {wrong[:5]}"
    # Not a vacuous comparison: most pages have a pick, and some have none.
    assert 2000 < sum(g is not None for g in guesses) < 3000
    pre_picks = sum(g is not None and parse_wheel_filename(g)[1].is_prerelease for g in guesses)
    assert 200 < pre_picks, pre_picks  # pages of pre-releases only (luau-wasm 0.1a0's kind)


_REQUIRES_RUN = """
const { source, cases, markers } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const chain = eval(source)({ index: "https://index.example/simple/", headers: {}, accept: "", credentials: "",
  installed: ["already-here"], wheelBound: 0, bytesBound: 0, maxRequests: 0, depth: 0, python: [3, 14, 2],
  platforms: [], fetch: null, extras: {}, markers });
console.log(JSON.stringify(cases.map(([metadata, extras]) => chain.requires(metadata, extras))));
"""

NAMES = ["dep-a", "Dep_B", "dep.c[x]", "already-here"]
SPECS = ["", ">=1", " (>=1.0,<2)", "~=2.1"]
# Pyodide 314's values (runtime.detect.marker_environment there).
ENVIRONMENT = {
    "implementation_name": "cpython", "implementation_version": "3.14.2", "os_name": "posix",
    "platform_machine": "wasm32", "platform_release": "4.0.9", "platform_system": "Emscripten",
    "platform_version": "#1", "python_full_version": "3.14.2", "platform_python_implementation": "CPython",
    "python_version": "3.14", "sys_platform": "emscripten",
}
# Each marker, and whether the chain reads it (clauses `name op "value"` joined by and/or):
# what it reads must be what packaging says; what it cannot read is never followed.
MARKERS = {
    None: True, 'extra == "feat"': True, "extra=='feat'": True, 'extra == "Feat.Two"': True,
    'extra == "other"': True, 'python_version >= "3.8"': True, 'extra == "feat" and python_version >= "3.8"': True,
    'sys_platform == "emscripten"': True, 'python_version < "3.15"': True, 'python_version < "3.11"': True,
    'python_full_version >= "3.14.1"': True, 'python_full_version < "3.14.2"': True, 'python_version == "3.14"': True,
    'python_version ~= "3.10"': True, 'python_full_version ~= "3.14.3"': True, 'python_version != "3.14"': True,
    'python_version > "3.14"': True, 'python_version <= "3.14"': True,
    'sys_platform == "win32"': True, 'platform_system != "Windows"': True, 'implementation_name == "pypy"': True,
    'python_version < "3.11" or sys_platform == "emscripten"': True, 'os_name == "nt" or python_version >= "3.15"': True,
    'platform_machine == "x86_64" and python_version >= "3.8"': True, 'sys_platform in "emscripten wasi"': True,
    'sys_platform not in "linux darwin"': True, 'platform_python_implementation == "CPython"': True,
    'extra == "feat" or python_version < "3.8"': True,
    # not read: left to the resolver
    '(python_version < "3.9")': False, '"linux" in sys_platform': False, 'python_version == "3.14.*"': False,
    'platform_release >= "4"': False, 'implementation_name === "cpython"': False, 'python_version ~= "3"': False,
}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")
def test_the_chain_follows_what_markers_and_requested_extras_need_and_no_more() -> None:
    # Against packaging's marker evaluation in Pyodide's environment: the chain follows a
    # Requires-Dist line when it has no marker, or one it reads that holds there (`extra ==`
    # meaning an extra asked for); a marker it cannot read is left to the resolver (never
    # followed: a guess must not send what may not be needed).
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    rng = random.Random(685)
    cases = []
    markers = list(MARKERS)
    for _ in range(2000):
        lines = []
        for _ in range(rng.randint(0, 5)):
            marker = rng.choice(markers)
            lines.append(f"Requires-Dist: {rng.choice(NAMES)}{rng.choice(SPECS)}" + (f"; {marker}" if marker else ""))
        extras = rng.sample(["feat", "feat-two", "other"], rng.randint(0, 2))
        cases.append(("Metadata-Version: 2.1\nName: x\n" + "\n".join(lines) + "\n\nbody: Requires-Dist: nope\n", extras))
    done = subprocess.run(["node", "-e", _REQUIRES_RUN],
                          input=json.dumps({"source": _CHAIN, "cases": cases, "markers": ENVIRONMENT}),
                          capture_output=True, text=True, check=True, timeout=120)
    followed = json.loads(done.stdout)
    for (metadata, extras), names in zip(cases, followed, strict=True):
        expected = []
        for line in metadata.split("\n\n")[0].splitlines():
            if not line.startswith("Requires-Dist: "):
                continue
            text, _, marker_text = line[len("Requires-Dist: "):].partition(";")
            requirement = Requirement(line[len("Requires-Dist: "):])
            marker = requirement.marker
            read = MARKERS[marker_text.strip() or None]
            wanted = marker is None or (read and any(
                marker.evaluate({**ENVIRONMENT, "extra": extra}) for extra in [*extras, ""]
            ))
            if wanted and canonicalize_name(requirement.name) != "already-here":
                expected.append(canonicalize_name(requirement.name))
        assert [canonicalize_name(n) for n in names] == expected, (metadata, extras, names)
    # Not vacuous: extras were followed, and lines with other markers were not.
    assert sum(len(n) for n in followed) > 1000
    assert any('extra == "Feat.Two"' in m and "feat-two" in e and n for (m, e), n in zip(cases, followed))
    assert any(m.count("Requires-Dist") == 2 and 'python_version < "3.15"' in m and n for (m, _), n in zip(cases, followed))

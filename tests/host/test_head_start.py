"""Which requirements ``install`` sends early page requests for (micropkg.index.head_start).

The guess runs before packaging is imported, so it reads only plain names;
anything it cannot be sure of (a URL, a path, a wheel's file name, a marker)
is left to the resolver. What the early requests do is tested in Pyodide
(tests/runtime/test_head_start.py).
"""

import pytest

from micropkg.index.head_start import send_root_pages


class RecordingIndex:
    def __init__(self):
        self.sent = []

    def send_early(self, name):
        self.sent.append(name)
        return name


def early_names(requirements):
    index = RecordingIndex()
    on_their_way = send_root_pages((index, RecordingIndex()), requirements)
    assert on_their_way == index.sent
    return index.sent


@pytest.mark.parametrize(("requirement", "name"), [
    ("luau-wasm", "luau-wasm"),
    ("httpx[http2]", "httpx"),
    ("pycodestyle<2.9", "pycodestyle"),
    ("Zope.Interface ~= 6.0", "Zope.Interface"),
    ("foo (>=1.0)", "foo"),
    ("  spaced  ", "spaced"),
    ("pkg[a, b] != 2", "pkg"),
])
def test_plain_names_are_asked_for_early(requirement, name):
    assert early_names(requirement) == [name]


@pytest.mark.parametrize("requirement", [
    "foo @ https://example.org/foo-1.0-py3-none-any.whl",
    "https://example.org/foo-1.0-py3-none-any.whl",
    "emfs:/tmp/foo-1.0-py3-none-any.whl",
    "./foo-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any.whl",
    'foo; sys_platform == "emscripten"',  # the marker may rule it out
    "-r requirements.txt",
    "",
])
def test_anything_else_waits_for_the_parser(requirement):
    assert early_names(requirement) == []


def test_every_plain_name_of_a_list_goes_to_the_first_index_only():
    first, second = RecordingIndex(), RecordingIndex()
    send_root_pages((first, second), ["a", "https://x.example/b.whl", "c>=1"])
    assert first.sent == ["a", "c"] and second.sent == []
    assert send_root_pages((), ["a"]) == []


def test_the_public_api_imports_nothing_the_first_request_does_not_need() -> None:
    # An install's first page requests leave before packaging and resolvelib load (see
    # index.head_start): importing the API must not pull them in through any layer.
    import subprocess
    import sys

    code = "import sys, micropkg.api; print(sorted(m for m in sys.modules if m.split('.')[0] in ('packaging', 'resolvelib')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
    control = "import sys, micropkg.api, micropkg.resolution.resolver; print('resolvelib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", control], capture_output=True, text=True, check=True).stdout.strip() == "True"


# Run in a fresh interpreter posing as Pyodide: the cache store and the runtime's fetch are
# stand-ins (they need JavaScript), which record what had been imported when a page was sent.
_FIRST_REQUEST = """
import asyncio, json, sys, types
before = set(sys.modules)
sys.platform = "emscripten"
sent = []
class Sent:
    def __init__(self, url):
        self.url = url
        self.on_its_way = asyncio.get_running_loop().create_future()
        self.on_its_way.set_result(None)
    def abort(self):
        pass
def send_page(url, headers, cache, credentials=None, chain=None):
    sent.append((url, headers, sorted(set(sys.modules) - before)))
    raise SystemExit(json.dumps(sent))
class Requests:
    def __init__(self):
        self.pages = {}
early = types.ModuleType("micropkg.runtime.early")
early.send_page = send_page
early.EarlyRequests = Requests
stores = types.ModuleType("micropkg.runtime.stores")
stores.page_cache = lambda mode: None
sys.modules.update({"micropkg.runtime.early": early, "micropkg.runtime.stores": stores})
import micropkg
asyncio.run(micropkg.install("Surely_Not.Installed>=1", index_urls=["https://index.example/simple/"]))
"""


def test_an_install_sends_its_first_page_with_only_the_head_start_imported() -> None:
    # The same check inside Pyodide, with the real cache store and fetch:
    # tests/runtime/test_head_start.py::test_the_first_request_leaves_with_only_the_head_start_imported.
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FIRST_REQUEST], capture_output=True, text=True)
    [(url, headers, imported)] = json.loads(done.stderr.strip().splitlines()[-1])
    assert url == "https://index.example/simple/surely-not-installed/"
    assert headers["Accept"].startswith("application/vnd.pypi.simple.v1+json")
    micropkg_modules = {m for m in imported if m.startswith("micropkg")}
    assert micropkg_modules == {
        "micropkg", "micropkg.api", "micropkg.index", "micropkg.index.head_start",
        "micropkg.runtime", "micropkg.runtime.changes", "micropkg.runtime.detect", "micropkg.runtime.early",
        "micropkg.runtime.stores",
    }, sorted(micropkg_modules)
    heavy = {"urllib.parse", "ipaddress", "hashlib", "sysconfig", "packaging", "resolvelib"}
    assert not [m for m in imported if m in heavy or m.split(".")[0] in heavy], imported


def test_the_apis_default_waits_are_net_retrys():
    # api.py repeats them as literals so that importing it does not import net.retry.
    from micropkg import api
    from micropkg.net import retry

    assert (api.DEFAULT_TIMEOUT, api.DEFAULT_BUDGET) == (retry.DEFAULT_TIMEOUT, retry.DEFAULT_BUDGET)


def test_the_extras_of_bare_requests_are_named_as_pep_685_names_them() -> None:
    from micropkg.index.head_start import bare_extras

    assert bare_extras(["httpx[http2]", "Rich [Jupyter, Extra_One ]", "rich[extra.one]", "click", "six[x]>=1"]) == {
        "httpx": ["http2"], "rich": ["extra-one", "jupyter"],
    }
    assert bare_extras("Foo.Bar[a,,b]") == {"foo-bar": ["a", "b"]}
    assert bare_extras(["pkg[]", "pkg @ https://x/pkg.whl"]) == {}


def test_what_an_install_imports_makes_no_dataclass() -> None:
    # A dataclass costs ~1.5 ms to create in a fresh Pyodide 314, ~45 ms over an install's
    # imports (docs/architecture.md, Conventions): the classes on this path are plain.
    import subprocess
    import sys

    code = (
        "import dataclasses\n"
        "from micropkg.index import head_start\n"
        "made = []\n"
        "process = dataclasses._process_class\n"
        "def recording(cls, *args, **kwargs):\n"
        "    made.append(f'{cls.__module__}.{cls.__qualname__}')\n"
        "    return process(cls, *args, **kwargs)\n"
        "dataclasses._process_class = recording\n"
        "for name in ('micropkg.api', *head_start._SESSION, *head_start._RESOLVER):\n"
        "    __import__(name)\n"
        "print(sorted(m for m in made if m.startswith('micropkg')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out

"""pip-style requirements files: the lines pip reads, includes, and what is refused."""

from __future__ import annotations

import asyncio

import pytest

from micropkg.errors import InvalidRequirement
from micropkg.model.requirements_file import load_requirements_file


def load(files: dict[str, str], location: str = "https://host/app/requirements.txt", **kwargs):
    read: list[str] = []

    async def reader(where: str) -> str:
        read.append(where)
        return files[where]

    return asyncio.run(load_requirements_file(location, reader, **kwargs)), read


def test_comments_continuations_options_and_includes(monkeypatch):
    monkeypatch.setenv("PIN", "2.1")
    result, read = load({
        "https://host/app/requirements.txt": (
            "# a comment line\n"
            "msgpack>=1.2  # a trailing comment\n"
            "luau-wasm \\\n"
            "  ==0.1a0\n"
            "pydantic-core==${PIN}\n"
            "--extra-index-url https://extra.example/simple\n"
            "-i https://main.example/simple\n"
            "--pre\n"
            "-r sub/more.txt\n"
            "--constraint=https://other.example/c.txt\n"
            "-f https://links.example/\n"
            "dist/tool-1.0-py3-none-any.whl\n"
            "url-pkg @ https://files.example/url_pkg-1.0-py3-none-any.whl ; python_version >= '3.12'\n"
        ),
        "https://host/app/sub/more.txt": "jiter\n-c ../pins.txt\n",
        "https://host/app/pins.txt": "jiter<1\n",
        "https://other.example/c.txt": "msgpack<2\n-r nested-is-a-constraint-too.txt\n",
        "https://other.example/nested-is-a-constraint-too.txt": "bitarray<4\n",
    })
    assert result.requirements == [
        "msgpack>=1.2", "luau-wasm ==0.1a0", "pydantic-core==2.1", "jiter",
        "https://host/app/dist/tool-1.0-py3-none-any.whl",
        "url-pkg @ https://files.example/url_pkg-1.0-py3-none-any.whl ; python_version >= '3.12'",
    ]
    assert result.constraints == ["jiter<1", "msgpack<2", "bitarray<4"]
    assert result.index_urls == ["https://main.example/simple", "https://extra.example/simple"]
    assert result.pre
    assert result.notes == ["https://host/app/requirements.txt, line 11: -f is ignored by micropkg"]
    assert read[0] == "https://host/app/requirements.txt" and len(read) == 5


def test_local_paths_include_relative_to_the_file():
    result, read = load({"/srv/app/req.txt": "-r../common.txt\nx\n", "/srv/common.txt": "y\n"}, "/srv/app/req.txt")
    assert read == ["/srv/app/req.txt", "/srv/common.txt"] and result.requirements == ["y", "x"]


def test_errors_name_the_file_and_line():
    with pytest.raises(InvalidRequirement, match=r"requirements.txt, line 2: .*Expected"):
        load({"https://host/app/requirements.txt": "ok\nnot a requirement!\n"})
    with pytest.raises(InvalidRequirement, match="line 1: editable installs"):
        load({"https://host/app/requirements.txt": "-e .\n"})
    with pytest.raises(InvalidRequirement, match="line 1: unknown option --frobnicate"):
        load({"https://host/app/requirements.txt": "--frobnicate\n"})
    with pytest.raises(InvalidRequirement, match="include each other in a loop: .*a.txt -> .*b.txt -> .*a.txt"):
        load({"https://h/a.txt": "-r b.txt\n", "https://h/b.txt": "-r a.txt\n"}, "https://h/a.txt")
    with pytest.raises(InvalidRequirement, match="option -r needs a value"):
        load({"https://host/app/requirements.txt": "-r\n"})

"""Requirement strings and wheel URLs from the user."""

import pytest

from micropkg.errors import InvalidRequirement
from micropkg.model.requirements import parse_requirement, parse_requirements


def test_pep508_strings():
    req = parse_requirement("msgpack[x]>=1.2; python_version >= '3.13'")
    assert req.name == "msgpack" and req.extras == {"x"} and str(req.specifier) == ">=1.2"


def test_bare_wheel_url_gets_its_name_from_the_filename():
    url = "https://h.example/w/luau_wasm-0.1a0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    req = parse_requirement(url)
    assert req.name == "luau-wasm" and req.url == url


def test_emfs_path():
    req = parse_requirement("/tmp/x-1.0-py3-none-any.whl")
    assert req.name == "x" and req.url == "emfs:/tmp/x-1.0-py3-none-any.whl"


def test_a_list():
    assert [r.name for r in parse_requirements(["a", "b>1"])] == ["a", "b"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("foo[bar", "foo[bar"),
        ("foo >= 1 ; python_version >", "Expected a marker variable"),
        ("", "it is empty"),
        ("https://h.example/x-1.0.tar.gz", "not one named by URL"),
        ("https://h.example/not-a-wheel.whl", "is not a valid wheel filename"),
    ],
)
def test_invalid_requirements_show_the_string_and_where(text, fragment):
    with pytest.raises(InvalidRequirement) as info:
        parse_requirement(text)
    assert repr(text) in str(info.value) and fragment in str(info.value)

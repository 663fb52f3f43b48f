"""Platform tags of Pyodide runtimes, best first (PEP 425, PEP 783)."""

from packaging.tags import Tag

from micropkg.model.tags import PlatformInfo, emscripten_platforms, parse_platform, wheel_tags
from micropkg.model.target import Target

PYODIDE_314 = PlatformInfo(python_version=(3, 14), abi_version="2026_0", emscripten_version=(5, 0, 3))
PYODIDE_029 = PlatformInfo(python_version=(3, 13), abi_version="2025_0", emscripten_version=(4, 0, 9))


def test_platforms_newest_scheme_first():
    assert emscripten_platforms(PYODIDE_314) == [
        "pyemscripten_2026_0_wasm32",
        "pyodide_2026_0_wasm32",
        "emscripten_5_0_3_wasm32",
    ]


def test_no_abi_version_leaves_only_the_compiler_platform():
    info = PlatformInfo(python_version=(3, 12), abi_version=None, emscripten_version=(3, 1, 58))
    assert emscripten_platforms(info) == ["emscripten_3_1_58_wasm32"]


def test_tag_order_cpython_then_abi3_then_pure():
    tags = [str(t) for t in wheel_tags(PYODIDE_314)]
    assert tags[0] == "cp314-cp314-pyemscripten_2026_0_wasm32"
    assert tags.index("cp314-cp314-pyodide_2026_0_wasm32") < tags.index("cp314-abi3-pyemscripten_2026_0_wasm32")
    assert tags.index("cp313-abi3-pyemscripten_2026_0_wasm32") < tags.index("py3-none-pyemscripten_2026_0_wasm32")
    assert tags.index("py3-none-pyemscripten_2026_0_wasm32") < tags.index("py3-none-any")
    assert "cp314-cp314-pyemscripten_2025_0_wasm32" not in tags
    assert not any("manylinux" in t or "linux" in t for t in tags)


def test_this_interpreter_with_no_abi_ranks_between_platform_and_pure_tags():
    tags = [str(t) for t in wheel_tags(PYODIDE_314)]
    assert tags.index("py3-none-pyemscripten_2026_0_wasm32") < tags.index("cp314-none-any") < tags.index("py314-none-any")


def test_the_hosts_build_never_leaks_into_a_pyodide_targets_tags(monkeypatch):
    # A free-threaded debug CPython (3.14td) locking for Pyodide: left to
    # itself packaging would read the ABI off the host and want cp314td wheels.
    import sysconfig

    host = {"Py_GIL_DISABLED": 1, "Py_DEBUG": 1}
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: host.get(name, real(name)))
    assert {t.abi for t in wheel_tags(PYODIDE_314)} == {"cp314", "abi3", "none"}
    assert str(wheel_tags(PYODIDE_314)[0]) == "cp314-cp314-pyemscripten_2026_0_wasm32"


def test_each_runtime_takes_only_its_own_abi():
    t314 = Target.for_platform(PYODIDE_314)
    t029 = Target.for_platform(PYODIDE_029)
    wheel_314 = frozenset({Tag("cp314", "cp314", "pyemscripten_2026_0_wasm32")})
    wheel_313 = frozenset({Tag("cp313", "cp313", "pyemscripten_2025_0_wasm32")})
    assert t314.tag_rank(wheel_314) == 0 and t314.tag_rank(wheel_313) is None
    assert t029.tag_rank(wheel_313) == 0 and t029.tag_rank(wheel_314) is None
    pure = frozenset({Tag("py3", "none", "any")})
    assert t314.tag_rank(pure) is not None and t314.tag_rank(pure) > 0


def test_markers_of_a_pyodide_target():
    target = Target.for_platform(PYODIDE_314, "3.14.2")
    from packaging.markers import Marker

    assert target.marker_ok(Marker('sys_platform == "emscripten" and platform_machine == "wasm32"'))
    assert target.marker_ok(Marker('python_version >= "3.14"'))
    assert not target.marker_ok(Marker('sys_platform == "linux"'))
    assert target.marker_ok(Marker('extra == "fast"'), "fast")
    assert not target.marker_ok(Marker('extra == "fast"'))


def test_parse_platform():
    assert parse_platform("pyemscripten_2026_0_wasm32") == "2026_0"
    assert parse_platform("pyodide_2024_0_wasm32") == "2024_0"
    assert parse_platform("manylinux_2_17_x86_64") is None


def test_the_quick_filename_check_never_drops_a_wheel_that_fits():
    """``Target.may_fit`` skips parsing hopeless files; it must never skip one ``tag_rank`` accepts."""
    import itertools

    from packaging.utils import parse_wheel_filename

    from micropkg.model.pyodide_releases import target_for_pyodide

    interpreters = ["cp314", "cp313", "cp312", "py3", "py2.py3", "cp314t", "CP314", "pp310", "cp38.cp39.cp314"]
    abis = ["cp314", "cp313", "abi3", "none", "cp312", "cp314t", "NONE", "abi3.cp314"]
    platforms = [
        "pyemscripten_2026_0_wasm32", "pyemscripten_2025_0_wasm32", "pyodide_2025_0_wasm32",
        "pyodide_2024_0_wasm32", "emscripten_3_1_58_wasm32", "emscripten_4_0_9_wasm32", "any", "ANY",
        "manylinux_2_17_x86_64.manylinux2014_x86_64", "win_amd64", "macosx_11_0_arm64.any",
    ]
    checked = kept = 0
    for version in ("314.0.7", "0.29.5", "0.27.7"):
        target = target_for_pyodide(version)
        for py, abi, plat in itertools.product(interpreters, abis, platforms):
            for build in ("", "-1"):
                name = f"demo-1.0{build}-{py}-{abi}-{plat}.whl"
                fits = target.tag_rank(parse_wheel_filename(name)[3]) is not None
                checked += 1
                kept += fits
                assert target.may_fit(name) or not fits, (version, name)
    assert kept > 50 and checked - kept > 1000  # both sides of the check were exercised


def test_the_resolvers_view_of_a_page_is_the_usable_part_of_the_full_one():
    from micropkg.model.candidates import judge_files
    from micropkg.model.pyodide_releases import target_for_pyodide
    from micropkg.model.simple import DistFile, ProjectPage

    names = [
        "demo-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp314-cp314-manylinux_2_17_x86_64.whl", "demo-1.0.tar.gz", "demo-2.0-cp313-abi3-any.whl",
        "other-1.0-py3-none-any.whl", "demo-x-py3-none-any.whl", "demo-3.0-py3-none-any.whl",
    ]
    page = ProjectPage(name="demo", url="https://example.org/simple/demo/", files=tuple(
        DistFile(filename=n, url=f"https://example.org/f/{n}", hashes={}, requires_python=">=3.99" if n.startswith("demo-3") else None,
                 yanked=None, core_metadata=None, size=None, upload_time=None)
        for n in names
    ))
    target = target_for_pyodide("314.0.7")
    full = judge_files(page, target)
    quick = judge_files(page, target, usable_only=True)
    assert quick == [v for v in full if v.refused is None]
    assert [v.file.filename for v in quick] == [names[0], names[1]]

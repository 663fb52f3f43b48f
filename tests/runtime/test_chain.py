"""A cold install follows its first answers in JavaScript while the resolver loads.

``micropkg.runtime.chain``: from a requested project's page, the likely pick's
metadata and wheel, then its dependencies' pages, are asked for before the
resolver (which imports for longer than a round trip takes) needs them; the
resolver's own requests take those over. Each test runs in a fresh runtime and
records, at the runtime's ``fetch``, who sent each request: the chain's requests
are told by their JavaScript stack (its sending function is ``sendAhead``).
The index's log shows whether anything was asked for twice.
"""

from __future__ import annotations

import collections
import json

from pytest_pyodide import run_in_pyodide

from tests.harness.engines import runtime_follows_chain


@run_in_pyodide(packages=["micropkg"])
async def _install_watching(selenium, requirements, index_urls, options, metadata_hosts=None):
    from pyodide.code import run_js
    from pyodide.ffi import create_proxy

    import micropkg
    from micropkg.index import client, head_start

    if metadata_hosts is not None:  # file hosts taken to serve .metadata the page does not advertise
        head_start.METADATA_HOSTS = client.METADATA_HOSTS = frozenset(metadata_hosts)

    sent = []
    hook = create_proxy(lambda url, ahead, auth: sent.append((url.split("/", 3)[-1], ahead, auth)))
    restore = run_js(
        "(hook) => { const real = globalThis.fetch;"
        " globalThis.fetch = (request, init) => {"
        "  const headers = (init && init.headers) || {};"
        "  hook(String(request.url ?? request), (() => { const limit = Error.stackTraceLimit; Error.stackTraceLimit = 50; const stack = new Error().stack; Error.stackTraceLimit = limit; return stack; })().includes('sendAhead'), headers.Authorization ?? '');"
        "  return real(request, init); };"
        " return () => { globalThis.fetch = real; }; }"
    )(hook)
    try:
        installed = await micropkg.install(requirements, index_urls=index_urls, pyodide_packages=False, **options)
        outcome = sorted([i.name, i.version] for i in installed)
    except micropkg.MicropkgError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    finally:
        restore()
        hook.destroy()
    return sent, outcome


def _check_ahead(sent, surely, maybe) -> None:
    """The chain sent all of ``surely`` (what the requested page leads to: it answers while
    Python imports), and nothing besides but some of ``maybe``: a dependency's requests are the
    chain's, or the resolver's when it asks first (a runtime that imported already, a slow cache
    probe); the chain then sends none of its own (each test checks every path is asked once)."""
    ahead = {url for url, by_chain, _ in sent if by_chain}
    assert set(surely) <= ahead <= set(surely) | set(maybe), sent


def _wheel_and_metadata(filename: str) -> list[str]:
    """The chain's two requests for a guessed wheel, as ``sent`` records them."""
    return [f"files/{filename}", f"files/{filename}.metadata"]


def _assert_each_asked_once(index_server) -> None:
    assert all(count == 1 for count in _paths(index_server).values()), _paths(index_server)


def _paths(index_server) -> collections.Counter[str]:
    # GETs only: a browser sends a CORS preflight (OPTIONS) before a request with Authorization.
    return collections.Counter(entry.path for entry in index_server.log if entry.method == "GET")


def test_the_likely_pick_and_its_dependencies_are_asked_for_ahead_and_taken_over(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-chain", "1.0"))
    index_server.add(make_wheel("rt-chain", "2.0", requires_dist=["rt-chain-dep>=1", 'rt-chain-extra; extra == "x"']))
    # Not the guess: a pre-release, a yanked release, one for a later Python.
    index_server.add(make_wheel("rt-chain", "3.0a1"))
    index_server.add(make_wheel("rt-chain", "2.1"), yanked="broken")
    index_server.add(make_wheel("rt-chain", "2.2", requires_python=">=3.99"))
    index_server.add(make_wheel("rt-chain-dep", "1.0"))
    index_server.add(make_wheel("rt-chain-extra", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-chain", [index_server.simple_url], {})
    assert outcome == [["rt-chain", "2.0"], ["rt-chain-dep", "1.0"]]
    _check_ahead(
        sent, _wheel_and_metadata("rt_chain-2.0-py3-none-any.whl"),
        [*_wheel_and_metadata("rt_chain_dep-1.0-py3-none-any.whl"), "simple/rt-chain-dep/"],
    )
    # The resolver and installer read every one of them, through the chain's request.
    _assert_each_asked_once(index_server)
    assert sum(_paths(index_server).values()) == 6, [e.path for e in index_server.log]


def test_a_guess_the_resolver_does_not_confirm_costs_only_its_requests(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-guess", "1.0"))
    index_server.add(make_wheel("rt-guess", "2.0", requires_dist=["rt-base<1"]))  # no rt-base below 1
    index_server.add(make_wheel("rt-base", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-guess", [index_server.simple_url], {})
    assert outcome == [["rt-guess", "1.0"]]  # the resolver backtracked past the guess
    assert "files/rt_guess-2.0-py3-none-any.whl" in [url for url, by_chain, _ in sent if by_chain]
    paths = _paths(index_server)
    assert paths["/files/rt_guess-1.0-py3-none-any.whl"] == 1
    assert all(count == 1 for count in paths.values()), paths


def test_a_project_of_pre_releases_only_is_guessed_as_the_resolver_picks(selenium_standalone, index_server, make_wheel):
    # luau-wasm's case: 0.1a0 is all there is, and PEP 440 lets the resolver take it.
    index_server.add(make_wheel("rt-alpha", "0.1a0"))
    index_server.add(make_wheel("rt-alpha", "0.1a1", requires_dist=["rt-alpha-dep"]))
    index_server.add(make_wheel("rt-alpha-dep", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-alpha", [index_server.simple_url], {})
    assert outcome == [["rt-alpha", "0.1a1"], ["rt-alpha-dep", "1.0"]]
    _check_ahead(
        sent, _wheel_and_metadata("rt_alpha-0.1a1-py3-none-any.whl"),
        [*_wheel_and_metadata("rt_alpha_dep-1.0-py3-none-any.whl"), "simple/rt-alpha-dep/"],
    )
    _assert_each_asked_once(index_server)


def test_a_constrained_request_is_not_guessed(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-pinned", "1.0"))
    index_server.add(make_wheel("rt-pinned", "2.0"))
    sent, outcome = _install_watching(selenium_standalone, ["rt-pinned<2"], [index_server.simple_url], {})
    assert outcome == [["rt-pinned", "1.0"]]
    assert not [url for url, by_chain, _ in sent if by_chain], sent
    sent, outcome = _install_watching(
        selenium_standalone, ["rt-pinned"], [index_server.simple_url], {"constraints": ["rt-pinned<2"], "reinstall": True},
    )
    assert outcome == [["rt-pinned", "1.0"]]
    assert not [url for url, by_chain, _ in sent if by_chain], sent


def test_the_index_headers_go_with_the_chain_and_insecure_urls_are_not_followed(
    selenium_standalone, index_server, make_wheel,
):
    built = make_wheel("rt-auth", "1.0")
    index_server.add(built)
    token = {"Authorization": "Bearer chain-test"}
    sent, outcome = _install_watching(selenium_standalone, "rt-auth", [[index_server.simple_url, token]], {})
    assert outcome == [["rt-auth", "1.0"]]
    ahead = [(url, auth) for url, by_chain, auth in sent if by_chain]
    # The same headers as the index client's, so its requests could take these over.
    assert sorted(ahead) == [
        ("files/rt_auth-1.0-py3-none-any.whl", "Bearer chain-test"),
        ("files/rt_auth-1.0-py3-none-any.whl.metadata", "Bearer chain-test"),
    ], sent
    _assert_each_asked_once(index_server)

    # A page pointing its file at plain http elsewhere: the chain does not go there.
    page = {
        "meta": {"api-version": "1.1"}, "name": "rt-plain", "versions": ["1.0"],
        "files": [{
            "filename": "rt_plain-1.0-py3-none-any.whl", "url": "http://192.0.2.1/rt_plain-1.0-py3-none-any.whl",
            "hashes": {"sha256": built.sha256}, "size": len(built.data), "core-metadata": True,
        }],
    }
    index_server.inject("/simple/rt-plain/", body=json.dumps(page).encode(), content_type="application/vnd.pypi.simple.v1+json")
    sent, outcome = _install_watching(selenium_standalone, "rt-plain", [index_server.simple_url], {})
    assert isinstance(outcome, str) and "192.0.2.1" in outcome, outcome  # the resolver refuses the URL, with a message
    assert not [url for url, by_chain, _ in sent if by_chain], sent
    assert not [url for url, _, _ in sent if "192.0.2.1" in url], sent


def test_without_advertised_metadata_the_wheel_sent_ahead_is_read_for_it(selenium_standalone, index_server, make_wheel):
    # As PyPI's pages seen from some networks: no core-metadata key, and a file host not known to
    # serve .metadata anyway. The chain fetches the likely pick's wheel and follows the METADATA
    # in it (runtime.wheel_metadata: deflated, read with Node's zlib or a browser's
    # DecompressionStream); the resolver reads that METADATA out of the same wheel, with no
    # request of its own (no range requests, no second GET).
    index_server.core_metadata = False
    index_server.add(make_wheel("rt-bare", "1.0", requires_dist=["rt-bare-dep"]))
    index_server.add(make_wheel("rt-bare-dep", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-bare", [index_server.simple_url], {})
    assert outcome == [["rt-bare", "1.0"], ["rt-bare-dep", "1.0"]]
    dependency = ["simple/rt-bare-dep/", "files/rt_bare_dep-1.0-py3-none-any.whl"]
    _check_ahead(sent, ["files/rt_bare-1.0-py3-none-any.whl"], dependency)
    if runtime_follows_chain(selenium_standalone):
        # The wheel lands on loopback long before the resolver has imported: its METADATA led on.
        assert dependency[0] in [url for url, by_chain, _ in sent if by_chain], sent
    assert _paths(index_server) == {
        "/simple/rt-bare/": 1, "/files/rt_bare-1.0-py3-none-any.whl": 1,
        "/simple/rt-bare-dep/": 1, "/files/rt_bare_dep-1.0-py3-none-any.whl": 1,
    }, [(e.method, e.path, e.headers.get("range")) for e in index_server.log]


def test_a_host_known_to_serve_unadvertised_metadata_is_asked_for_it_ahead(selenium_standalone, index_server, make_wheel):
    # PyPI's file host serves .metadata files its pages (seen from here) do not advertise: the
    # chain asks for them as the index client would, follows their dependencies, and a 404
    # (many older wheels have none) leaves the wheel sent ahead to be read instead.
    index_server.core_metadata = False
    index_server.add(make_wheel("rt-served", "1.0", requires_dist=["rt-unserved"]))
    index_server.add(make_wheel("rt-unserved", "1.0"), metadata=None)
    sent, outcome = _install_watching(
        selenium_standalone, "rt-served", [index_server.simple_url], {}, metadata_hosts=["127.0.0.1"],
    )
    assert outcome == [["rt-served", "1.0"], ["rt-unserved", "1.0"]]
    _check_ahead(
        sent, _wheel_and_metadata("rt_served-1.0-py3-none-any.whl"),
        [*_wheel_and_metadata("rt_unserved-1.0-py3-none-any.whl"), "simple/rt-unserved/"],
    )
    # Everything the resolver and installer read came through the chain's requests, once.
    _assert_each_asked_once(index_server)
    assert sum(_paths(index_server).values()) == 6, [e.path for e in index_server.log]


def test_what_the_cache_holds_is_not_asked_for_ahead(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-warm", "1.0", requires_dist=["rt-warm-dep"]))
    index_server.add(make_wheel("rt-warm-dep", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-warm", [index_server.simple_url], {})
    assert outcome == [["rt-warm", "1.0"], ["rt-warm-dep", "1.0"]]
    _check_ahead(
        sent, _wheel_and_metadata("rt_warm-1.0-py3-none-any.whl"),
        [*_wheel_and_metadata("rt_warm_dep-1.0-py3-none-any.whl"), "simple/rt-warm-dep/"],
    )
    _uninstall(selenium_standalone, ["rt-warm", "rt-warm-dep"])
    index_server.log.reset()
    # The test index sends no Cache-Control: the requested page is asked for again, and its
    # answer followed; the files it leads to, and the dependency's page, are in the cache.
    sent, outcome = _install_watching(selenium_standalone, "rt-warm", [index_server.simple_url], {})
    assert outcome == [["rt-warm", "1.0"], ["rt-warm-dep", "1.0"]]
    assert not [url for url, by_chain, _ in sent if by_chain], sent
    assert not [e.path for e in index_server.log if e.kind in ("file", "metadata")], list(index_server.log)


@run_in_pyodide(packages=["micropkg"])
async def _uninstall(selenium, names):
    import micropkg

    await micropkg.uninstall(names)


def test_the_requested_extras_dependencies_are_followed_and_no_others(selenium_standalone, index_server, make_wheel):
    index_server.add(make_wheel("rt-ext", "1.0", requires_dist=['rt-ext-dep; extra == "feat"', 'rt-ext-other; extra == "other"']))
    index_server.add(make_wheel("rt-ext-dep", "1.0"))
    index_server.add(make_wheel("rt-ext-other", "1.0"))
    sent, outcome = _install_watching(selenium_standalone, "rt-ext[feat]", [index_server.simple_url], {})
    assert outcome == [["rt-ext", "1.0"], ["rt-ext-dep", "1.0"]]
    _check_ahead(
        sent, _wheel_and_metadata("rt_ext-1.0-py3-none-any.whl"),
        [*_wheel_and_metadata("rt_ext_dep-1.0-py3-none-any.whl"), "simple/rt-ext-dep/"],
    )
    assert "/simple/rt-ext-other/" not in _paths(index_server)  # nobody asked for the other extra's
    _assert_each_asked_once(index_server)

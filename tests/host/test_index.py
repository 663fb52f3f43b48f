"""The index client over a MockTransport: negotiation, templates, metadata, hashes, origins."""

import asyncio
import hashlib
import json

import pytest

from micropkg.errors import HTTPStatusError, IndexFormatError, IntegrityError
from micropkg.index.client import ACCEPT, Index
from micropkg.model.simple import DistFile
from micropkg.net.transport import MockTransport, Response

JSON = {"content-type": "application/vnd.pypi.simple.v1+json"}
PAGE = {"meta": {"api-version": "1.1"}, "name": "demo", "files": [
    {"filename": "demo-1.0-py3-none-any.whl", "url": "https://files.example/demo-1.0-py3-none-any.whl",
     "hashes": {"sha256": hashlib.sha256(b"wheel").hexdigest()}}]}


def run(coro):
    return asyncio.run(coro)


def test_json_preferred_and_names_normalised():
    transport = MockTransport(lambda r: Response(r.url, 200, JSON, json.dumps(PAGE).encode()))
    page = run(Index("https://idx.example/simple/", transport).project("DeMo"))
    (request,) = transport.requests
    assert request.url == "https://idx.example/simple/demo/"
    assert request.headers["Accept"] == ACCEPT and ACCEPT.startswith("application/vnd.pypi.simple.v1+json")
    assert page.name == "demo" and page.files[0].filename == "demo-1.0-py3-none-any.whl"


def test_template_url_and_legacy_json():
    legacy = {"info": {"name": "demo"}, "releases": {"1.0": [
        {"filename": "demo-1.0-py3-none-any.whl", "url": "https://files.example/demo-1.0-py3-none-any.whl",
         "digests": {"sha256": "ab" * 32}}]}}
    transport = MockTransport(lambda r: Response(r.url, 200, {"content-type": "application/json"}, json.dumps(legacy).encode()))
    page = run(Index("https://pypi.example/pypi/{package_name}/json", transport).project("Demo"))
    assert transport.requests[0].url == "https://pypi.example/pypi/demo/json"
    assert page.files[0].hashes == {"sha256": "ab" * 32}


def test_html_answer_is_parsed_as_pep503():
    body = b'<a href="/f/demo-1.0-py3-none-any.whl#sha256=' + b"cd" * 32 + b'">demo-1.0-py3-none-any.whl</a>'
    transport = MockTransport(lambda r: Response(r.url, 200, {"content-type": "text/html; charset=utf-8"}, body))
    page = run(Index("https://idx.example/simple", transport).project("demo"))
    assert page.files[0].url == "https://idx.example/f/demo-1.0-py3-none-any.whl"


def test_404_means_not_on_this_index_and_500_is_an_error():
    index = Index("https://idx.example/simple", MockTransport(lambda r: Response(r.url, 404, {}, b"")))
    assert run(index.project("demo")) is None
    index = Index("https://idx.example/simple", MockTransport(lambda r: Response(r.url, 503, {"content-type": "text/html"}, b"down")))
    with pytest.raises(HTTPStatusError) as info:
        run(index.project("demo"))
    assert info.value.status == 503 and "https://idx.example/simple/demo/" in str(info.value)


def test_an_error_page_with_200_is_not_an_index():
    index = Index("https://idx.example/simple", MockTransport(lambda r: Response(r.url, 200, {"content-type": "image/png"}, b"x")))
    with pytest.raises(IndexFormatError, match="content type 'image/png'"):
        run(index.project("demo"))


def _file(**kw):
    base = dict(filename="demo-1.0-py3-none-any.whl", url="https://files.pythonhosted.org/p/demo-1.0-py3-none-any.whl",
                hashes={"sha256": hashlib.sha256(b"wheel").hexdigest()})
    base.update(kw)
    return DistFile(**base)


def test_metadata_fetched_from_pypi_file_host_even_when_not_advertised():
    transport = MockTransport(lambda r: Response(r.url, 200, {}, b"Name: demo\nVersion: 1.0\n"))
    data = run(Index("https://pypi.org/simple", transport).metadata(_file()))
    assert data.startswith(b"Name: demo") and transport.requests[0].url.endswith(".whl.metadata")


def test_metadata_not_advertised_elsewhere_is_not_asked_for():
    transport = MockTransport(lambda r: Response(r.url, 200, {}, b""))
    assert run(Index("https://idx.example/simple", transport).metadata(_file(url="https://idx.example/f/demo-1.0-py3-none-any.whl"))) is None
    assert transport.requests == []


def test_metadata_with_a_wrong_hash_is_refused():
    transport = MockTransport(lambda r: Response(r.url, 200, {}, b"tampered"))
    with pytest.raises(IntegrityError) as info:
        run(Index("https://idx.example/simple", transport).metadata(_file(core_metadata={"sha256": "00" * 32})))
    assert info.value.expected == "00" * 32 and info.value.actual == hashlib.sha256(b"tampered").hexdigest()


def test_wheel_download_checks_hash_and_size():
    transport = MockTransport(lambda r: Response(r.url, 200, {}, b"wheel"))
    index = Index("https://idx.example/simple", transport)
    assert run(index.wheel(_file())) == b"wheel"
    with pytest.raises(IntegrityError) as info:
        run(index.wheel(_file(hashes={"sha256": "11" * 32})))
    assert "https://files.pythonhosted.org/p/demo-1.0-py3-none-any.whl" in str(info.value)
    assert "nothing was installed" in str(info.value)
    with pytest.raises(IntegrityError, match="received 5 bytes, the index said 6"):
        run(index.wheel(_file(size=6, hashes={"sha256": "22" * 32})))
    with pytest.raises(IndexFormatError, match="without a hash"):
        run(index.wheel(_file(hashes={})))


def test_index_headers_go_only_to_the_index_origin():
    transport = MockTransport(lambda r: Response(r.url, 200, JSON, json.dumps(PAGE).encode()) if "simple" in r.url else Response(r.url, 200, {}, b"wheel"))
    index = Index("https://idx.example/simple", transport, headers={"Authorization": "Basic c2VjcmV0"})
    page = run(index.project("demo"))
    run(index.wheel(page.files[0]))
    page_request, file_request = transport.requests
    assert page_request.headers["Authorization"] == "Basic c2VjcmV0"
    assert "Authorization" not in file_request.headers  # files.example is another origin


def test_a_page_sent_early_is_the_one_project_reads():
    body = json.dumps({**PAGE, "name": "demo-project"}).encode()
    transport = MockTransport(lambda r: Response(r.url, 200, JSON, body))
    index = Index("https://idx.example/simple", transport)

    async def early_then_asked():
        index.send_early("Demo_Project")
        index.send_early("demo.project")  # the same page, by PEP 503's name: asked once
        await asyncio.sleep(0)
        sent_before_asked = len(transport.requests)
        page = await index.project("demo-project")
        return sent_before_asked, page

    sent_before_asked, page = run(early_then_asked())
    assert sent_before_asked == 1 and len(transport.requests) == 1
    assert transport.requests[0].url == "https://idx.example/simple/demo-project/"
    assert transport.requests[0].headers["Accept"] == ACCEPT
    assert page.name == "demo-project" and page.files[0].filename == "demo-1.0-py3-none-any.whl"


def test_early_pages_nobody_asked_for_are_dropped_without_a_trace():
    async def handle(request):
        if "slow" in request.url:
            await asyncio.sleep(10)  # still on its way when dropped
        raise OSError("connection refused")  # a failure nobody will read

    reported = []

    async def early_then_dropped():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        index = Index("https://idx.example/simple", MockTransport(handle))
        index.send_early("failing")
        index.send_early("slow")
        await asyncio.sleep(0.01)
        (failing, _), (slow, _) = index._early.values()
        index.drop_early()
        await asyncio.sleep(0)
        return index._early, failing.done() and not failing.cancelled(), slow.cancelled()

    left, failed, cancelled = run(early_then_dropped())
    import gc

    gc.collect()  # the tasks are gone now: an unretrieved error would be reported here
    assert left == {} and failed and cancelled
    assert reported == []  # no "Task exception was never retrieved"


def test_an_early_page_says_when_its_request_is_on_its_way():
    release = None

    async def handle(request):
        await release.wait()  # the answer takes its time
        return Response(request.url, 200, JSON, json.dumps(PAGE).encode())

    async def early():
        nonlocal release
        release = asyncio.Event()
        index = Index("https://idx.example/simple", MockTransport(handle))
        on_its_way = index.send_early("demo")
        await asyncio.wait_for(on_its_way, 1)  # done without the answer
        sent, answered = index.requests, index._early[index._page_url("demo")][0].done()
        release.set()
        page = await index.project("demo")
        return sent, answered, page.name

    assert run(early()) == (1, False, "demo")

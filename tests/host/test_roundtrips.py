"""Round trips on the critical path stay near the dependency depth, not the package count."""

import asyncio

from micropkg.index.client import Index
from micropkg.model.requirements import parse_requirements
from micropkg.net.transport import MockTransport
from micropkg.resolution.catalog import Catalog
from micropkg.resolution.resolver import resolve

from .memory_index import INDEX_URL, memory_transport
from .test_resolver_scenarios import TARGET


def depth_counting(transport: MockTransport) -> tuple[MockTransport, list[int]]:
    """Wrap a transport so each request records its sequential depth.

    A request's depth is one more than the deepest response that had
    completed when it was sent: an upper bound on the round trips before it.
    """
    completed: list[int] = [0]
    depths: list[int] = []

    async def handler(request):
        depth = max(completed) + 1
        depths.append(depth)
        await asyncio.sleep(0.002)  # a real round trip: concurrent requests overlap here
        response = await transport.fetch(request)
        completed.append(depth)
        return response

    return MockTransport(handler), depths


def wide_tree(width: int, depth: int) -> dict:
    index = {}
    level = ["root"]
    for d in range(depth):
        nxt = [f"p{d}-{i}" for i in range(width)] if d < depth - 1 else []
        for name in level:
            index[name] = {"1.0": {"requires": nxt}, "0.9": {}}
        level = nxt
    return index


def test_thirty_packages_three_levels_deep():
    index = wide_tree(width=15, depth=3)  # root -> 15 -> 15 (shared): 31 projects
    transport, depths = depth_counting(memory_transport(index))
    catalog = Catalog([Index(INDEX_URL, transport)])
    plan = asyncio.run(resolve(parse_requirements(["root"]), catalog, TARGET))
    assert len(plan) == 31
    dependency_depth = 3
    assert max(depths) <= 2 * dependency_depth + 1, max(depths)
    assert len(depths) == 2 * 31  # one page and one metadata file each, nothing fetched twice


def test_walk_back_fetches_metadata_in_batches():
    releases = {f"{v}.0": {"requires": [f"core=={v}.0"]} for v in range(1, 201)}
    index = {"lib": releases, "core": {f"{v}.0": {} for v in range(1, 201)}}
    transport, depths = depth_counting(memory_transport(index))
    catalog = Catalog([Index(INDEX_URL, transport)])
    plan = asyncio.run(resolve(parse_requirements(["lib", "core==20.0"]), catalog, TARGET))
    assert {p.name: str(p.version) for p in plan} == {"lib": "20.0", "core": "20.0"}
    # 180 releases walked back: sequentially that would be ~180 round trips.
    assert max(depths) <= 20, max(depths)

"""The embedded router: atomic weight maps, fencing, validation, drain bookkeeping."""

import asyncio
import random
from collections import Counter

import pytest

from roost.traffic import (
    EmbeddedRouter,
    Endpoint,
    InvalidRoute,
    RevisionRoute,
    Router,
    ServiceRoutes,
    StaleFencingToken,
)

A = Endpoint("127.0.0.1", 9001)
B = Endpoint("127.0.0.1", 9002)


def test_embedded_router_satisfies_the_protocol() -> None:
    assert isinstance(EmbeddedRouter(), Router)


def test_a_weight_update_replaces_the_whole_map() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        await router.set_endpoints("web", "v1", [A])
        await router.set_endpoints("web", "v2", [B])
        await router.set_weights("web", {"v1": 80, "v2": 20})
        before = router.current("web")
        after = await router.set_weights("web", {"v1": 100})
        assert after.weights == {"v1": 100, "v2": 0}  # left out means 0, still known
        assert before.weights == {"v1": 80, "v2": 20}  # old tables never change
        assert after.version > before.version
        assert router.current("web") is after
        assert {after.pick(random.random()).name for _ in range(200)} == {"v1"}

    asyncio.run(main())


def test_pick_follows_weights() -> None:
    routes = ServiceRoutes(
        "web",
        {
            "a": _route("a", 3, A),
            "b": _route("b", 1, B),
            "c": _route("c", 0, A),
        },
    )
    rng = random.Random(3)
    seen = Counter(routes.pick(rng.random()).name for _ in range(20_000))
    assert seen["c"] == 0
    assert abs(seen["a"] / 20_000 - 0.75) < 0.02
    assert ServiceRoutes("web").pick(0.5) is None


def test_stale_fencing_token_is_rejected_and_changes_nothing() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        await router.set_weights("web", {"v1": 100}, fencing_token=7)
        await router.set_weights("web", {"v1": 90, "v2": 10}, fencing_token=7)  # same leader
        with pytest.raises(StaleFencingToken) as caught:
            await router.set_weights("web", {"v1": 0, "v2": 100}, fencing_token=6)
        assert caught.value.highest == 7
        assert "token 6" in str(caught.value)
        assert "token 7" in str(caught.value)
        with pytest.raises(StaleFencingToken):
            await router.set_weights("web", {"v2": 100})  # unfenced after fenced writes
        assert router.current("web").weights == {"v1": 90, "v2": 10}
        await router.set_weights("web", {"v2": 100}, fencing_token=8)  # the new leader
        assert router.current("web").fencing_token == 8
        # Tokens are per service.
        await router.set_weights("api", {"v1": 1}, fencing_token=1)

    asyncio.run(main())


def test_bad_updates_are_refused() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        for weights in ({"v1": -1}, {"v1": 1.5}, {"v1": True}, {"": 1}):
            with pytest.raises(InvalidRoute):
                await router.set_weights("web", weights)  # type: ignore[arg-type]
        with pytest.raises(InvalidRoute, match="not an Endpoint"):
            await router.set_endpoints("web", "v1", ["127.0.0.1:80"])  # type: ignore[list-item]
        with pytest.raises(InvalidRoute):
            Endpoint("127.0.0.1", 0)
        assert Endpoint.parse("[::1]:8080") == Endpoint("::1", 8080)
        assert str(Endpoint("::1", 8080)) == "[::1]:8080"
        with pytest.raises(InvalidRoute):
            Endpoint.parse("localhost")

    asyncio.run(main())


def test_table_json_shows_effective_shares() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        await router.set_endpoints("web", "v1", [A])
        await router.set_endpoints("web", "v2", [])
        await router.set_weights("web", {"v1": 50, "v2": 50}, fencing_token=3)
        table = await router.table()
        assert table["web"].to_json() == {
            "service": "web",
            "version": table["web"].version,
            "fencing_token": 3,
            "revisions": {
                "v1": {"weight": 50, "endpoints": ["127.0.0.1:9001"], "share": 1.0},
                "v2": {"weight": 50, "endpoints": [], "share": 0.0},
            },
        }

    asyncio.run(main())


def test_drain_of_an_idle_revision_returns_at_once_and_unreadies_it() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        await router.set_endpoints("web", "v1", [A, B])
        await router.set_weights("web", {"v1": 1})
        assert await router.drain("web", "v1", endpoint=A, timeout=1) is True
        assert router.current("web").revisions["v1"].endpoints == (B,)
        router.request_started("web", "v1", B)
        waiter = asyncio.create_task(router.drain("web", "v1", timeout=5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        assert router.current("web").revisions["v1"].endpoints == ()
        router.request_finished("web", "v1", B)
        assert await waiter is True
        # The runtime's next readiness update brings it back.
        await router.set_endpoints("web", "v1", [A])
        assert router.current("web").revisions["v1"].endpoints == (A,)

    asyncio.run(main())


def _route(name, weight, *endpoints):
    return RevisionRoute(name, weight, tuple(endpoints))

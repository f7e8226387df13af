import asyncio

from roost.traffic import install_uvloop


def test_install_uvloop_is_explicit_and_works() -> None:
    policy = asyncio.get_event_loop_policy()
    assert "uvloop" not in type(policy).__module__  # importing roost.traffic did not do it
    try:
        assert install_uvloop() is True

        async def which() -> str:
            return type(asyncio.get_running_loop()).__module__

        assert asyncio.run(which()).startswith("uvloop")
    finally:
        asyncio.set_event_loop_policy(policy)

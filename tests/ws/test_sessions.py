"""The session function's API: dual meanings on the FrontActor and the BackActor."""

from __future__ import annotations

import asyncio

import pytest

from skick import RegistrationError
from skick_ws import BackActor, FrontActor, SessionActor
from tests.ws.helpers import WAIT, Message, client, make_skick, running


async def test_each_decorator_registers_on_its_own_side_only() -> None:
    skick = make_skick()
    seen: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    @skick.session("dual")
    def dual(inst: SessionActor, message: Message) -> None:
        side = "front" if isinstance(inst, FrontActor) else "back"
        assert isinstance(inst, FrontActor | BackActor)

        @inst.on_start
        async def on_start() -> None:
            await seen.put(("on_start", side))

        @inst.front_on_start
        async def front_on_start() -> None:
            await seen.put(("front_on_start", side))

        @inst.daemon("d")
        async def daemon() -> None:
            await seen.put(("daemon", side))

        @inst.front_daemon("fd")
        async def front_daemon() -> None:
            await seen.put(("front_daemon", side))

        @inst.action("act")
        async def act(msg: Message) -> None:
            await seen.put(("action", side))

        @inst.front_action("fact")
        async def fact(msg: Message) -> None:
            await seen.put(("front_action", side))

        @inst.socket("sock", {"n": int})  # "action" is added to a dict schema
        async def sock(msg: Message) -> None:
            await seen.put(("socket", side))
            await inst.socksend({"got": msg})

        @inst.socket("where", {"action": "where"})
        async def where(msg: Message) -> None:
            await inst.socksend({"front": inst.front_address, "back": inst.back_address})

    async with running(skick) as run, client(run, "dual") as c:
        got = {await asyncio.wait_for(seen.get(), WAIT) for _ in range(4)}
        assert got == {
            ("front_on_start", "front"),
            ("on_start", "back"),
            ("daemon", "back"),
            ("front_daemon", "front"),
        }
        assert await c.ask({"action": "sock", "n": 1}) == {"got": {"action": "sock", "n": 1}}
        assert await asyncio.wait_for(seen.get(), WAIT) == ("socket", "back")
        where = await c.ask({"action": "where"})
        assert await run.shard.send(where["back"], {"action": "act"})
        assert await asyncio.wait_for(seen.get(), WAIT) == ("action", "back")
        assert await run.shard.send(where["front"], {"action": "fact"})
        assert await asyncio.wait_for(seen.get(), WAIT) == ("front_action", "front")
        # Neither side has the other's actions.
        assert not await run.shard.send(where["front"], {"action": "act"})
        assert not await run.shard.send(where["back"], {"action": "fact"})
        assert (await c.error({"action": "act"}))["code"] == "unknown_action"


async def test_errors_come_in_order_with_answers() -> None:
    skick = make_skick()

    @skick.session("s")
    def s(inst: SessionActor, message: Message) -> None:
        @inst.socket("slow", {"action": "slow"})
        async def slow(msg: Message) -> None:
            await asyncio.sleep(0.05)  # a handler that takes a while
            await inst.socksend({"slow": "done"})

    async with running(skick) as run, client(run, "s") as c:
        await c.send({"action": "slow"})
        await c.send({"action": "nope"})
        assert await c.recv() == {"slow": "done"}
        assert (await c.recv())["code"] == "unknown_action"


async def test_reserved_and_bad_socket_names() -> None:
    skick = make_skick()

    @skick.session("reserved")
    def reserved(inst: SessionActor, message: Message) -> None:
        @inst.socket("query_reply")
        async def nope(msg: Message) -> None:
            pass

    async with running(skick) as run, client(run, "reserved") as c:
        assert (await c.recv())["code"] == "session_failed"
        assert (await c.closed())[0] == 1011
    with pytest.raises(RegistrationError):
        FrontActor.socket(object.__new__(FrontActor), "", None)


async def test_replace_errors_crash_the_session_and_replace_into_a_session() -> None:
    skick = make_skick()

    @skick.session("a")
    def a(inst: SessionActor, message: Message) -> None:
        @inst.socket("to_b", {"action": "to_b"})
        async def to_b(msg: Message) -> None:
            await inst.replace("b", {"from": "a"})

        @inst.socket("to_nowhere", {"action": "to_nowhere"})
        async def to_nowhere(msg: Message) -> None:
            await inst.replace("nowhere", {})

        @inst.socket("bad_send", {"action": "bad_send"})
        async def bad_send(msg: Message) -> None:
            await inst.socksend({"not json": {1, 2}})

    @skick.session("b")
    def b(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def on_start() -> None:
            await inst.socksend({"b_from": message.get("from")})

        @inst.front_action("front_replace", {"action": "front_replace"})
        async def front_replace(msg: Message) -> None:
            await inst.replace("a", {})

        @inst.socket("where", {"action": "where"})
        async def where(msg: Message) -> None:
            await inst.socksend({"front": inst.front_address})

    async with running(skick) as run:
        async with client(run, "a") as c:
            assert await c.ask({"action": "to_b"}) == {"b_from": "a"}
            front = (await c.ask({"action": "where"}))["front"]
            # The FrontActor's replace replaces the whole session too.
            assert await run.shard.send(front, {"action": "front_replace"})
            assert (await c.error({"action": "where"}))["code"] == "unknown_action"
            assert await c.ask({"action": "to_b"}) == {"b_from": "a"}
        for action in ("to_nowhere", "bad_send"):
            async with client(run, "a") as c:
                await c.send({"action": action})
                assert await c.closed() == (1011, "session crashed")


async def test_socksend_after_the_client_left_returns_false() -> None:
    skick = make_skick()
    results: asyncio.Queue[bool] = asyncio.Queue()

    @skick.session("s")
    def s(inst: SessionActor, message: Message) -> None:
        @inst.on_stop
        async def on_stop() -> None:
            await results.put(await inst.socksend({"too": "late"}))

    async with running(skick) as run:
        async with client(run, "s"):
            pass
        assert await asyncio.wait_for(results.get(), WAIT) is False

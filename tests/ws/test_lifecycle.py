"""Sessions live and die with their connection, whoever ends first; nothing leaks."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from skick import Actor, Skick
from skick_ws import SessionActor
from tests.ws.helpers import WAIT, Message, client, make_skick, running, until

Events = asyncio.Queue[str]


def lifecycle_program(skick: Skick, events: Events) -> None:
    @skick.session("life")
    def life(inst: SessionActor, message: Message) -> None:
        @inst.front_on_start
        async def front_started() -> None:
            await events.put("front_on_start")

        @inst.on_start
        async def started() -> None:
            inst.register_service("lives")
            await events.put("on_start")

        @inst.front_daemon("front_ticker")
        async def front_ticker() -> None:
            await asyncio.Event().wait()

        @inst.daemon("ticker")
        async def ticker() -> None:
            await asyncio.Event().wait()

        @inst.front_on_stop
        async def front_stopped() -> None:
            await events.put("front_on_stop")

        @inst.on_stop
        async def stopped() -> None:
            await events.put("on_stop")

        @inst.socket("ping", {"action": "ping"})
        async def ping(msg: Message) -> None:
            await inst.socksend({"pong": True})

        @inst.socket("quit", {"action": "quit"})
        async def quit_(msg: Message) -> None:
            await inst.socksend({"bye": True})
            await inst.stop()

        @inst.socket("crash", {"action": "crash"})
        async def crash(msg: Message) -> None:
            raise RuntimeError("boom")

        @inst.socket("where", {"action": "where"})
        async def where(msg: Message) -> None:
            await inst.socksend({"front": inst.front_address, "back": inst.address})

        @inst.front_action("explode", {"action": "explode"})
        async def explode(msg: Message) -> None:
            raise RuntimeError("front boom")


async def expect(events: Events, *names: str) -> None:
    got = sorted([await asyncio.wait_for(events.get(), WAIT) for _ in names])
    assert got == sorted(names)


@pytest.fixture
def events() -> Events:
    return asyncio.Queue()


async def test_client_disconnect_stops_both_actors(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run:
        async with client(run, "life") as c:
            await expect(events, "front_on_start", "on_start")
            assert await c.ask({"action": "ping"}) == {"pong": True}
            assert len(run.session_actors()) == 2
            assert run.shard.services.pick("lives", "local") is not None
        await expect(events, "front_on_stop", "on_stop")
        await until(lambda: not run.session_actors() and not run.server.sessions)
        assert run.shard.services.pick("lives", "local") is None


async def test_an_abrupt_disconnect_stops_both_actors(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run, client(run, "life") as c:
        await expect(events, "front_on_start", "on_start")
        c.ws.transport.abort()
        await expect(events, "front_on_stop", "on_stop")
        await until(lambda: not run.session_actors() and not run.server.sessions)


async def test_back_actor_stop_closes_with_1000(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run, client(run, "life") as c:
        await expect(events, "front_on_start", "on_start")
        assert await c.ask({"action": "quit"}) == {"bye": True}
        assert await c.closed() == (1000, "session ended")
        await expect(events, "front_on_stop", "on_stop")
        await until(lambda: not run.session_actors())


async def test_a_crash_of_the_back_actor_closes_with_1011(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run, client(run, "life") as c, client(run, "life") as other:
        await expect(events, *["front_on_start", "on_start"] * 2)
        await c.send({"action": "crash"})
        assert await c.closed() == (1011, "session crashed")
        await expect(events, "front_on_stop", "on_stop")
        assert await other.ask({"action": "ping"}) == {"pong": True}
        await until(lambda: len(run.session_actors()) == 2)


async def test_a_crash_of_the_front_actor_closes_with_1011(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run, client(run, "life") as c:
        await expect(events, "front_on_start", "on_start")
        where = await c.ask({"action": "where"})
        assert where["front"] != where["back"]
        assert await run.shard.send(where["front"], {"action": "explode"})
        assert await c.closed() == (1011, "session crashed")
        await expect(events, "front_on_stop", "on_stop")
        await until(lambda: not run.session_actors())


async def test_other_actors_can_socksend_through_the_front_actor(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    async with running(skick) as run, client(run, "life") as c:
        where = await c.ask({"action": "where"})
        assert await run.shard.send(where["front"], {"action": "socksend", "message": {"hi": 1}})
        assert await c.recv() == {"hi": 1}


async def test_monitors_get_the_sentinel_of_a_session(events: Events) -> None:
    skick = make_skick()
    lifecycle_program(skick, events)
    sentinels: asyncio.Queue[Message] = asyncio.Queue()

    @skick.actor("watcher")
    def watcher(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def watch() -> None:
            await inst.monitor(message["target"])

        @inst.default_sentinel
        async def seen(msg: Message) -> None:
            await sentinels.put(msg)

    async with running(skick) as run:
        async with client(run, "life") as c:
            back = (await c.ask({"action": "where"}))["back"]
            await run.shard.spawn("watcher", {"target": back})
        sentinel = await asyncio.wait_for(sentinels.get(), WAIT)
        assert sentinel["address"] == back
        assert sentinel["type"] == "cancellation"


async def test_skick_stop_closes_every_session_with_1001(events: Events) -> None:
    skick = make_skick(stop_timeout=0.5)
    lifecycle_program(skick, events)

    @skick.session("stubborn")
    def stubborn(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def started() -> None:
            await events.put("stubborn_started")

        @inst.on_stop
        async def never_done() -> None:
            await events.put("stubborn_on_stop")
            await asyncio.Event().wait()  # bounded by stop_timeout

    async with (
        running(skick) as run,
        client(run, "life") as a,
        client(run, "life") as b,
        client(run, "stubborn") as s,
    ):
        await expect(events, *["front_on_start", "on_start"] * 2, "stubborn_started")
        loop = asyncio.get_running_loop()
        began = loop.time()
        await run.stop()
        assert loop.time() - began < 5
        for c in (a, b, s):
            assert await c.closed() == (1001, "server shutting down")
        await expect(events, *["front_on_stop", "on_stop"] * 2, "stubborn_on_stop")
        assert not run.session_actors()


async def test_a_failing_session_function_or_on_start(events: Events) -> None:
    skick = make_skick()

    @skick.session("broken")
    def broken(inst: SessionActor, message: Message) -> None:
        raise ValueError("bad session function")

    @skick.session("bad_start")
    def bad_start(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def on_start() -> None:
            raise ValueError("bad on_start")

    async with running(skick) as run:
        for name in ("broken", "bad_start"):
            async with client(run, name) as c:
                assert (await c.recv())["code"] == "session_failed"
                assert await c.closed() == (1011, "session_failed")
        await until(lambda: not run.session_actors() and not run.server.sessions)


async def test_churn_leaves_nothing_behind(events: Events) -> None:
    """1 000 connect/disconnect cycles of every kind: zero actors and tasks remain."""
    skick = make_skick(handshake_timeout=1.0)

    @skick.session("hello")
    def hello(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def on_start() -> None:
            await inst.socksend({"hi": True})

        @inst.socket("ping", {"action": "ping"})
        async def ping(msg: Message) -> None:
            await inst.socksend({"pong": True})

    async with running(skick) as run:
        baseline_tasks = len(asyncio.all_tasks())
        baseline_actors = len(run.shard.actors)

        async def cycle(i: int) -> None:
            kind = i % 5
            async with connect(run.url, compression=None, open_timeout=WAIT) as ws:
                if kind == 0:  # connect and leave without a word
                    return
                if kind == 1:  # a bad handshake
                    await ws.send('{"session_type": "nope"}')
                    await asyncio.wait_for(ws.wait_closed(), WAIT)
                    return
                await ws.send('{"session_type": "hello"}')
                await asyncio.wait_for(ws.recv(), WAIT)
                if kind == 3:
                    await ws.send('{"action": "ping"}')
                    await asyncio.wait_for(ws.recv(), WAIT)
                if kind == 4:  # vanish without a closing handshake
                    ws.transport.abort()

        for start in range(0, 1000, 50):
            await asyncio.gather(*(cycle(i) for i in range(start, start + 50)))
        await until(lambda: not run.server.sessions and len(run.shard.actors) == baseline_actors)
        await until(lambda: len(asyncio.all_tasks()) == baseline_tasks)


async def test_200_concurrent_sessions_20_round_trips_each() -> None:
    skick = make_skick()

    @skick.session("counter")
    def counter(inst: SessionActor, message: Message) -> None:
        total = 0

        @inst.socket("add", {"action": "add", "n": int})
        async def add(msg: Message) -> None:
            nonlocal total
            total += msg["n"]
            await inst.socksend({"total": total, "id": message["id"]})

    async with running(skick) as run:

        async def user(i: int) -> None:
            async with client(run) as c:
                await c.send({"session_type": "counter", "id": i})
                expected = 0
                for n in range(1, 21):
                    expected += n * i
                    assert await c.ask({"action": "add", "n": n * i}) == {
                        "total": expected,
                        "id": i,
                    }

        await asyncio.wait_for(asyncio.gather(*(user(i) for i in range(200))), 30)
        await until(lambda: not run.session_actors())


@pytest.mark.parametrize("awaits_after_stop", [False, True])
async def test_a_session_that_stops_in_its_on_start(awaits_after_stop: bool) -> None:
    """A handshake stage refusing a client: its frames arrive, then a 1000 close."""
    skick = make_skick()

    @skick.session("gate")
    def gate(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def check() -> None:
            if message.get("password") != "open sesame":
                await inst.socksend({"error": "wrong password"})
                await inst.stop()
                if awaits_after_stop:
                    await asyncio.sleep(0)

    async with running(skick) as run:
        async with client(run) as c:
            await c.send({"session_type": "gate", "password": "guess"})
            assert await c.recv() == {"error": "wrong password"}
            assert await c.closed() == (1000, "session ended")
        await until(lambda: not run.session_actors() and not run.server.sessions)

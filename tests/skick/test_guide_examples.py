"""The guide's examples (The Actor, Special Actors, Sentinels, Hashes, Directories, The Skick
Object), each run as a user program through ``from skick import …``.

The examples are written as the guide shows them, completed where the guide elides
(``...``) and with the documented corrections (DESIGN §3a: a ``Call`` message carries the
partner's ``"action"``). Each program reports what it observes through a queue; the
app runs as ``start()`` would run it (``await skick.run()``), without a websocket server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from skick import (
    Actor,
    Call,
    ConversationEnded,
    Directory,
    Respond,
    Skick,
    SpawnError,
)
from skick_core import Shard
from tests.core.helpers import check_sentinel, until
from tests.skick.helpers import WAIT, running, take

Message = dict[str, Any]
Gen = AsyncGenerator[Any, Any]


# ---------------------------------------------------------------- The Actor


async def test_accumulator_with_reporter_daemon() -> None:
    """ "Defining Actors" + "How to Run Actors": the accumulator, spawned from on_start."""
    reports: asyncio.Queue[Message] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        listener = await shard.spawn("listener")
        accumulator_address = await shard.spawn(
            "accumulator", {"initial_tally": 420, "report_to": listener}
        )
        await shard.spawn("driver", {"accumulator": accumulator_address, "listener": listener})

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("accumulator")
    def accumulator(inst: Actor, message: Message) -> None:
        """An actor that adds numbers to an internal tally."""
        tally = message.get("initial_tally", 0)

        @inst.daemon("tally_reporter")
        async def report() -> None:
            """Reports the current tally with regular intervals if asked to"""
            while "report_to" in message:
                await asyncio.sleep(1)
                await inst.send(message["report_to"], {"action": "report_tally", "tally": tally})

        @inst.action("add", schema={"action": "add", "number": int})
        async def adder(msg: Message) -> None:
            """Adds msg["number"] to the tally found in the closure"""
            nonlocal tally  # Necessary nonlocal declaration for immutable objects
            tally += msg["number"]

        @inst.action("get_tally", schema={"action": "get_tally", "sender": str})
        async def get_tally(msg: Message) -> None:
            """Asks the actor to send the current tally to *sender*."""
            await inst.send(msg["sender"], {"action": "report_tally", "tally": tally})

    @skick.actor("listener")
    def listener(inst: Actor, message: Message) -> None:
        @inst.action("report_tally", schema={"action": "report_tally", "tally": int})
        async def report_tally(msg: Message) -> None:
            await reports.put(msg)

    @skick.actor("driver")
    def driver(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            target = message["accumulator"]
            assert await inst.send(target, {"action": "add", "number": 5})
            assert await inst.send(target, {"action": "add", "number": 10})
            assert not await inst.send(target, {"action": "add", "number": "ten"})
            assert await inst.send(target, {"action": "get_tally", "sender": message["listener"]})

    async with running(skick):
        assert await take(reports) == {"action": "report_tally", "tally": 435}
        # The daemon reports on its own, about once a second.
        assert await take(reports, timeout=3.0) == {"action": "report_tally", "tally": 435}
        assert skick.shard.dead_letters.counts["schema mismatch"] == 1


async def test_conversation_accumulator_and_callers() -> None:
    """ "Conversations": Respond/yield on one side, Call from an action and from converse."""
    results: asyncio.Queue[Message] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        adder_address = await shard.spawn("accumulator", {"initial_tally": 0})
        caller_address = await shard.spawn("caller", {"adder_address": adder_address})
        await shard.send(caller_address, {"action": "call_adder"})

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("accumulator")
    def accumulator(inst: Actor, message: Message) -> None:
        """An actor that adds numbers to an internal tally."""
        tally = message.get("initial_tally", 0)

        @inst.action("add", schema={"action": "add", "number": int})
        async def adder(msg: Message) -> Gen:
            nonlocal tally  # Necessary nonlocal declaration for immutable objects
            yield Respond(msg)  # We first "pick up the phone" as it were

            tally += msg["number"]
            yield {"tally": tally}  # Then we yield a response

    @skick.actor("caller")
    def caller(inst: Actor, message: Message) -> None:
        adder_address = message["adder_address"]

        async def do_something(response: Message) -> None:
            await results.put({"send_number": response})

        @inst.on_start
        async def init() -> None:
            async def send_number(msg: Message) -> Gen:
                response = yield Call(adder_address, {"action": "add", "number": 720})
                await do_something(response)

            await inst.converse({}, send_number)

        @inst.action("call_adder")
        async def call_adder(msg: Message) -> Gen:
            new_tally = yield Call(adder_address, {"action": "add", "number": 10})
            await results.put({"call_adder": new_tally})

    async with running(skick):
        got = [await take(results), await take(results)]
        # Both conversations ran; the tally grew by 10 and 720 in whichever order.
        by_name = {name: reply for item in got for name, reply in item.items()}
        assert set(by_name) == {"send_number", "call_adder"}
        assert sorted(r["tally"] for r in by_name.values()) in ([10, 730], [720, 730])


async def test_helper_methods_spawn_replace_services_and_stop() -> None:
    """ "Helper Methods": send, replace, spawn, the service registry and stop."""
    log: asyncio.Queue[Message] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        await shard.spawn("boss")

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("echo")
    def echo(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            inst.register_service("echo")

        @inst.action("echo")
        async def echo_action(msg: Message) -> None:
            await log.put({"echo": msg["text"], "by": inst.type_name})

        @inst.action("become_shouter")
        async def become(msg: Message) -> None:
            await inst.replace("shouter", {"volume": 3})

        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()

        @inst.on_stop
        async def bye() -> None:
            await log.put({"stopped": inst.type_name})

    @skick.actor("shouter")
    def shouter(inst: Actor, message: Message) -> None:
        @inst.action("echo")
        async def shout(msg: Message) -> None:
            await log.put({"echo": msg["text"].upper() + "!" * message["volume"]})

        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()

        @inst.on_stop
        async def bye() -> None:
            await log.put({"stopped": inst.type_name})

    @skick.actor("boss")
    def boss(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            child = await inst.spawn("echo", {})
            found = inst.get_service("echo", local="local")
            await log.put(
                {
                    "child": child,
                    "found": found,
                    "mixed": inst.get_service("echo"),
                    "remote": inst.get_service("echo", local="remote"),
                    "none": inst.get_service("nothing"),
                }
            )

        @inst.default_sentinel
        async def child_ended(msg: Message) -> None:
            await log.put({"sentinel": msg})

    async with running(skick):
        first = await take(log)
        child = first["child"]
        assert first == {
            "child": child,
            "found": child,
            "mixed": child,
            "remote": None,
            "none": None,
        }
        await skick.shard.send(child, {"action": "echo", "text": "hi"})
        assert await take(log) == {"echo": "hi", "by": "echo"}
        await skick.shard.send(child, {"action": "become_shouter"})
        await skick.shard.send(child, {"action": "echo", "text": "hi"})
        assert await take(log) == {"echo": "HI!!!"}
        assert skick.shard.services.pick("echo") is None  # replace purged the service
        await skick.shard.send(child, {"action": "quit"})
        assert await take(log) == {"stopped": "shouter"}
        got = await take(log)
        check_sentinel(got["sentinel"], child, "cancellation")


# ---------------------------------------------------------------- Sentinels


async def test_sentinels_as_in_the_guide() -> None:
    """ "Sentinels": add_monitors, the monitor message, handlers, the exact schema."""
    seen: asyncio.Queue[Message] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        await shard.spawn("supervisor")

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("worker")
    def worker(inst: Actor, message: Message) -> None:
        @inst.action("fail")
        async def fail(msg: Message) -> None:
            raise PermissionError("not allowed")

        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()

    @skick.actor("custom_watcher")
    def custom_watcher(inst: Actor, message: Message) -> None:
        @inst.action("sentinel")  # overrides the default sentinel behaviour
        async def sentinel(msg: Message) -> None:
            await seen.put({"custom_watcher": msg})

    @skick.actor("supervisor")
    def supervisor(inst: Actor, message: Message) -> None:
        async def special(msg: Message) -> None:
            await seen.put({"special": msg})

        @inst.default_sentinel
        async def fallback(msg: Message) -> None:
            await seen.put({"default": msg})

        @inst.on_start
        async def begin() -> None:
            watcher = await inst.spawn("custom_watcher")
            default = await inst.spawn("worker")  # this actor and the shard monitor it
            only_shard = await inst.spawn("worker", add_monitors=False)
            listed = await inst.spawn("worker", add_monitors=[watcher])
            late = await inst.spawn("worker", add_monitors=False)
            await inst.send(late, {"action": "monitor", "address": inst.address})
            inst.sentinel_handler(default, special)
            await seen.put(
                {"default": default, "only_shard": only_shard, "listed": listed, "late": late}
            )

    async with running(skick):
        workers = await take(seen)
        send = skick.shard.send
        await send(workers["default"], {"action": "fail"})
        got = await take(seen)
        check_sentinel(got["special"], workers["default"], "exception", "PermissionError")
        await send(workers["listed"], {"action": "quit"})
        got = await take(seen)
        check_sentinel(got["custom_watcher"], workers["listed"], "cancellation")
        await send(workers["late"], {"action": "fail"})
        got = await take(seen)
        check_sentinel(got["default"], workers["late"], "exception", "PermissionError")
        await send(workers["only_shard"], {"action": "quit"})
        await until(lambda: workers["only_shard"] not in skick.shard.actors)
        assert seen.empty()  # nobody but the shard was told


@pytest.mark.parametrize("ending", ["return", "raise"])
async def test_dead_mans_hand_and_ordinary_daemons(ending: str) -> None:
    """ "What Triggers the Sentinel" 3: a dead-man's-hand daemon that ends cancels its actor."""
    seen: asyncio.Queue[Message] = asyncio.Queue()
    trigger = asyncio.Event()

    async def on_start(shard: Shard) -> None:
        await shard.spawn("watcher")

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("guarded")
    def guarded(inst: Actor, message: Message) -> None:
        @inst.daemon("sloppy")  # an ordinary daemon that raises: logged, the actor lives
        async def sloppy() -> None:
            raise RuntimeError("ordinary daemon failed")

        @inst.daemon("connection", dead_mans_hand=True)
        async def connection() -> None:
            await trigger.wait()
            if ending == "raise":
                raise ConnectionResetError("lost")

        @inst.action("alive")
        async def alive(msg: Message) -> None:
            await seen.put({"alive": True})

    @skick.actor("watcher")
    def watcher(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await seen.put({"guarded": await inst.spawn("guarded")})

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await seen.put(msg)

    async with running(skick):
        address = (await take(seen))["guarded"]
        await skick.shard.send(address, {"action": "alive"})
        assert await take(seen) == {"alive": True}
        trigger.set()
        check_sentinel(await take(seen), address, "cancellation")


# ---------------------------------------------------------------- Hashes


async def test_hashes_as_in_the_guide() -> None:
    results: asyncio.Queue[Message] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        address = await shard.spawn("some_actor")
        await shard.send(address, {"action": "the_action"})

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("some_actor")
    def the_actor(inst: Actor, msg: Message) -> None:
        dictionary = skick.hash("table_name")

        @inst.action("the_action")
        async def the_action(msg: Message) -> None:
            observed: dict[str, Any] = {}
            await dictionary.set("our_key", {"session": "abc"})
            value = await dictionary["our_key"]
            observed["value"] = value
            observed["get"] = await dictionary.get("our_key")
            dictionary["other"] = [1, 2]  # fire and forget
            observed["other"] = await dictionary.get("other")
            observed["contains"] = await dictionary.contains("other")
            del dictionary["other"]
            observed["after_del"] = await dictionary.contains("other")
            await dictionary.delete("our_key")
            try:
                await dictionary["our_key"]
            except KeyError:
                observed["missing"] = "KeyError"
            try:
                _ = "our_key" in dictionary
            except TypeError:
                observed["in"] = "TypeError"
            await results.put(observed)

    async with running(skick):
        assert await take(results) == {
            "value": {"session": "abc"},
            "get": {"session": "abc"},
            "other": [1, 2],
            "contains": True,
            "after_del": False,
            "missing": "KeyError",
            "in": "TypeError",
        }


# ---------------------------------------------------------------- Directories


# a.py
A = Directory()


@A.actor("a_actor")
def a_actor(inst: Actor, messages: Message) -> None:
    @inst.action("hello")
    async def hello(msg: Message) -> Gen:
        yield Respond(msg)
        yield {"hello": "from a.py"}


async def test_directories_as_in_the_guide() -> None:
    # main.py
    skick = Skick(websocket_server=False)
    skick.add_directory(A)
    assert skick.actors["a_actor"] is a_actor
    async with running(skick):
        address = await skick.shard.spawn("a_actor")
        assert await skick.runtime.call(address, {"action": "hello"}) == {"hello": "from a.py"}


# ---------------------------------------------------------------- The Skick Object


async def test_skick_object_methods() -> None:
    """``actor``, ``hash``, ``add_directory``, ``start``/``run`` and ``stop``."""
    events: list[str] = []
    started = asyncio.Event()

    async def on_start(shard: Shard) -> None:
        events.append("on_start")
        await shard.spawn("stopper")
        started.set()

    skick = Skick(on_start=on_start, websocket_server=False, conversation_timeout=0.2)

    @skick.actor("stopper")
    def stopper(inst: Actor, message: Message) -> None:
        @inst.on_stop
        async def bye() -> None:
            await asyncio.sleep(0)
            events.append("on_stop")

    task = asyncio.create_task(skick.run())
    await asyncio.wait_for(started.wait(), WAIT)
    assert skick.runtime.options.conversation_timeout == 0.2
    # A conversation with nobody ends at once; one with a mute actor times out.
    with pytest.raises(ConversationEnded):
        await skick.runtime.call("nowhere:1", {"action": "x"})
    with pytest.raises(SpawnError):
        await skick.shard.spawn("undeclared")
    await asyncio.wait_for(skick.stop(), WAIT)  # stop() is awaitable: the shutdown is done
    assert task.done()
    assert task.exception() is None
    assert events == ["on_start", "on_stop"]


async def test_spawning_by_message_to_the_shard() -> None:
    """ "The Shard Actor": actors can also be spawned by sending a message to the shard."""
    started: asyncio.Queue[Message] = asyncio.Queue()
    skick = Skick(websocket_server=False)

    @skick.actor("accumulator")
    def accumulator(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await started.put({"tally": message.get("initial_tally", 0)})

    async with running(skick):
        shard = skick.shard
        request = {"action": "spawn", "type": "accumulator", "message": {"initial_tally": 420}}
        assert await shard.send(shard.address, request)
        assert await take(started) == {"tally": 420}
        assert await shard.send(shard.address, {"action": "spawn"}) is False  # no type

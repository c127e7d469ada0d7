"""Monitors and sentinels: who is told, with which message, through which handler."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from skick_core import Actor, Message, Runtime
from tests.core.helpers import WAIT, actor_of, add_probe, check_sentinel, take, until


def declare_victim(rt: Runtime) -> None:
    """An actor that crashes on ``crash`` and stops itself on ``quit``."""

    @rt.directory.actor("victim")
    def victim(inst: Actor, message: Message) -> None:
        @inst.action("crash")
        async def crash(msg: Message) -> None:
            raise LookupError("asked to crash")

        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()


def declare_parent(rt: Runtime, inbox: asyncio.Queue[Message]) -> None:
    """Spawns a ``victim`` with ``msg["add_monitors"]`` and reports the child's address."""

    @rt.directory.actor("parent")
    def parent(inst: Actor, message: Message) -> None:
        @inst.action("spawn")
        async def spawn(msg: Message) -> None:
            kwargs: dict[str, Any] = {}
            if "add_monitors" in msg:
                kwargs["add_monitors"] = msg["add_monitors"]
            child = await inst.spawn("victim", {}, **kwargs)
            await inbox.put({"child": child})

        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inbox.put({"pong": inst.address})

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await inbox.put({"parent got": msg})


async def _round_trip(rt: Runtime, address: str, inbox: asyncio.Queue[Message]) -> None:
    """Everything queued for *address* before this call has been handled afterwards."""
    await rt.send(address, {"action": "ping"})
    assert await take(inbox) == {"pong": address}


async def test_monitor_message_subscribes_to_the_sentinel(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox)
    declare_victim(runtime)
    probe = await runtime.spawn("probe")
    victim = await runtime.spawn("victim")
    assert await runtime.send(victim, {"action": "monitor", "address": probe})
    assert await runtime.send(victim, {"action": "monitor", "address": probe})  # no duplicate
    assert await runtime.send(victim, {"action": "crash"})
    sentinel = await take(inbox)
    check_sentinel(sentinel, victim, "exception", "LookupError")
    assert set(sentinel) == {"action", "address", "type", "exception", "tag"}
    await runtime.send(probe, {"action": "ping", "reply_to": probe})
    assert await take(inbox) == {"action": "report", "pong": True}  # only one sentinel


async def test_monitor_message_is_validated(runtime: Runtime) -> None:
    declare_victim(runtime)
    victim = await runtime.spawn("victim")
    before = runtime.shard.dead_letters.counts["schema mismatch"]
    assert await runtime.send(victim, {"action": "monitor"}) is False
    assert await runtime.send(victim, {"action": "monitor", "address": 5}) is False
    assert runtime.shard.dead_letters.counts["schema mismatch"] == before + 2


async def test_inst_monitor_helper_and_cancellation_sentinel(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    victim = await runtime.spawn("victim")

    @runtime.directory.actor("watcher")
    def watcher(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            assert await inst.monitor(message["target"])

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await inbox.put(msg)

    await runtime.spawn("watcher", {"target": victim})
    await runtime.send(victim, {"action": "quit"})
    sentinel = await take(inbox)
    check_sentinel(sentinel, victim, "cancellation")
    assert set(sentinel) == {"action", "address", "type", "tag"}


async def test_spawner_monitors_by_default(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    declare_victim(runtime)
    declare_parent(runtime, inbox)
    parent = await runtime.spawn("parent")
    await runtime.send(parent, {"action": "spawn"})
    child = (await take(inbox))["child"]
    assert actor_of(runtime, child).monitors == [parent]
    await runtime.send(child, {"action": "crash"})
    got = await take(inbox)
    check_sentinel(got["parent got"], child, "exception", "LookupError")
    assert child not in runtime.shard.actors  # the shard watched it too


@pytest.mark.parametrize("flag", [True, None])
async def test_add_monitors_true_is_the_default(
    runtime: Runtime, inbox: asyncio.Queue[Message], flag: bool | None
) -> None:
    declare_victim(runtime)
    declare_parent(runtime, inbox)
    parent = await runtime.spawn("parent")
    await runtime.send(parent, {"action": "spawn", "add_monitors": flag})
    child = (await take(inbox))["child"]
    assert actor_of(runtime, child).monitors == [parent]


async def test_add_monitors_false_leaves_only_the_shard(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    declare_parent(runtime, inbox)
    parent = await runtime.spawn("parent")
    await runtime.send(parent, {"action": "spawn", "add_monitors": False})
    child = (await take(inbox))["child"]
    assert actor_of(runtime, child).monitors == []
    await runtime.send(child, {"action": "crash"})
    await until(lambda: child not in runtime.shard.actors)  # the shard still noticed
    await _round_trip(runtime, parent, inbox)
    assert inbox.empty()  # the parent was not told


async def test_add_monitors_list_names_exactly_the_monitors(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    declare_parent(runtime, inbox)
    add_probe(runtime.directory, inbox)
    parent = await runtime.spawn("parent")
    probes = [await runtime.spawn("probe") for _ in range(2)]
    await runtime.send(parent, {"action": "spawn", "add_monitors": probes})
    child = (await take(inbox))["child"]
    assert actor_of(runtime, child).monitors == probes
    await runtime.send(child, {"action": "crash"})
    for _ in probes:
        check_sentinel(await take(inbox), child, "exception", "LookupError")
    await _round_trip(runtime, parent, inbox)
    assert inbox.empty()  # not the spawner: it was not in the list


async def test_sentinel_handler_per_address_and_default(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    first = await runtime.spawn("victim")
    second = await runtime.spawn("victim")

    @runtime.directory.actor("supervisor")
    def supervisor(inst: Actor, message: Message) -> None:
        async def on_first(msg: Message) -> None:
            await inbox.put({"specific": msg})

        inst.sentinel_handler(message["first"], on_first)

        @inst.default_sentinel
        async def fallback(msg: Message) -> None:
            await inbox.put({"default": msg})

        @inst.on_start
        async def begin() -> None:
            await inst.monitor(message["first"])
            await inst.monitor(message["second"])

    await runtime.spawn("supervisor", {"first": first, "second": second})
    await runtime.send(first, {"action": "crash"})
    got = await take(inbox)
    check_sentinel(got["specific"], first, "exception", "LookupError")
    await runtime.send(second, {"action": "quit"})
    got = await take(inbox)
    check_sentinel(got["default"], second, "cancellation")


async def test_sentinel_without_handlers_is_ignored(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    declare_parent(runtime, inbox)

    @runtime.directory.actor("indifferent")
    def indifferent(inst: Actor, message: Message) -> None:
        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inbox.put({"pong": inst.address})

    indifferent_address = await runtime.spawn("indifferent")
    victim = await runtime.spawn("victim")
    await runtime.send(victim, {"action": "monitor", "address": indifferent_address})
    await runtime.send(victim, {"action": "crash"})
    await until(lambda: victim not in runtime.shard.actors)
    await _round_trip(runtime, indifferent_address, inbox)
    assert indifferent_address in runtime.shard.actors


async def test_overriding_the_sentinel_action(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_victim(runtime)
    victim = await runtime.spawn("victim")

    @runtime.directory.actor("custom")
    def custom(inst: Actor, message: Message) -> None:
        @inst.action("sentinel")
        async def sentinel(msg: Message) -> None:
            await inbox.put({"custom": msg})

        @inst.default_sentinel
        async def unused(msg: Message) -> None:
            await inbox.put({"default": msg})

    custom_address = await runtime.spawn("custom")
    await runtime.send(victim, {"action": "monitor", "address": custom_address})
    await runtime.send(victim, {"action": "crash"})
    got = await take(inbox)
    check_sentinel(got["custom"], victim, "exception", "LookupError")


async def test_sentinel_to_a_dead_monitor_is_a_dead_letter(runtime: Runtime) -> None:
    declare_victim(runtime)
    victim = await runtime.spawn("victim")
    gone = f"{runtime.shard.shard_id}:777777"
    await runtime.send(victim, {"action": "monitor", "address": gone})
    before = runtime.shard.dead_letters.counts["dead address"]
    await runtime.send(victim, {"action": "crash"})
    await until(lambda: victim not in runtime.shard.actors)
    assert runtime.shard.dead_letters.counts["dead address"] == before + 1


async def test_sentinels_are_delivered_to_a_full_mailbox(inbox: asyncio.Queue[Message]) -> None:
    """System messages are never lost to backpressure."""
    async with Runtime(mailbox_size=1, send_timeout=0.01) as rt:
        declare_victim(rt)
        busy, release = asyncio.Event(), asyncio.Event()

        @rt.directory.actor("busy_watcher")
        def busy_watcher(inst: Actor, message: Message) -> None:
            @inst.action("block")
            async def block(msg: Message) -> None:
                busy.set()
                await release.wait()

            @inst.action("filler")
            async def filler(msg: Message) -> None:
                pass

            @inst.default_sentinel
            async def sentinel(msg: Message) -> None:
                await inbox.put(msg)

        watcher = await rt.spawn("busy_watcher")
        victim = await rt.spawn("victim")
        await rt.send(victim, {"action": "monitor", "address": watcher})
        await rt.send(watcher, {"action": "block"})
        await asyncio.wait_for(busy.wait(), WAIT)
        assert await rt.send(watcher, {"action": "filler"})
        assert await rt.send(watcher, {"action": "filler"}) is False  # full
        await rt.send(victim, {"action": "crash"})
        await until(lambda: victim not in rt.shard.actors)
        release.set()
        check_sentinel(await take(inbox), victim, "exception", "LookupError")

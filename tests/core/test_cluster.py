"""Several shards in one process over ``memory://<name>``: the cluster logic without a broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from skick_core import (
    Actor,
    Call,
    ConfigurationError,
    ConversationEnded,
    Message,
    Respond,
    Runtime,
    SpawnError,
)
from skick_core._memory import MemoryTransport
from skick_core.testing import check_transport
from tests.core.helpers import WAIT, add_probe, check_sentinel, take, until


def cluster_url() -> str:
    return f"memory://cluster-{uuid.uuid4().hex}"


async def test_conformance_of_the_memory_transport() -> None:
    url = cluster_url()
    await check_transport(lambda: MemoryTransport(url))


@asynccontextmanager
async def two_shards(**options: Any) -> AsyncIterator[tuple[Runtime, Runtime]]:
    url = cluster_url()
    left = Runtime(transport=url, **options)
    right = Runtime(transport=MemoryTransport(url), **options)
    async with left, right:
        await until(lambda: right.shard.shard_id in left.shard.shard_ids)
        yield left, right


async def test_an_actor_type_declared_after_start_is_announced_and_spawnable() -> None:
    async with two_shards() as (left, right):

        @right.directory.actor("late")
        def late(inst: Actor, message: Message) -> None:
            pass

        await until(lambda: "late" in left.shard._peer_types[right.shard.shard_id])
        address = await asyncio.wait_for(left.spawn("late"), WAIT)
        assert address.startswith(right.shard.shard_id + ":")
    assert right.shard._announce not in right.directory._on_new_actor_type  # unsubscribed


async def test_remote_spawn_that_fails_raises_spawn_error() -> None:
    async with two_shards() as (left, right):

        @right.directory.actor("fails_remotely")
        def fails_remotely(inst: Actor, message: Message) -> None:
            @inst.on_start
            async def begin() -> None:
                raise RuntimeError("cannot start")

        right.shard._announce()
        await until(lambda: "fails_remotely" in left.shard._peer_types[right.shard.shard_id])
        with pytest.raises(SpawnError, match="cannot start"):
            await asyncio.wait_for(left.spawn("fails_remotely"), WAIT)


async def test_remote_spawn_from_an_actor_watches_the_child(
    inbox: asyncio.Queue[Message],
) -> None:
    async with two_shards() as (left, right):

        @right.directory.actor("remote_child")
        def remote_child(inst: Actor, message: Message) -> None:
            @inst.action("crash")
            async def crash(msg: Message) -> None:
                raise ArithmeticError("remote crash")

        @left.directory.actor("local_parent")
        def local_parent(inst: Actor, message: Message) -> None:
            @inst.action("spawn")
            async def spawn(msg: Message) -> None:
                await inbox.put({"child": await inst.spawn("remote_child")})

            @inst.default_sentinel
            async def sentinel(msg: Message) -> None:
                await inbox.put(msg)

        right.shard._announce()
        await until(lambda: "remote_child" in left.shard._peer_types[right.shard.shard_id])
        parent = await left.spawn("local_parent")
        await left.send(parent, {"action": "spawn"})
        child = (await take(inbox))["child"]
        assert child.startswith(right.shard.shard_id + ":")
        await left.send(child, {"action": "crash"})
        check_sentinel(await take(inbox), child, "exception", "ArithmeticError")


async def test_conversation_with_a_lost_shard_ends(inbox: asyncio.Queue[Message]) -> None:
    async with two_shards() as (left, right):

        @right.directory.actor("mute")
        def mute(inst: Actor, message: Message) -> None:
            @inst.action("ask")
            async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
                yield Respond(msg)  # picks up, then never answers
                await inbox.put({"remote": "took the call"})
                await asyncio.Event().wait()

        @left.directory.actor("asker")
        def asker(inst: Actor, message: Message) -> None:
            @inst.action("go")
            async def go(msg: Message) -> AsyncGenerator[Any, Any]:
                try:
                    yield Call(msg["target"], {"action": "ask"}, timeout=30)
                except ConversationEnded as exc:
                    await inbox.put({"ended": str(exc)})

        target = await right.spawn("mute")
        await left.send(await left.spawn("asker"), {"action": "go", "target": target})
        assert await take(inbox) == {"remote": "took the call"}
        assert right.shard.transport is not None
        await right.shard.transport.close()  # the shard vanishes without a goodbye
        got = await take(inbox)
        assert right.shard.shard_id in got["ended"]


async def test_cross_shard_dead_letters_and_failures(inbox: asyncio.Queue[Message]) -> None:
    async with two_shards() as (left, right):
        add_probe(right.directory, inbox)
        probe = await right.spawn("probe")
        ls = left.shard
        # Non-JSON to another shard is refused here, as a dead letter.
        before = ls.dead_letters.counts["not JSON"]
        assert await left.send(probe, {"action": "report", "x": object()}) is False
        assert ls.dead_letters.counts["not JSON"] == before + 1
        # Something that is not a message at all.
        before = ls.dead_letters.counts["not a message"]
        assert await left.send(probe, ["not", "a", "dict"]) is False  # type: ignore[arg-type]
        assert await left.send(probe, {"no": "action"}) is False
        assert ls.dead_letters.counts["not a message"] == before + 2
        # A shard nobody knows.
        assert await left.send("ffffffffffff:1", {"action": "report"}) is False
        # A conversation opened towards a dead remote actor fails the caller at once.
        dead = f"{right.shard.shard_id}:999999"
        with pytest.raises(ConversationEnded):
            await asyncio.wait_for(left.call(dead, {"action": "report"}, timeout=30), WAIT)
        # A message crosses as JSON.
        assert await left.send(probe, {"action": "report", "t": (1, 2)})
        assert await take(inbox) == {"action": "report", "t": [1, 2]}


async def test_post_to_a_remote_actor_and_peer_views(inbox: asyncio.Queue[Message]) -> None:
    async with two_shards() as (left, right):
        add_probe(right.directory, inbox)
        probe = await right.spawn("probe")
        assert left.shard.post(probe, {"action": "report", "posted": True})
        assert await take(inbox) == {"action": "report", "posted": True}
        right.shard._announce()  # probe was declared after the shard started
        transport = left.shard.transport
        assert transport is not None
        await until(lambda: "probe" in transport.peers()[right.shard.shard_id]["types"])
        peers = transport.peers()
        assert list(peers) == [right.shard.shard_id]
        assert "probe" in peers[right.shard.shard_id]["types"]
        right.shard.services.register("svc", probe)
        await until(lambda: left.shard.services.pick("svc", "remote") == probe)
        assert left.shard.services.pick("svc", "local") is None
        assert left.shard.services.pick("svc") == probe  # mixed falls back to remote


async def test_memory_transport_edges() -> None:
    with pytest.raises(ConfigurationError):
        MemoryTransport("amqp://nope")
    lonely = MemoryTransport()  # private: no cluster
    assert await lonely.send("abc:1", {"action": "x"}) is False
    lonely.announce({"types": []})  # before start: only remembered
    assert lonely.peers() == {}
    await lonely.close()  # never started: harmless
    async with Runtime(transport=MemoryTransport()) as rt:
        assert rt.shard.shard_ids == [rt.shard.shard_id]


async def test_shard_id_can_be_chosen() -> None:
    async with Runtime(shard_id="alpha") as rt:
        assert rt.shard.shard_id == "alpha"
        assert rt.shard.address == "alpha:shard"


async def test_remote_sentinel_is_delivered_and_unwatched(inbox: asyncio.Queue[Message]) -> None:
    async with two_shards() as (left, right):

        @right.directory.actor("remote_victim")
        def remote_victim(inst: Actor, message: Message) -> None:
            @inst.action("quit")
            async def quit_(msg: Message) -> None:
                await inst.stop()

        @left.directory.actor("watcher")
        def watcher(inst: Actor, message: Message) -> None:
            @inst.on_start
            async def begin() -> None:
                await inst.monitor(message["target"])

            @inst.default_sentinel
            async def sentinel(msg: Message) -> None:
                await inbox.put(msg)

        victim = await right.spawn("remote_victim")
        watcher_address = await left.spawn("watcher", {"target": victim})
        await until(lambda: victim in left.shard._watches)
        await until(lambda: watcher_address in right.shard.actors[victim].monitors)
        await left.send(victim, {"action": "quit"})
        check_sentinel(await take(inbox), victim, "cancellation")
        assert victim not in left.shard._watches  # the watch ended with the sentinel


async def test_remote_spawn_reply_that_is_not_an_address() -> None:
    """A peer that answers a spawn request with nonsense fails the spawn."""
    async with two_shards() as (left, right):

        @right.shard.directory.actor("noop")
        def noop(inst: Actor, message: Message) -> None:
            pass

        # Pretend the right shard hosts "odd" and answer spawn requests strangely.
        right.shard.directory.actors["odd"] = lambda inst, message: None
        right.shard._announce()
        await until(lambda: "odd" in left.shard._peer_types[right.shard.shard_id])
        del right.shard.directory.actors["odd"]

        # The shard actor on the right answers {"error": ...} for the unknown type.
        with pytest.raises(SpawnError, match="odd"):
            await asyncio.wait_for(left.spawn("odd"), WAIT)

        right_actor = right.shard.actors[right.shard.address]

        @right_actor.action("spawn")
        async def weird(msg: Message) -> None:
            answer = {"action": "spawned", "request_id": msg["request_id"], "error": "odd answer"}
            await right_actor.send(msg["reply_to"], answer)

        right.shard.directory.actors["odd"] = noop
        with pytest.raises(SpawnError, match="odd answer"):
            await asyncio.wait_for(left.spawn("odd"), WAIT)

        @right_actor.action("spawn")
        async def weirder(msg: Message) -> None:
            answer = {"action": "spawned", "request_id": msg["request_id"]}
            await right_actor.send(msg["reply_to"], answer)

        with pytest.raises(SpawnError, match="no address in the answer"):
            await asyncio.wait_for(left.spawn("odd"), WAIT)


async def test_remote_spawn_that_gets_no_answer_times_out() -> None:
    async with two_shards(spawn_timeout=0.1) as (left, right):

        @right.directory.actor("slow_type")
        def slow_type(inst: Actor, message: Message) -> None:
            pass

        right.shard._announce()
        await until(lambda: "slow_type" in left.shard._peer_types[right.shard.shard_id])
        right_actor = right.shard.actors[right.shard.address]

        @right_actor.action("spawn")
        async def ignore(msg: Message) -> None:
            pass  # takes the request, never answers

        with pytest.raises(SpawnError, match="no answer"):
            await asyncio.wait_for(left.spawn("slow_type"), WAIT)


async def test_remote_spawns_run_concurrently_and_a_too_slow_one_leaves_nothing() -> None:
    async with two_shards(spawn_timeout=0.5) as (left, right):
        release = asyncio.Event()

        @right.directory.actor("slow")
        def slow(inst: Actor, message: Message) -> None:
            @inst.on_start
            async def start() -> None:
                await release.wait()

        @right.directory.actor("quick")
        def quick(inst: Actor, message: Message) -> None:
            pass

        right.shard._announce()
        await until(lambda: "quick" in left.shard._peer_types[right.shard.shard_id])
        before = set(right.shard.actors)
        slow_spawn = asyncio.ensure_future(left.spawn("slow"))
        quick_address = await asyncio.wait_for(left.spawn("quick"), WAIT)
        assert quick_address in right.shard.actors
        assert not slow_spawn.done()  # the slow on_start holds up nobody else
        with pytest.raises(SpawnError, match="did not finish in time"):
            await asyncio.wait_for(slow_spawn, WAIT)
        assert set(right.shard.actors) == before | {quick_address}  # no orphan left

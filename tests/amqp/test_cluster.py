"""A real cluster: shard processes on this machine plus the test's own shard.

The test process joins the cluster as one more shard (a ``Runtime`` with the AMQP
transport) and drives the others through it: remote spawn, services, conversations,
monitors, dead letters, a SIGKILLed shard and a clean departure.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from skick_amqp import AmqpTransport
from skick_core import Actor, ConversationEnded, Directory, Runtime, SpawnError

from .helpers import shard_processes, until, with_query

Message = dict[str, Any]


class Probe:
    """The test's own shard: a runtime with a ``collector`` actor gathering what arrives."""

    def __init__(self, runtime: Runtime, inbox: asyncio.Queue[Message], collector: str) -> None:
        self.runtime = runtime
        self.inbox = inbox
        self.collector = collector

    @property
    def shard_ids(self) -> list[str]:
        return self.runtime.shard.shard_ids

    async def next(self, timeout: float = 10.0) -> Message:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def stats(self, shard_id: str) -> Message:
        """Counters of another shard, asked of its probe actor."""
        reply: Message = await self.runtime.call(f"{shard_id}:1", {"action": "stats"}, timeout=10)
        return reply


@asynccontextmanager
async def probe_shard(url: str, **options: Any) -> AsyncIterator[Probe]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    directory = Directory()

    @directory.actor("collector")
    def collector(inst: Actor, message: Message) -> None:
        @inst.action("pong")
        async def pong(msg: Message) -> None:
            await inbox.put(msg)

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await inbox.put(msg)

    runtime = Runtime(
        directory, transport=AmqpTransport(url), shard_id=f"t{uuid.uuid4().hex[:8]}", **options
    )
    async with runtime:
        address = await runtime.spawn("collector")
        yield Probe(runtime, inbox, address)


async def test_three_shard_processes(cluster_url: str) -> None:
    async with (
        shard_processes(cluster_url, "A", "B", "C"),
        probe_shard(cluster_url, spawn_timeout=3.0) as t,
    ):
        shard = t.runtime.shard
        # Membership: everyone sees everyone.
        await until(lambda: {"A", "B", "C"} <= set(t.shard_ids), 5, "the probe sees A, B and C")
        for sid in "ABC":
            others = {"A", "B", "C", shard.shard_id} - {sid}
            stats = await t.stats(sid)
            assert others <= set(stats["peers"]), (sid, stats["peers"])

        # Services: local, mixed and remote views; actor types of every shard.
        assert shard.services.pick("probe-B", "remote") == "B:1"
        assert shard.services.pick("adder", "local") is None
        assert shard.services.pick("adder", "mixed") in {"A:1", "B:1", "C:1"}
        shard.services.register("adder", t.collector)
        assert shard.services.pick("adder", "local") == t.collector
        assert shard.services.pick("adder", "mixed") == t.collector
        assert shard.services.pick("adder", "remote") in {"A:1", "B:1", "C:1"}
        await until(lambda: "only-C" in shard._peer_types.get("C", ()), 5, "C's types")

        # Remote spawn: placed on a shard that has the type, running when returned.
        only_b = await t.runtime.spawn("only-B")
        assert only_b.startswith("B:"), only_b
        echo = await t.runtime.spawn("echo")
        assert echo.split(":")[0] in {"A", "B", "C"}, echo
        assert await t.runtime.send(echo, {"action": "ping", "n": -1, "reply_to": t.collector})
        assert (await t.next())["n"] == -1

        # Remote spawn failures are clear exceptions in the caller.
        with pytest.raises(SpawnError, match="ValueError"):
            await t.runtime.spawn("bad-start")
        with pytest.raises(SpawnError, match="no shard provides"):
            await t.runtime.spawn("no-such-type")
        started = time.monotonic()
        with pytest.raises(SpawnError):
            await t.runtime.spawn("slow-start")
        assert time.monotonic() - started < 6

        # Conversations across shards.
        assert await t.runtime.call(only_b, {"action": "ask", "n": 21}) == {
            "twice": 42,
            "shard": "B",
        }
        assert (await t.runtime.call("C:1", {"action": "add", "a": 2, "b": 3}))["sum"] == 5

        # Order per sender/receiver pair, over many batches.
        for n in range(2000):
            assert await t.runtime.send(only_b, {"action": "ping", "n": n, "reply_to": t.collector})
        got = [(await t.next())["n"] for _ in range(2000)]
        assert got == list(range(2000))

        # Monitors across shards: a crash there is a sentinel here.
        watched = await shard.spawn("only-C", {}, monitors=[t.collector])
        assert await t.runtime.send(watched, {"action": "crash"})
        sentinel = await t.next()
        assert sentinel["action"] == "sentinel", sentinel
        assert sentinel["address"] == watched
        assert sentinel["type"] == "exception"
        assert sentinel["exception"] == "RuntimeError"

        # A message to a dead actor on a live shard: one dead letter there, acked, no loop.
        before = await t.stats("A")
        for n in range(50):
            assert await t.runtime.send("A:999999", {"action": "ping", "n": n, "reply_to": "x"})
        await until_stats(t, "A", lambda s: s["dead_letters"] >= before["dead_letters"] + 50)
        await asyncio.sleep(0.3)  # a requeue loop would keep counting; nothing may follow
        after = await t.stats("A")
        assert after["dead_letters"] == before["dead_letters"] + 50, (before, after)
        assert after["transport"].get("redelivered dropped", 0) == 0


async def until_stats(t: Probe, shard_id: str, predicate: Any, timeout: float = 10.0) -> None:
    """Ask *shard_id* for its counters until *predicate* holds (bounded)."""
    async with asyncio.timeout(timeout):
        while True:
            if predicate(await t.stats(shard_id)):
                return
            await asyncio.sleep(0.05)


async def test_sigkilled_shard_is_lost_and_cleaned_up(amqp_url: str, namespace: str) -> None:
    # Default heartbeat settings: loss must be declared within 5 s.
    url = with_query(amqp_url, namespace=namespace)
    async with (
        shard_processes(url, "A", "B", "C") as (a, b, c),
        probe_shard(url, conversation_timeout=60.0) as t,
    ):
        shard = t.runtime.shard
        await until(lambda: {"A", "B", "C"} <= set(t.shard_ids), 5, "the probe sees A, B and C")
        watched = await shard.spawn("only-C", {}, monitors=[t.collector])
        hanging = asyncio.create_task(t.runtime.call(watched, {"action": "hang"}))
        await asyncio.sleep(0.2)
        assert not hanging.done()
        assert shard.services.pick("probe-C") == "C:1"

        c.kill()
        killed = time.monotonic()
        await until(lambda: "C" not in t.shard_ids, 6, "the killed shard is declared lost")
        detected = time.monotonic() - killed
        assert detected < 5.0, detected

        # Its services and types are gone, monitors got a sentinel, conversations ended.
        assert shard.services.pick("probe-C") is None
        assert "C" not in shard._peer_types
        sentinel = await t.next()
        assert sentinel == {
            "action": "sentinel",
            "address": watched,
            "type": "exception",
            "exception": "ShardLost",
            "tag": "main_task",
        }
        with pytest.raises(ConversationEnded):
            await asyncio.wait_for(hanging, 2)
        assert not await t.runtime.send(watched, {"action": "ping", "n": 0, "reply_to": "x"})

        # The survivors keep serving and saw the loss too.
        for sid in "AB":
            assert (await t.runtime.call(f"{sid}:1", {"action": "add", "a": 1, "b": 1}))["sum"] == 2
            await until_stats(t, sid, lambda s: "C" not in s["peers"], timeout=6)
        with pytest.raises(SpawnError, match="no shard provides"):
            await t.runtime.spawn("only-C")
        assert (await t.runtime.spawn("echo")).split(":")[0] in {"A", "B"}
        for survivor in (a, b):
            assert survivor.proc is not None
            assert survivor.proc.returncode is None


async def test_join_and_clean_departure_are_seen_at_once(amqp_url: str, namespace: str) -> None:
    # A long loss window: only the join/departure messages can explain quick detection.
    url = with_query(amqp_url, namespace=namespace, beat_interval=5, loss_window=30)
    async with probe_shard(url) as t, shard_processes(url, "A") as (a,):
        ready = time.monotonic()
        await until(lambda: "A" in t.shard_ids, 2, "a join is visible within 2 s")
        joined = time.monotonic() - ready
        stats = await t.stats("A")
        assert t.runtime.shard.shard_id in stats["peers"]
        watched = await t.runtime.shard.spawn("only-A", {}, monitors=[t.collector])

        assert await a.stop() == 0
        await until(lambda: "A" not in t.shard_ids, 1, "a clean departure is seen at once")
        sentinel = await t.next()
        assert sentinel["address"] == watched, sentinel
        assert sentinel["type"] == "cancellation"
        assert joined < 2.0

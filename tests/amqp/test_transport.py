"""The AMQP transport in one process: two or more runtimes on the real broker."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import pytest

from skick import Skick
from skick_amqp import BATCH_TYPE, MEMBER_TYPE, AmqpError, AmqpSettings, AmqpTransport
from skick_core import (
    Actor,
    ConfigurationError,
    ConversationEnded,
    Directory,
    Respond,
    Runtime,
    TransportError,
)
from skick_core.plugins import load_transport

from .helpers import until, with_query

Message = dict[str, Any]


def directory(inbox: asyncio.Queue[Message]) -> Directory:
    d = Directory()

    @d.actor("sink")
    def sink(inst: Actor, message: Message) -> None:
        @inst.action("put")
        async def put(msg: Message) -> None:
            await inbox.put(msg)

        @inst.action("ask")
        async def ask(msg: Message) -> Any:
            yield Respond(msg)
            yield {"n": msg["n"]}

    return d


@asynccontextmanager
async def runtimes(url: str, count: int = 2, **options: Any) -> AsyncIterator[list[Runtime]]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    started: list[Runtime] = []
    try:
        for n in range(count):
            runtime = Runtime(
                directory(inbox),
                transport=AmqpTransport(url),
                shard_id=f"r{n}-{uuid.uuid4().hex[:6]}",
                **options,
            )
            await runtime.start()
            runtime.inbox = inbox  # type: ignore[attr-defined]
            started.append(runtime)
        ids = {r.shard.shard_id for r in started}
        await until(
            lambda: all(set(r.shard.shard_ids) == ids for r in started), 5, "all shards meet"
        )
        yield started
    finally:
        for runtime in reversed(started):
            await runtime.close()


def transport_of(runtime: Runtime) -> AmqpTransport:
    transport = runtime.shard.transport
    assert isinstance(transport, AmqpTransport)
    return transport


def test_the_plugin_is_found_by_scheme() -> None:
    assert load_transport("amqp://localhost/") is AmqpTransport
    assert load_transport("amqps://localhost/") is AmqpTransport


def test_options_from_url_and_keywords() -> None:
    transport = AmqpTransport(
        "amqp://u:p@h:1/vh?namespace=ns1&loss_window=4&batch_size=7&heartbeat=30",
        linger=0.002,
    )
    s = transport.settings
    assert (s.namespace, s.loss_window, s.batch_size, s.linger) == ("ns1", 4.0, 7, 0.002)
    assert s.beat_interval == AmqpSettings.beat_interval
    assert transport._broker_url == "amqp://u:p@h:1/vh?heartbeat=30"
    assert "p@" not in transport.safe_url
    with pytest.raises(ConfigurationError, match="loss_window"):
        AmqpTransport("amqp://h/?loss_window=0.5&beat_interval=1")
    with pytest.raises(ConfigurationError, match="bad value"):
        AmqpTransport("amqp://h/?batch_size=many")
    with pytest.raises(ConfigurationError, match="unknown"):
        AmqpTransport("amqp://h/", colour="blue")
    with pytest.raises(ConfigurationError, match="namespace"):
        AmqpTransport("amqp://h/?namespace=has space")


async def test_same_shard_messages_never_touch_the_broker(cluster_url: str) -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    async with Runtime(directory(inbox), transport=AmqpTransport(cluster_url)) as runtime:
        sink = await runtime.spawn("sink")
        for n in range(100):
            assert await runtime.send(sink, {"action": "put", "n": n})
        assert [(await inbox.get())["n"] for _ in range(100)] == list(range(100))
        assert await runtime.call(sink, {"action": "ask", "n": 5}) == {"n": 5}
        stats = transport_of(runtime).stats
        assert stats["messages out"] == 0, stats
        assert stats["batches in"] == 0


async def test_many_messages_travel_in_few_batches_in_order(cluster_url: str) -> None:
    async with runtimes(cluster_url) as (left, right):
        inbox: asyncio.Queue[Message] = left.inbox  # type: ignore[attr-defined]
        sink = await right.spawn("sink")
        for n in range(5000):
            assert await left.send(sink, {"action": "put", "n": n, "text": "é" * (n % 7)})
        got = [(await asyncio.wait_for(inbox.get(), 10))["n"] for _ in range(5000)]
        assert got == list(range(5000))
        stats = transport_of(left).stats
        assert stats["messages out"] == 5000
        assert stats["batches out"] <= 50, stats  # batch_size is 1000 by default


async def test_message_types_and_content_type_on_the_wire(cluster_url: str, amqp_url: str) -> None:
    """Listen in on the fanout exchange: membership bodies are typed JSON."""
    settings = AmqpSettings.parse(cluster_url, {})[0]
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        members = await channel.declare_exchange(
            settings.members_exchange, aio_pika.ExchangeType.FANOUT
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(members)
        async with runtimes(cluster_url, count=1):
            message = None
            async with asyncio.timeout(5):
                while message is None:  # basic.get does not wait: poll (bounded)
                    message = await queue.get(fail=False)
                    await asyncio.sleep(0.01)
            assert message.content_type == "application/json"
            assert message.type == MEMBER_TYPE
            assert message.body.startswith(b'{"k":"hello"')
            await message.ack()


async def test_malformed_and_foreign_bodies_are_rejected(cluster_url: str, amqp_url: str) -> None:
    async with runtimes(cluster_url) as (left, right):
        inbox: asyncio.Queue[Message] = left.inbox  # type: ignore[attr-defined]
        target = transport_of(right)
        settings = target.settings
        sink = await right.spawn("sink")
        bad: list[tuple[bytes, str | None]] = [
            (b"\xff\xfe not utf-8", BATCH_TYPE),
            (b"not json", BATCH_TYPE),
            (b"[1, 2, 3]", BATCH_TYPE),
            (b'{"s": 1, "i": "x", "m": []}', BATCH_TYPE),
            (b'{"s": "a", "i": "x", "m": [NaN]}', BATCH_TYPE),
            (b'{"k": "dance", "s": "a", "i": "x"}', MEMBER_TYPE),
            (b'{"k": "hello", "s": "a", "i": "x", "v": "one", "info": {}}', MEMBER_TYPE),
            (b'{"hello": "from another app"}', None),
            (b'{"hello": "from another app"}', "other.app"),
        ]
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            direct = await channel.declare_exchange(settings.direct_exchange, "direct")
            for body, kind in bad:
                await direct.publish(aio_pika.Message(body, type=kind), right.shard.shard_id)
            # The membership queue drops what is not membership, too.
            for body, kind in bad[5:]:
                rk = f"{right.shard.shard_id}:m"
                await direct.publish(aio_pika.Message(body, type=kind), rk)
            # One batch with a bad entry between two good ones: the good ones arrive.
            good = b'["%s",{"action":"put","n":1}]' % sink.encode()
            mixed = b'{"s":"x","i":"y","m":[%s,["no-dict",5],7,%s]}' % (good, good)
            await direct.publish(aio_pika.Message(mixed, type=BATCH_TYPE), right.shard.shard_id)
        for _ in range(2):
            assert (await asyncio.wait_for(inbox.get(), 5))["n"] == 1
        expected = len(bad) + len(bad[5:]) + 2
        await until(lambda: target.stats["malformed"] >= expected, 5, "all counted")
        # The shard is unharmed and nothing was requeued (a requeue would count again).
        assert await left.call(sink, {"action": "ask", "n": 3}, timeout=5) == {"n": 3}
        await asyncio.sleep(0.2)
        assert target.stats["malformed"] == expected, target.stats
        assert target.stats["redelivered dropped"] == 0


async def test_dead_actor_on_a_live_shard_is_one_dead_letter(cluster_url: str) -> None:
    async with runtimes(cluster_url) as (left, right):
        rs = right.shard
        before = rs.dead_letters.total
        for n in range(30):
            assert await left.send(f"{rs.shard_id}:424242", {"action": "put", "n": n})
        await until(lambda: rs.dead_letters.total >= before + 30, 5, "dead letters counted")
        # A conversation opened to a dead actor fails at once instead of timing out.
        started = time.monotonic()
        with pytest.raises(ConversationEnded):
            await left.call(f"{rs.shard_id}:424242", {"action": "ask", "n": 1}, timeout=20)
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.2)
        assert rs.dead_letters.total == before + 31
        assert transport_of(right).stats["redelivered dropped"] == 0


async def test_sends_that_cannot_arrive_return_false(cluster_url: str) -> None:
    async with runtimes(cluster_url) as (left, right):
        ls = left.shard
        right_id = right.shard.shard_id
        sink = await right.spawn("sink")
        # Not JSON: refused at the sender, counted there.
        before = ls.dead_letters.total
        assert not await left.send(sink, {"action": "put", "n": float("nan")})
        assert not await left.send(sink, {"action": "put", "n": object()})
        assert ls.dead_letters.total == before + 2
        # A shard never heard of: False at once, and a conversation to it fails at once.
        assert not await left.send("nowhere:1", {"action": "put", "n": 1})
        started = time.monotonic()
        with pytest.raises(ConversationEnded):
            await left.call("nowhere:1", {"action": "ask", "n": 1}, timeout=20)
        assert time.monotonic() - started < 1
        # A shard that left: False at once.
        await right.close()
        await until(lambda: right_id not in ls.shard_ids, 5, "departure seen")
        assert not await left.send(sink, {"action": "put", "n": 2})
        assert ls.dead_letters.counts["no such shard"] == 3


async def test_broker_refusing_connections_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port that surely has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    runtime = Runtime(transport=f"amqp://guest:guest@127.0.0.1:{port}/?connect_timeout=2")
    with pytest.raises(AmqpError, match="cannot use RabbitMQ") as info:
        await runtime.start()
    assert isinstance(info.value, TransportError)
    assert "guest:guest" not in str(info.value)
    assert time.monotonic() - started < 3


async def test_broker_that_never_answers_is_a_clear_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never speak AMQP
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        started = time.monotonic()
        runtime = Runtime(transport=f"amqp://guest:guest@127.0.0.1:{port}/?connect_timeout=1")
        with pytest.raises(AmqpError, match=r"did not answer within 1\.0 s"):
            await runtime.start()
        assert time.monotonic() - started < 3
        server.close()


async def test_bad_credentials_are_a_clear_error(amqp_url: str) -> None:
    url = with_query(amqp_url.replace("guest:guest@", "nobody:wrong@"), connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(AmqpError):
        await Runtime(transport=url).start()
    assert time.monotonic() - started < 4


async def test_a_duplicate_shard_id_is_refused(cluster_url: str) -> None:
    async with Runtime(transport=AmqpTransport(cluster_url), shard_id="twin"):
        with pytest.raises(AmqpError, match="same shard id"):
            await Runtime(transport=AmqpTransport(cluster_url), shard_id="twin").start()


async def test_the_skick_facade_joins_the_cluster(cluster_url: str) -> None:
    async with runtimes(cluster_url, count=1) as (peer,):
        joined = asyncio.Event()

        async def on_start(shard: Any) -> None:
            joined.set()

        skick = Skick(on_start=on_start, message_system=cluster_url, websocket_server=False)

        @skick.actor("facade-only")
        def facade_only(inst: Actor, message: Message) -> None:
            pass

        running = asyncio.create_task(skick.run())
        try:
            await asyncio.wait_for(joined.wait(), 10)
            assert isinstance(skick.shard.transport, AmqpTransport)
            sid = skick.shard.shard_id
            await until(lambda: sid in peer.shard.shard_ids, 5, "the facade's shard is seen")
            address = await peer.spawn("facade-only")
            assert address.startswith(sid + ":")
        finally:
            await asyncio.wait_for(skick.stop(), 10)
            await running
        await until(lambda: sid not in peer.shard.shard_ids, 2, "the facade's shard left")


async def test_services_and_types_follow_announcements(cluster_url: str) -> None:
    async with runtimes(cluster_url, count=3) as (a, b, c):
        sink = await b.spawn("sink")
        b.shard.services.register("svc", sink)
        await until(
            lambda: (
                a.shard.services.pick("svc", "remote") == sink
                and c.shard.services.pick("svc") == sink
            ),
            3,
            "a new service is seen everywhere",
        )
        b.shard.services.unregister(sink)
        await until(
            lambda: a.shard.services.pick("svc") is None and c.shard.services.pick("svc") is None,
            3,
            "a withdrawn service disappears everywhere",
        )
        assert set(transport_of(a).peers()) == {b.shard.shard_id, c.shard.shard_id}


async def test_heartbeats_are_not_stuck_behind_a_data_backlog(cluster_url: str) -> None:
    """A shard whose actors are too slow to keep up still hears its peers' heartbeats."""
    d = Directory()
    handled: list[int] = []

    @d.actor("slow")
    def slow(inst: Actor, message: Message) -> None:
        @inst.action("work")
        async def work(msg: Message) -> None:
            await asyncio.sleep(0.3)
            handled.append(msg["n"])

    async with (
        Runtime(transport=AmqpTransport(cluster_url)) as left,
        Runtime(d, transport=AmqpTransport(cluster_url), mailbox_size=1, send_timeout=5.0) as right,
    ):
        lid, rid = left.shard.shard_id, right.shard.shard_id
        await until(lambda: rid in left.shard.shard_ids and lid in right.shard.shard_ids, 5, "meet")
        target = await right.spawn("slow")
        for n in range(15):
            assert await left.send(target, {"action": "work", "n": n})
        # Right's data queue is now blocked for ~4.5 s (each delivery waits for room);
        # the loss window is 2 s, so a shared queue would have lost the peer by now.
        await asyncio.sleep(4.0)
        assert lid in right.shard.shard_ids
        assert rid in left.shard.shard_ids
        assert len(handled) < 15  # the backlog really is still there
        await until(lambda: len(handled) == 15, 10, "the backlog drains, in order")
        assert handled == list(range(15))

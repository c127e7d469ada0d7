"""Skick across shards over RabbitMQ against bare aio-pika, in the same run.

- one-way: N messages from a shard to an actor on another shard, until the last one is
  handled, vs bare aio-pika publishing the same JSON bodies one per publish (awaited,
  as usual) to a queue that a second connection consumes (decode + ack) — target ≥ 1.0x;
- call: sequential ``runtime.call`` round trips to an actor on another shard vs a bare
  aio-pika RPC (request with ``reply_to`` and ``correlation_id``, reply on an exclusive
  queue), one in flight — target ≥ 0.8x;
- detection: time from SIGKILL of a shard process until a peer declares it lost (default
  settings: heartbeat 1 s, loss window 3 s; the requirement is < 5 s), and from SIGTERM
  until a peer has seen the clean departure (includes the process's own shutdown).

Both sides use channels without publisher confirms (Skick's transport is at most once;
confirms would slow the bare side down, which would flatter the ratio). The two shards
and the bare publisher/consumer run in this one process, on one event loop. Each
measurement is repeated, ours and bare interleaved; the table shows median rates and the
median of the per-round ratios. Uses ``SKICK_AMQP_URL`` (default
``amqp://guest:guest@127.0.0.1:5672/``) under a throwaway namespace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bench._measure import interleaved_medians
from skick_amqp import AmqpError, AmqpSettings, AmqpTransport
from skick_core import Actor, Directory, Respond, Runtime

URL = os.environ.get("SKICK_AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/"
ONE_WAY = 20_000
"""Messages per one-way measurement."""
CALLS = 300
"""Round trips per call measurement."""
REPEATS = 7
KILLS = 3
"""SIGKILL (and SIGTERM) detection measurements."""

Message = dict[str, Any]


def _with_query(url: str, **params: Any) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


async def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll *predicate* every 5 ms, for at most *timeout* seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


# ----------------------------------------------------------------------- Skick side


class _Counter:
    def __init__(self) -> None:
        self.target = 0
        self.count = 0
        self.done: asyncio.Future[None] | None = None

    def arm(self, target: int) -> asyncio.Future[None]:
        self.target, self.count = target, 0
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def hit(self) -> None:
        self.count += 1
        if self.count == self.target and self.done is not None and not self.done.done():
            self.done.set_result(None)


def _directory(counter: _Counter) -> Directory:
    d = Directory()

    @d.actor("count")
    def count(inst: Actor, message: Message) -> None:
        @inst.action("m")
        async def m(msg: Message) -> None:
            counter.hit()

        @inst.action("ask")
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            yield {"n": msg["n"]}

    return d


async def _skick_pair(url: str, counter: _Counter) -> tuple[Runtime, Runtime, str]:
    left = Runtime(_directory(counter), transport=AmqpTransport(url), shard_id="bench-l")
    right = Runtime(_directory(counter), transport=AmqpTransport(url), shard_id="bench-r")
    await left.start()
    await right.start()
    await _until(lambda: "bench-r" in left.shard.shard_ids and "bench-l" in right.shard.shard_ids)
    target = await right.spawn("count")
    return left, right, target


# ------------------------------------------------------------------------ bare side


class _Bare:
    """A publisher connection and a consumer connection, as two bare aio-pika programs."""

    def __init__(self, url: str, counter: _Counter) -> None:
        self.url = url
        self.counter = counter
        self.queue_name = f"bench-bare-{uuid.uuid4().hex}"
        self.rpc_name = self.queue_name + "-rpc"
        self.futures: dict[str, asyncio.Future[bytes]] = {}

    async def open(self) -> None:
        self.pub_conn = await aio_pika.connect(self.url)
        self.sub_conn = await aio_pika.connect(self.url)
        self.pub = await self.pub_conn.channel(publisher_confirms=False)
        sub = await self.sub_conn.channel(publisher_confirms=False)
        await sub.set_qos(prefetch_count=256)
        self.sub = sub
        queue = await sub.declare_queue(self.queue_name, exclusive=True)
        await queue.consume(self._on_message)
        # RPC: the server consumes requests on the consumer connection, the client
        # waits for replies on an exclusive queue of the publisher connection.
        rpc = await sub.declare_queue(self.rpc_name, exclusive=True)
        await rpc.consume(self._on_request)
        self.replies = await self.pub.declare_queue(exclusive=True)
        await self.replies.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        await self.pub_conn.close()
        await self.sub_conn.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        json.loads(message.body)
        await message.ack()
        self.counter.hit()

    async def one_way(self, bodies: list[bytes]) -> int:
        done = self.counter.arm(len(bodies))
        exchange = self.pub.default_exchange
        for body in bodies:
            await exchange.publish(
                aio_pika.Message(body, content_type="application/json"), self.queue_name
            )
        await asyncio.wait_for(done, 60)
        return len(bodies)

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        request = json.loads(message.body)
        reply = json.dumps({"n": request["n"]}).encode()
        assert message.reply_to is not None
        await self.sub.default_exchange.publish(
            aio_pika.Message(
                reply, content_type="application/json", correlation_id=message.correlation_id
            ),
            message.reply_to,
        )
        await message.ack()

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self.futures.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(self, n: int) -> Any:
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.futures[correlation_id] = future
        body = json.dumps({"action": "ask", "n": n}).encode()
        await self.pub.default_exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                correlation_id=correlation_id,
                reply_to=self.replies.name,
            ),
            self.rpc_name,
        )
        return json.loads(await asyncio.wait_for(future, 10))


# ---------------------------------------------------------------------- detection

_CHILD = """
import asyncio, signal, sys
from skick_core import Runtime
from skick_amqp import AmqpTransport

async def main():
    runtime = Runtime(transport=AmqpTransport(sys.argv[1]), shard_id=sys.argv[2])
    async with runtime:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
        await stop.wait()

asyncio.run(main())
"""


async def _detect(url: str, observer: Runtime, sig: int, name: str) -> float:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, url, name, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        await asyncio.wait_for(proc.stdout.readline(), 20)
        await _until(lambda: name in observer.shard.shard_ids)
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        proc.send_signal(sig)
        await _until(lambda: name not in observer.shard.shard_ids)
        return time.perf_counter() - started
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


# -------------------------------------------------------------------------- main


async def main() -> None:
    logging.getLogger("skick_amqp").setLevel(logging.ERROR)  # the kills are on purpose
    url = _with_query(URL, namespace=f"bench-{uuid.uuid4().hex[:8]}")
    counter = _Counter()
    try:
        left, right, target = await _skick_pair(url, counter)
    except AmqpError as exc:
        print(f"skipped: {exc}")
        return
    bare = _Bare(URL, counter)
    await bare.open()
    try:
        await _run(url, left, target, bare, counter)
    finally:
        await left.close()
        await right.close()
        settings = AmqpSettings.parse(url, {})[0]
        channel = await bare.pub_conn.channel()
        for exchange in (settings.direct_exchange, settings.members_exchange):
            await channel.exchange_delete(exchange)
        await bare.close()


async def _run(url: str, left: Runtime, target: str, bare: _Bare, counter: _Counter) -> None:
    messages = [{"action": "m", "n": n} for n in range(ONE_WAY)]
    bodies = [json.dumps(m).encode() for m in messages]

    async def ours_one_way() -> int:
        done = counter.arm(ONE_WAY)
        send = left.send
        for message in messages:
            await send(target, message)
        await asyncio.wait_for(done, 60)
        return ONE_WAY

    async def bare_one_way() -> int:
        return await bare.one_way(bodies)

    async def ours_calls() -> int:
        for n in range(CALLS):
            await left.call(target, {"action": "ask", "n": n})
        return CALLS

    async def bare_calls() -> int:
        for n in range(CALLS):
            await bare.call(n)
        return CALLS

    await ours_one_way()  # warm up both paths
    await bare_one_way()
    rows = []
    rates, ratios = await interleaved_medians({"ours": ours_one_way, "bare": bare_one_way}, REPEATS)
    rows.append(("one-way msgs/s", rates["ours"], rates["bare"], ratios["bare"], 1.0))
    rates, ratios = await interleaved_medians({"ours": ours_calls, "bare": bare_calls}, REPEATS)
    rows.append(("call round trips/s", rates["ours"], rates["bare"], ratios["bare"], 0.8))
    print(f"{'measure':<22}{'skick':>12}{'bare aio-pika':>16}{'ratio':>9}{'target':>9}")
    for name, ours, floor, ratio, goal in rows:
        verdict = "ok" if ratio >= goal else "MISSED"
        print(f"{name:<22}{ours:>12,.0f}{floor:>16,.0f}{ratio:>8.2f}x{goal:>8.1f}x  {verdict}")

    kills = [await _detect(url, left, signal.SIGKILL, f"kill{n}") for n in range(KILLS)]
    terms = [await _detect(url, left, signal.SIGTERM, f"term{n}") for n in range(KILLS)]
    worst = max(kills)
    print(
        f"killed shard declared lost after {statistics.median(kills):.2f} s median, "
        f"{worst:.2f} s worst (target < 5 s: {'ok' if worst < 5 else 'MISSED'})"
    )
    print(
        f"clean departure seen after {statistics.median(terms):.2f} s median, "
        f"{max(terms):.2f} s worst (includes the process's shutdown)"
    )

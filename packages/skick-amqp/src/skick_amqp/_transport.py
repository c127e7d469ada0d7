"""The RabbitMQ transport: one queue per shard, batches of JSON, membership by heartbeats.

Topology in a namespace ``ns`` (``?namespace=`` in the URL, ``skick`` by default)::

    ns.direct   direct exchange   routing key = shard id  ->  queue ns.shard.<id>
    ns.members  fanout exchange                           ->  every shard queue

Each shard declares its own queue *exclusive* (the broker deletes it when the shard's
connection ends, SIGKILL included), binds it to both exchanges and consumes it with
manual acknowledgements and a prefetch limit. Same-shard traffic never gets here.

The connection, channels, exchanges and queue are aio-pika's robust ones: after the
broker comes back they are declared again by aio-pika. The hot paths (publish and
consume) go one level down, to the aiormq channel under each robust channel
(``get_underlay_channel()``), which saves a task switch and a drain wait per message;
the transport renews its consumer and its handle on the publish channel whenever
aio-pika reopens a channel.

Sending: ``send`` encodes the message at once (a non-JSON message fails there),
appends it to the destination shard's buffer and returns. One publisher task drains
the buffers in order, packing many messages into one AMQP message (``batch_size`` /
``batch_bytes``) while the previous publish is on the wire, so batches grow with the
load and a lone message leaves on the next loop turn. All publishes use one channel,
which keeps the per-pair order and the order of data and membership messages.

Receiving: deliveries are handled strictly in arrival order, each entry handed to
``host.deliver``; every AMQP message is acknowledged once its entries were delivered
or refused (dead letters on this shard), never requeued. Malformed or foreign bodies
are rejected (``requeue=False``) and counted; a redelivered message is dropped, which
keeps delivery at most once.

The broker being away never blocks a sender: ``send`` returns False at once (a dead
letter) while disconnected, and batches that cannot be published become dead letters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, ClassVar

import aio_pika
import aiormq
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection, ExchangeType
from aio_pika.exceptions import ChannelClosed
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic
from yarl import URL

from skick_core import DeadLetters
from skick_core.abc import PeerInfo, Transport, TransportHost
from skick_core.exceptions import TransportError

from ._codec import (
    BATCH_TYPE,
    CONTENT_TYPE,
    MEMBER_TYPE,
    Malformed,
    decode_batch,
    decode_member,
    encode_batch,
    encode_member,
    encode_part,
)
from ._membership import Membership
from ._options import AmqpSettings

__all__ = ["AmqpError", "AmqpTransport"]

logger = logging.getLogger(__name__)

_DRAIN_EVERY = 1 << 20
"""Publishes do not wait for the socket, except once per this many bytes (backpressure)."""


class AmqpError(TransportError):
    """RabbitMQ could not be reached or refused what the transport needs."""


def _lane(channel: aiormq.abc.AbstractChannel) -> aiormq.Channel:
    """The concrete aiormq channel under a robust channel (for ``basic_publish(wait=)``)."""
    if not isinstance(channel, aiormq.Channel):
        raise AmqpError(f"unexpected AMQP channel class {type(channel).__name__}")
    return channel


class _LogLimiter:
    """At most *rate* warnings a second; the rest are counted and summarised."""

    def __init__(self, rate: int = 10) -> None:
        self.rate = rate
        self.window = 0.0
        self.logged = 0
        self.suppressed = 0

    def warning(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.window >= 1.0:
            if self.suppressed:
                logger.warning("%d more transport warnings were not logged", self.suppressed)
            self.window, self.logged, self.suppressed = now, 0, 0
        if self.logged < self.rate:
            self.logged += 1
            logger.warning(msg, *args)
        else:
            self.suppressed += 1


class _Outbox:
    """Encoded messages waiting for one destination shard."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0


class AmqpTransport(Transport):
    """Shards of one namespace on one RabbitMQ form a cluster (see the module docstring).

    *url* is an ``amqp://`` or ``amqps://`` URL; the transport's own options may ride
    in its query string or come as keywords (see :class:`AmqpSettings`). ``stats``
    counts what happened: batches and messages in and out, malformed bodies, dead
    letters by reason, disconnections.
    """

    schemes: ClassVar[tuple[str, ...]] = ("amqp", "amqps")

    def __init__(self, url: str = "amqp://guest:guest@localhost/", **options: Any) -> None:
        super().__init__(url, **options)
        self.settings, self._broker_url = AmqpSettings.parse(url, options)
        self.stats: Counter[str] = Counter()
        self._host: TransportHost | None = None
        self._shard_id = ""
        self._membership: Membership | None = None
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._publisher_lane: aiormq.Channel | None = None
        self._queue_name = ""
        self._members_queue_name = ""
        self._state = "new"
        self._online = False
        self._outbox: dict[str, _Outbox] = {}
        self._control: list[tuple[str, str, bytes]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._unflushed = 0
        self._inbox: deque[DeliveredMessage] = deque()
        self._draining = False
        self._ack_channel: aiormq.abc.AbstractChannel | None = None
        self._ack_tag = 0
        self._ack_count = 0
        self._ack_every = max(1, self.settings.prefetch // 2)
        self._tasks: list[asyncio.Task[None]] = []
        self._info_pending = False
        self._log = _LogLimiter()

    def __repr__(self) -> str:
        return f"<AmqpTransport {self.safe_url} {self._state}>"

    @property
    def safe_url(self) -> str:
        """The broker URL without its password."""
        url = URL(self._broker_url)
        return str(url.with_password("***")) if url.password else str(url)

    @property
    def online(self) -> bool:
        """Whether the broker connection is up right now."""
        return self._online

    @property
    def membership(self) -> Membership:
        """The membership view (after :meth:`start`)."""
        if self._membership is None:
            raise AmqpError("the transport is not started")
        return self._membership

    # --------------------------------------------------------------- lifecycle

    async def start(self, host: TransportHost) -> None:
        if self._state != "new":
            raise AmqpError(f"an AMQP transport starts once (it is {self._state})")
        self._state = "starting"
        self._host = host
        self._shard_id = host.shard_id
        settings = self.settings
        self._membership = Membership(
            self._shard_id,
            loss_window=settings.loss_window,
            publish=self._publish_member,
            on_up=host.peer_up,
            on_down=host.peer_down,
        )
        self._membership.set_info(host.local_info())
        # What connect_robust() does, with the connection kept in hand so that a
        # failed start can close it instead of leaving it retrying in the background.
        connection = aio_pika.RobustConnection(
            URL(self._broker_url),
            reconnect_interval=settings.reconnect_interval,
            client_properties={"connection_name": f"skick shard {self._shard_id}"},
        )
        self._connection = connection
        try:
            async with asyncio.timeout(settings.connect_timeout):
                await connection.connect(timeout=settings.connect_timeout)
                await self._declare(connection)
        except asyncio.CancelledError:
            await self._shutdown_connection()
            self._state = "closed"
            raise
        except Exception as exc:
            await self._shutdown_connection()
            self._state = "closed"
            raise AmqpError(self._start_failure(exc)) from exc
        connection.close_callbacks.add(self._on_connection_lost)
        connection.reconnect_callbacks.add(self._on_reconnected)
        self._online = True
        self._state = "running"
        loop = asyncio.get_running_loop()
        for coro, name in ((self._publisher(), "publisher"), (self._ticker(), "ticker")):
            self._tasks.append(loop.create_task(coro, name=f"skick-amqp-{name}-{self._shard_id}"))
        self._publish_member(None, self._membership.hello())
        logger.info("shard %s joined %s at %s", self._shard_id, settings.namespace, self.safe_url)

    def _start_failure(self, exc: BaseException) -> str:
        if isinstance(exc, ChannelClosed) and "RESOURCE_LOCKED" in str(exc):
            return (
                f"the queue of shard {self._shard_id!r} is in use at {self.safe_url}: "
                "another live shard has the same shard id"
            )
        if isinstance(exc, TimeoutError):
            return (
                f"RabbitMQ at {self.safe_url} did not answer within "
                f"{self.settings.connect_timeout} s"
            )
        return f"cannot use RabbitMQ at {self.safe_url}: {type(exc).__name__}: {exc}"

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        settings = self.settings
        publish = await connection.channel(publisher_confirms=False)
        consume = await connection.channel(publisher_confirms=False)
        await consume.set_qos(prefetch_count=settings.prefetch)
        for channel in (publish, consume):  # each restores in any order after an outage
            await channel.declare_exchange(settings.direct_exchange, ExchangeType.DIRECT)
            await channel.declare_exchange(settings.members_exchange, ExchangeType.FANOUT)
        self._queue_name = settings.queue_name(self._shard_id)
        queue = await consume.declare_queue(self._queue_name, exclusive=True, auto_delete=True)
        await queue.bind(settings.direct_exchange, routing_key=self._shard_id)
        # Membership has its own queue, so heartbeats are never stuck behind data.
        self._members_queue_name = settings.members_queue_name(self._shard_id)
        members = await consume.declare_queue(
            self._members_queue_name, exclusive=True, auto_delete=True
        )
        await members.bind(settings.members_exchange, routing_key="")
        await members.bind(settings.direct_exchange, routing_key=f"{self._shard_id}:m")
        self._publish_channel, self._consume_channel = publish, consume
        self._publisher_lane = _lane(await publish.get_underlay_channel())
        await self._consume()
        publish.reopen_callbacks.add(self._on_publish_channel_reopened)
        consume.reopen_callbacks.add(self._on_consume_channel_reopened)

    async def _consume(self) -> None:
        assert self._consume_channel is not None
        channel = await self._consume_channel.get_underlay_channel()
        await channel.basic_consume(self._queue_name, self._on_delivery, no_ack=False)
        await channel.basic_consume(self._members_queue_name, self._on_member_delivery, no_ack=True)

    async def _on_publish_channel_reopened(self, channel: AbstractRobustChannel | None) -> None:
        if channel is not None:
            self._publisher_lane = _lane(await channel.get_underlay_channel())

    async def _on_consume_channel_reopened(self, _channel: AbstractRobustChannel | None) -> None:
        if self._state != "running":
            return
        try:
            await self._consume()
        except Exception:
            logger.exception("shard %s could not consume its queue again", self._shard_id)

    async def close(self) -> None:
        if self._state in ("closing", "closed"):
            return
        if self._state == "new":
            self._state = "closed"
            return
        self._state = "closing"
        limit = self.settings.close_timeout
        try:
            async with asyncio.timeout(limit):
                await self._drain()
                if self._online and self._membership is not None:
                    # To each peer's data queue: it arrives after what was sent before.
                    bye = encode_member(self._membership.bye())
                    direct = self.settings.direct_exchange
                    self._control.extend((direct, sid, bye) for sid in self._membership.known())
                    self._kick()
                    await self._drain()
                    await self._flush_acks()
        except TimeoutError:
            logger.warning("shard %s: flushing at close took over %s s", self._shard_id, limit)
        self._online = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._shutdown_connection()
        self._fail_outbox("transport closed")
        self._inbox.clear()
        if self._membership is not None:
            self._membership.forget_all()
        self._state = "closed"
        logger.info("shard %s left the cluster", self._shard_id)

    async def _shutdown_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        connection.close_callbacks.discard(self._on_connection_lost)
        try:
            async with asyncio.timeout(self.settings.close_timeout):
                await connection.close()
        except Exception as exc:  # the broker may be gone; nothing more to do
            logger.debug("closing the AMQP connection failed: %r", exc)

    def _on_connection_lost(self, _sender: Any, exc: BaseException | None = None) -> None:
        if self._state != "running":
            return
        self._online = False
        self.stats["disconnects"] += 1
        logger.warning("shard %s lost RabbitMQ (%r); reconnecting", self._shard_id, exc)
        self._fail_outbox("broker unavailable")

    def _on_reconnected(self, _sender: Any) -> None:
        if self._state != "running" or self._membership is None:
            return
        self._online = True
        self.stats["reconnects"] += 1
        logger.warning("shard %s reconnected to RabbitMQ", self._shard_id)
        self._publish_member(None, self._membership.hello())

    # ------------------------------------------------------------------ sending

    async def send(self, address: str, message: dict[str, Any]) -> bool:
        return self.send_nowait(address, message)

    def send_nowait(self, address: str, message: dict[str, Any]) -> bool:
        """Queue for the shard's next batch; never waits (the publisher task sends)."""
        part = encode_part(address, message)  # TypeError/ValueError: the shard counts it
        if not self._online:
            reason = "broker unavailable" if self._state == "running" else "transport closed"
            return self._dead(reason, address, message)
        shard = address.partition(":")[0]
        membership = self._membership
        if membership is None or not membership.reachable(shard):
            return self._dead("no such shard", address, message)
        box = self._outbox.get(shard)
        if box is None:
            box = self._outbox[shard] = _Outbox()
        box.parts.append(part)
        box.size += len(part) + 1
        self._kick()
        return True

    def announce(self, info: PeerInfo) -> None:
        membership = self._membership
        if membership is None or self._state != "running":
            return
        membership.set_info(info)
        if not self._info_pending:  # many changes in one loop turn: one broadcast
            self._info_pending = True
            asyncio.get_running_loop().call_soon(self._broadcast_info)

    def _broadcast_info(self) -> None:
        self._info_pending = False
        if self._membership is not None and self._state == "running":
            self._publish_member(None, self._membership.info_message())

    def peers(self) -> Mapping[str, PeerInfo]:
        return self._membership.peers() if self._membership is not None else {}

    def _publish_member(self, shard: str | None, payload: dict[str, Any]) -> None:
        """Queue a membership message: to every shard (None) or to one shard's queue."""
        if not self._online:
            return
        settings = self.settings
        if shard is None:
            self._control.append((settings.members_exchange, "", encode_member(payload)))
        else:
            self._control.append((settings.direct_exchange, f"{shard}:m", encode_member(payload)))
        self._kick()

    def _kick(self) -> None:
        """Make sure the publisher will run."""
        if self._idle.is_set():
            self._idle.clear()
            self._wake.set()

    async def _drain(self) -> None:
        """Wait until everything queued so far has been published (or dropped)."""
        await self._idle.wait()

    async def _publisher(self) -> None:
        settings = self.settings
        direct = settings.direct_exchange
        while True:
            if not self._outbox and not self._control:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                if settings.linger:
                    await asyncio.sleep(settings.linger)
            outbox, self._outbox = self._outbox, {}
            control, self._control = self._control, []
            try:
                for shard, box in outbox.items():
                    for body, count in self._batches(box):
                        await self._publish(direct, shard, body, BATCH_TYPE, count)
                for exchange, routing_key, body in control:
                    await self._publish(exchange, routing_key, body, MEMBER_TYPE, 0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop every later message
                logger.exception("shard %s: the publisher failed a round", self._shard_id)

    def _batches(self, box: _Outbox) -> list[tuple[bytes, int]]:
        settings = self.settings
        origin, incarnation = self._shard_id, self.membership.incarnation
        parts = box.parts
        if len(parts) <= settings.batch_size and box.size <= settings.batch_bytes:
            return [(encode_batch(origin, incarnation, parts), len(parts))]
        batches = []
        chunk: list[bytes] = []
        size = 0
        for part in parts:
            if chunk and (
                len(chunk) >= settings.batch_size or size + len(part) > settings.batch_bytes
            ):
                batches.append((encode_batch(origin, incarnation, chunk), len(chunk)))
                chunk, size = [], 0
            chunk.append(part)
            size += len(part) + 1
        batches.append((encode_batch(origin, incarnation, chunk), len(chunk)))
        return batches

    async def _publish(
        self, exchange: str, routing_key: str, body: bytes, kind: str, count: int
    ) -> None:
        lane = self._publisher_lane
        if lane is None or not self._online:
            self._lost_batch(count, "broker unavailable")
            return
        self._unflushed += len(body)
        wait = self._unflushed >= _DRAIN_EVERY
        if wait:
            self._unflushed = 0
        try:
            await lane.basic_publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=Basic.Properties(
                    content_type=CONTENT_TYPE, message_type=kind, delivery_mode=1
                ),
                timeout=self.settings.publish_timeout,
                wait=wait,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lost_batch(count, "publish failed")
            self._log.warning(
                "shard %s: publish to %r failed: %r", self._shard_id, routing_key, exc
            )
            return
        if count:
            self.stats["batches out"] += 1
            self.stats["messages out"] += count

    def _lost_batch(self, count: int, reason: str) -> None:
        if count:
            self.stats[f"dead: {reason}"] += count
            dead = self._dead_letters()
            if dead is not None:
                dead.counts[reason] += count - 1
                dead.record(reason, "(a batch)", f"{count} messages")

    def _fail_outbox(self, reason: str) -> None:
        outbox, self._outbox = self._outbox, {}
        self._control.clear()
        for box in outbox.values():
            self._lost_batch(len(box.parts), reason)

    def _dead(self, reason: str, address: str, message: Any) -> bool:
        self.stats[f"dead: {reason}"] += 1
        dead = self._dead_letters()
        if dead is not None:
            dead.record(reason, address, message)
        return False

    def _dead_letters(self) -> DeadLetters | None:
        host = self._host
        return None if host is None else host.dead_letters

    # ---------------------------------------------------------------- receiving

    async def _on_delivery(self, message: DeliveredMessage) -> None:
        """Take deliveries in queue order, one at a time.

        aiormq runs this in a new task per delivery, in arrival order. The first task
        to find nobody draining handles its message and then everything that queued up
        meanwhile; the others only queue theirs. So messages are handled strictly in
        order, and an idle shard handles a delivery without a further task switch.
        """
        inbox = self._inbox
        inbox.append(message)
        if self._draining:
            return
        self._draining = True
        try:
            while inbox and self._state in ("running", "closing"):
                current = inbox.popleft()
                try:
                    await self._handle(current)
                except Exception:
                    logger.exception("shard %s: handling an AMQP message failed", self._shard_id)
            await self._flush_acks()
        finally:
            self._draining = False

    async def _on_member_delivery(self, message: DeliveredMessage) -> None:
        """A membership message (auto-acknowledged): handled at once, never queued."""
        if self._state not in ("running", "closing") or self._membership is None:
            return
        kind = message.header.properties.message_type
        try:
            if kind != MEMBER_TYPE:
                raise Malformed(f"foreign message type {kind!r:.60}")
            payload = decode_member(message.body)
        except Malformed as exc:
            self._malformed(exc, message)
            return
        self._membership.receive(payload)

    def _malformed(self, exc: Malformed, message: DeliveredMessage) -> None:
        self.stats["malformed"] += 1
        self._log.warning(
            "shard %s dropped a malformed AMQP message (%s): %.100r",
            self._shard_id,
            exc,
            message.body,
        )

    async def _handle(self, message: DeliveredMessage) -> None:
        host = self._host
        membership = self._membership
        assert host is not None
        assert membership is not None
        if message.redelivered:  # at most once: a second delivery is never handed on
            self.stats["redelivered dropped"] += 1
            await self._ack(message)
            return
        kind = message.header.properties.message_type
        try:
            if kind == BATCH_TYPE:
                origin, incarnation, entries = decode_batch(message.body)
            elif kind == MEMBER_TYPE:
                payload = decode_member(message.body)
            else:
                raise Malformed(f"foreign message type {kind!r:.60}")
        except Malformed as exc:
            self._malformed(exc, message)
            await self._reject(message)
            return
        if kind == MEMBER_TYPE:
            membership.receive(payload)
            await self._ack(message)
            return
        membership.heard(origin, incarnation)
        self.stats["batches in"] += 1
        deliver = host.deliver
        for entry in entries:
            if type(entry) is list and len(entry) == 2:
                address, body = entry
                if type(address) is str and type(body) is dict:
                    try:
                        await deliver(address, body)
                    except Exception:  # a host bug must not stall the queue
                        logger.exception(
                            "shard %s: delivering to %s failed", self._shard_id, address
                        )
                    continue
            self.stats["malformed"] += 1
            self._dead("malformed entry", "?", entry)
        self.stats["messages in"] += len(entries)
        await self._ack(message)

    async def _ack(self, message: DeliveredMessage) -> None:
        """Acknowledge *message*, together with the ones before it (``multiple``)."""
        tag = message.delivery_tag
        if tag is None:
            return
        if message.channel is not self._ack_channel:
            await self._flush_acks()
            self._ack_channel = message.channel
        self._ack_tag = tag
        self._ack_count += 1
        if self._ack_count >= self._ack_every:
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        channel, tag, count = self._ack_channel, self._ack_tag, self._ack_count
        self._ack_count = 0
        if channel is None or not count:
            return
        try:
            await channel.basic_ack(tag, multiple=True, wait=False)
        except Exception as exc:  # the channel it came on is gone: nothing to settle
            logger.debug("acknowledging AMQP messages failed: %r", exc)

    async def _reject(self, message: DeliveredMessage) -> None:
        tag = message.delivery_tag
        if tag is None:
            return
        await self._flush_acks()
        try:
            await message.channel.basic_reject(tag, requeue=False, wait=False)
        except Exception as exc:
            logger.debug("rejecting an AMQP message failed: %r", exc)

    # --------------------------------------------------------------- heartbeats

    async def _ticker(self) -> None:
        membership = self.membership
        interval = self.settings.beat_interval
        next_beat = time.monotonic() + interval
        while True:
            await asyncio.sleep(self.settings.check_interval)
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + interval
                self._publish_member(None, membership.beat())
            membership.check()

"""One client connection: its handshake, its two actors, its frames in and out.

The connection handler task (owned by the websockets server) is the FrontActor's
consumer: it reads frames, rate-limits, decodes, validates and queues them for the
BackActor. Outbound frames are written at once while the socket keeps up; when the
transport pushes back, they wait in a bounded backlog drained by one writer task,
and a client that lets the backlog overflow is disconnected. Every task a session
creates (writer, closer) ends before the handler returns; both actors are stopped
before it returns, whoever ended first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from skick_core import Message
from skick_core._conversation import CONV_ACTION, CONV_KEY, FROM_KEY
from skick_core._validation import Validator
from skick_core.exceptions import RegistrationError, SpawnError

from ._actors import BackActor, FrontActor, _Frame, _Refusal
from ._protocol import QUERY_REPLY_ACTION, clip, decode, encode_bytes, error_frame

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._server import WebsocketServer

__all__ = ["Session"]

logger = logging.getLogger("skick.ws")

# websockets close codes used here (RFC 6455 §7.4.1).
NORMAL = 1000
POLICY = 1008
INTERNAL = 1011
TRY_LATER = 1013

_OPEN, _CLOSING, _ENDED = 0, 1, 2


class Session:
    """The state of one connection; :meth:`run` is its whole life."""

    __slots__ = (
        "_backlog",
        "_closer",
        "_high_water",
        "_max_pending",
        "_state",
        "_transport",
        "_writer",
        "back",
        "back_address",
        "front",
        "front_address",
        "gen",
        "server",
        "task",
        "ws",
    )

    def __init__(self, server: WebsocketServer, ws: ServerConnection, number: int) -> None:
        self.server = server
        self.ws = ws
        self.back_address = f"{server.shard.shard_id}:ws{number}"
        self.front_address = self.back_address + ".front"
        self.front: FrontActor | None = None
        self.back: BackActor | None = None
        self.gen = 0
        self.task: asyncio.Task[Any] | None = None
        self._max_pending = server.settings.max_pending_frames
        self._backlog: deque[bytes] | None = None
        self._transport = ws.transport
        # A frame header is at most 14 bytes: keep that much below the mark.
        self._high_water = ws.transport.get_write_buffer_limits()[1] - 14
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._state = _OPEN

    def __repr__(self) -> str:
        kind = self.back.type_name if self.back is not None else "-"
        return f"<Session {kind!r} at {self.back_address}>"

    # -------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Handshake, run the session until either side ends it, tear down."""
        self.task = asyncio.current_task()
        try:
            hello = await self._handshake()
            if hello is not None and await self._open(hello):
                await self._read()
        finally:
            await self._teardown()

    async def _handshake(self) -> Message | None:
        timeout = self.server.settings.handshake_timeout
        try:
            async with asyncio.timeout(timeout):
                raw = await self.ws.recv()
        except TimeoutError:
            await self._reject("handshake_timeout", f"no session_type within {timeout:g} s")
            return None
        except ConnectionClosed:
            return None
        if type(raw) is not str:
            await self._reject("bad_json", "binary frames are not supported")
            return None
        try:
            hello = decode(raw)
        except (ValueError, RecursionError):
            await self._reject("bad_json", "the handshake frame is not valid JSON")
            return None
        if type(hello) is not dict:
            await self._reject("not_an_object", "the handshake frame must be a JSON object")
            return None
        session_type = hello.get("session_type")
        if type(session_type) is not str:
            await self._reject("bad_handshake", 'the first frame must be {"session_type": name}')
            return None
        if session_type not in self.server.directory.sessions:
            await self._reject("unknown_session", f"no session type {clip(session_type)}")
            return None
        return hello

    async def _open(self, hello: Message) -> bool:
        server = self.server
        shard = server.shard
        session_type: str = hello["session_type"]
        factory = server.directory.sessions[session_type]
        front = FrontActor(shard, self.front_address, session_type, self)
        back = BackActor(shard, self.back_address, session_type, self)
        self.front, self.back = front, back
        try:
            factory(front, dict(hello))
            factory(back, hello)
        except Exception:
            logger.exception("the session function of %r raised", session_type)
            await self._reject("session_failed", "the session could not start", INTERNAL)
            return False
        for actor in (front, back):
            try:
                await shard.start_actor(actor)
            except SpawnError:
                task = actor._task
                if task is not None and task.done() and task.cancelled():
                    # It stopped itself in its on_start (a refused login, say): that
                    # is an ordinary end of the session, not a failure.
                    self.close(NORMAL, "session ended")
                    if self._closer is not None:
                        await self._closer
                    return False
                logger.exception("session %r could not start", session_type)
                await self._reject("session_failed", "the session could not start", INTERNAL)
                return False  # the teardown stops the FrontActor if it runs
            assert actor._task is not None
            actor._task.add_done_callback(self._actor_done)
        return True

    def _actor_done(self, task: asyncio.Task[None]) -> None:
        """Either actor ended: close the connection (the handler stops the other)."""
        if self._state != _OPEN:
            return
        if task.cancelled() or task.exception() is None:
            self.close(NORMAL, "session ended")
        else:
            self.close(INTERNAL, "session crashed")

    def close(self, code: int, reason: str, flush: bool = True) -> None:
        """Start closing the connection (idempotent); the handler then tears down.

        With *flush*, frames still waiting for a slow socket go out first (bounded).
        """
        if self._state != _OPEN:
            return
        self._state = _CLOSING
        self._closer = asyncio.get_running_loop().create_task(self._close(code, reason, flush))

    async def _close(self, code: int, reason: str, flush: bool) -> None:
        try:
            writer = self._writer
            if writer is not None:
                if flush:
                    await asyncio.wait((writer,), timeout=self.server.stop_timeout)
                writer.cancel()
            # websockets bounds the closing handshake, but not the wait for a full
            # write buffer to drain first: a client that does not read could hold
            # the close forever.
            try:
                async with asyncio.timeout(self.server.close_timeout):
                    await self.ws.close(code, reason)
            except TimeoutError:
                self.ws.transport.abort()
        except Exception:
            logger.exception("%r: closing the connection failed", self)

    async def _reject(self, code: str, detail: str, close_code: int = POLICY) -> None:
        """An error frame, then the connection closes (handshake failures)."""
        await self.push(error_frame(code, detail))
        self.close(close_code, code)
        if self._closer is not None:
            await self._closer

    async def _teardown(self) -> None:
        self._state = _ENDED
        try:
            # One after the other: cheaper than gathering (two tasks per connection),
            # and each stop is bounded by the runtime's stop_timeout.
            if self.back is not None:
                await self.back.stop()
            if self.front is not None:
                await self.front.stop()
        finally:
            writer, closer = self._writer, self._closer
            if writer is not None:
                writer.cancel()
            pending = [t for t in (writer, closer) if t is not None and not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=self.server.close_timeout + 1)
            self._backlog = None

    def abort(self) -> None:
        """Drop the connection now (a shutdown that outlived its bound)."""
        self._state = _ENDED
        self.ws.transport.abort()

    # ---------------------------------------------------------------- inbound

    async def _read(self) -> None:
        ws = self.ws
        recv = ws.recv
        front, back = self.front, self.back
        assert front is not None
        assert back is not None
        settings = self.server.settings
        rate, burst = settings.rate_limit, float(settings.rate_burst)
        clock = asyncio.get_running_loop().time
        tokens, stamp, limited = burst, clock(), False
        refuse = self._refuse_frame
        while True:
            try:
                raw = await recv()
            except ConnectionClosed:
                return
            if self._state != _OPEN:
                continue
            if rate is not None:
                now = clock()
                tokens += (now - stamp) * rate
                if tokens > burst:
                    tokens = burst
                stamp = now
                tokens -= 1.0
                if tokens < 0.0:
                    if tokens < -burst:
                        self.close(POLICY, "rate limit exceeded")
                    elif not limited:
                        limited = True
                        await refuse(error_frame("rate_limited", "too many frames; slow down"))
                    continue
                limited = False
            if type(raw) is not str:
                await refuse(error_frame("bad_json", "binary frames are not supported"))
                continue
            try:
                message = decode(raw)
            except (ValueError, RecursionError):
                await refuse(error_frame("bad_json", "the frame is not valid JSON"))
                continue
            if type(message) is not dict:
                await refuse(error_frame("not_an_object", "a frame must be a JSON object"))
                continue
            action = message.get("action")
            if type(action) is not str:
                await refuse(error_frame("bad_action", "'action' must be a string"))
                continue
            validate = front.sockets.get(action)
            if validate is None:
                if action == QUERY_REPLY_ACTION:
                    await self._reply(message)
                else:
                    detail = f"no action {clip(action)} in this session"
                    await refuse(error_frame("unknown_action", detail))
                continue
            if not validate(message) or CONV_KEY in message or FROM_KEY in message:
                detail = f"the frame does not match the schema of {clip(action)}"
                await refuse(error_frame("schema", detail))
                continue
            frame = _Frame(message, self.gen)
            queued = back._take(frame)
            if queued is None:
                queued = await back._take_waiting(frame)
                if not queued and not back._closed:
                    await refuse(error_frame("overloaded", "the session is busy; frame dropped"))

    async def _reply(self, message: Message) -> None:
        """A ``query_reply``: check its shape, find its query, check the answer."""
        front = self.front
        assert front is not None
        query_id = message.get("query_id")
        if len(message) != 3 or type(query_id) is not str or "message" not in message:
            detail = 'a query_reply is {"action": "query_reply", "query_id": id, "message": value}'
            await self._refuse_frame(error_frame("bad_query_reply", detail))
            return
        query = front._queries.get(query_id)
        if query is None:
            detail = f"no open query {clip(query_id)}"
            await self._refuse_frame(
                error_frame("unknown_query", detail, query_id=clip(query_id, 32))
            )
            return
        value = message["message"]
        if not query.validate(value):
            detail = f"the answer to {clip(query_id)} does not match its schema"
            await self._refuse_frame(error_frame("bad_query_reply", detail, query_id=query_id))
            return
        del front._queries[query_id]
        envelope = {"action": CONV_ACTION, "conv": query.conv, "kind": "next", "body": value}
        self.server.shard.post(query.back, envelope)

    async def _refuse_frame(self, frame: Message) -> None:
        """Send an error frame after the answers to the frames the client sent before.

        It queues behind them in the BackActor's mailbox; only when that is full (or
        the actor gone) does it go out at once.
        """
        back = self.back
        if back is None or back._take(_Refusal(frame)) is not True:
            await self.push(frame)

    def current_validator(self, action: str) -> Validator | None:
        """The schema check *action* has now (after a replace)."""
        return self.front.sockets.get(action) if self.front is not None else None

    async def refuse_stale(self, action: str, unknown: bool) -> None:
        """A frame accepted before a replace that the new behaviour does not take."""
        if unknown:
            frame = error_frame("unknown_action", f"no action {clip(action)} (the session changed)")
        else:
            frame = error_frame("schema", f"{clip(action)} changed its schema; frame refused")
        await self.push(frame)

    # --------------------------------------------------------------- outbound

    async def push(self, message: Any) -> bool:
        """Send one frame to the client; False when it can no longer be delivered.

        It never waits for the client: a frame that fits under the transport's
        high-water mark is written at once (``ws.send`` then returns without
        suspending); otherwise it joins the backlog that the writer task drains.
        """
        data = encode_bytes(message)
        if self._backlog is None and self._state == _OPEN:
            ws = self.ws
            if not ws.paused and (
                self._transport.get_write_buffer_size() + len(data) < self._high_water
            ):
                try:
                    await ws.send(data, text=True)
                except ConnectionClosed:
                    return False
                return True
        return self._enqueue(data)

    def _enqueue(self, data: bytes) -> bool:
        """The slow path of :meth:`push`: through the backlog and the writer task."""
        if self._state != _OPEN:
            return False
        backlog = self._backlog
        if backlog is None:
            self._backlog = deque((data,))
            self._writer = asyncio.get_running_loop().create_task(self._write())
            return True
        if len(backlog) >= self._max_pending:
            logger.warning("%r: the client does not read; disconnecting it", self)
            self.close(POLICY, "slow consumer: too many pending frames", flush=False)
            return False
        backlog.append(data)
        return True

    async def _write(self) -> None:
        backlog = self._backlog
        assert backlog is not None
        send = self.ws.send
        try:
            while backlog:
                await send(backlog[0], text=True)
                backlog.popleft()
        except ConnectionClosed:
            pass
        finally:
            if self._backlog is backlog:
                self._backlog = None
            self._writer = None

    # ---------------------------------------------------------------- replace

    async def replace(self, new_type: Any, message: Message | None) -> None:
        """Swap both actors' behaviour for the session or subsession *new_type*."""
        if not isinstance(new_type, str):
            raise TypeError("a session is replaced by a session or subsession name")
        directory = self.server.directory
        factory = directory.subsessions.get(new_type) or directory.sessions.get(new_type)
        if factory is None:
            raise RegistrationError(f"unknown session or subsession {new_type!r}")
        front, back = self.front, self.back
        assert front is not None
        assert back is not None
        message = {} if message is None else message
        await front._purge_behaviour()
        await back._purge_behaviour()
        # From here to the factories' end nothing awaits: the reader sees the old
        # schemas or the new ones, never a mix, and frames already queued carry the
        # old generation number, so the BackActor re-checks them.
        self.gen += 1
        front._reset_tables()
        front.type_name = back.type_name = new_type
        factory(front, dict(message))
        factory(back, message)
        front._revalidate_mailbox()
        back._revalidate_mailbox()
        await front._run_on_start()
        if front._running:
            front._start_daemons()
        await back._run_on_start()
        if back._running:
            back._start_daemons()

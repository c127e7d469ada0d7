"""TestClient: a websocket client a test drives, over memory or a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from websockets.exceptions import ConnectionClosed

from skick_core.testing import ANY, Inbox

if TYPE_CHECKING:
    from types import TracebackType

    from .._session import Session
    from ._kit import SessionKit

__all__ = ["Closed", "Query", "TestClient"]

QUERY = "query"
_UNSET: Any = object()


class _Connection(Protocol):
    """What a test client needs of a connection (memory or websockets)."""

    @property
    def close_code(self) -> int | None: ...
    @property
    def close_reason(self) -> str | None: ...
    async def recv(self) -> str | bytes: ...
    async def send(self, message: str | bytes) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Closed(NamedTuple):
    """How a connection closed: ``code`` and ``reason`` of the close frame."""

    code: int | None
    reason: str | None


class Query:
    """A ``SocketQuery`` the server asked: ``{"action": "query", …}``.

    ``await query.reply(value)`` answers it.
    """

    __slots__ = ("_client", "answer", "frame", "id", "message", "schema")

    def __init__(self, client: TestClient, frame: dict[str, Any]) -> None:
        self._client = client
        self.frame = frame
        self.id: str = frame.get("query_id", "")
        self.message: Any = frame.get("message")
        self.schema: str = frame.get("schema", "")
        self.answer: Any = _UNSET

    @property
    def answered(self) -> bool:
        """Whether a reply was sent (valid or not)."""
        return self.answer is not _UNSET

    def __repr__(self) -> str:
        return f"<Query {self.id} {self.message!r} schema={self.schema!r}>"

    async def reply(self, value: Any) -> None:
        """Send ``{"action": "query_reply", "query_id": id, "message": value}``."""
        await self._client.reply(self, value)


Answer = Callable[[Query], Any]


class TestClient:
    """A client of a Skick session, as a test drives it (``await kit.connect(…)``).

    Frames from the server are read continuously in the background and kept until
    an expectation consumes them. ``expect`` is a selective receive: it returns the
    oldest frame matching its pattern and leaves the others pending (``receive``
    takes the next frame, whatever it is). A failed expectation raises
    ``AssertionError`` listing the frames that did arrive, and how the connection
    closed if it did. Every wait is bounded by the kit's timeout.

    The same client runs over memory or over a real socket (``SessionKit(socket=…)``).
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, connection: _Connection, kit: SessionKit) -> None:
        self.connection = connection
        self.kit = kit
        self.timeout = kit.timeout
        self.within = kit.within
        self.queries: list[Query] = []
        """Every query the server asked, in order (answered automatically or not)."""
        self._inbox: Inbox[Any] = Inbox("frame")
        self._answer: Any = _UNSET
        self._closed: Closed | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    def __repr__(self) -> str:
        state = "open" if self._closed is None else f"closed {self._closed.code}"
        return f"<TestClient {state} pending={len(self._inbox.pending)}>"

    async def __aenter__(self) -> TestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --------------------------------------------------------------- reading

    async def _read(self) -> None:
        connection = self.connection
        try:
            while True:
                raw = await connection.recv()
                frame: Any = raw
                if isinstance(raw, str):
                    try:
                        frame = json.loads(raw)
                    except ValueError:
                        frame = raw
                if type(frame) is dict and frame.get("action") == QUERY:
                    query = Query(self, frame)
                    self.queries.append(query)
                    if self._answer is not _UNSET:
                        await self._answer_query(query)
                        continue
                self._inbox.put(frame)
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug of the connection: fail the test, loudly
            error = AssertionError(f"reading from the connection failed: {exc!r}")
            error.__cause__ = exc
            self._inbox.fail(error)
        finally:
            self._closed = Closed(connection.close_code, connection.close_reason)
            code, reason = self._closed
            self._inbox.end(f"the connection closed with {code} {reason!r}")

    async def _answer_query(self, query: Query) -> None:
        answer = self._answer
        try:
            value = answer(query) if callable(answer) else answer
            if inspect.isawaitable(value):
                value = await value
            await self.reply(query, value)
        except Exception as exc:
            if self.connection.close_code is not None:
                return  # the connection closed meanwhile: nobody waits for the answer
            error = AssertionError(f"answering a query raised {exc!r}")
            error.__cause__ = exc
            self._inbox.fail(error)

    def _check(self) -> None:
        self._inbox.check()

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (and every frame before the close read)."""
        return self._closed is not None

    @property
    def close_code(self) -> int | None:
        """The close code once closed (1006: dropped without a close frame)."""
        return self._closed.code if self._closed is not None else None

    @property
    def close_reason(self) -> str | None:
        """The close reason once closed."""
        return self._closed.reason if self._closed is not None else None

    @property
    def pending(self) -> list[Any]:
        """Frames received and not consumed yet, oldest first."""
        return list(self._inbox.pending)

    @property
    def received(self) -> list[Any]:
        """Every frame received (the last 200; auto-answered queries excepted)."""
        return list(self._inbox.history)

    @property
    def session(self) -> Session | None:
        """The server's :class:`~skick_ws.Session` of this connection (None once gone).

        ``client.session.back_address`` is the BackActor's address, to monitor it
        with a probe, say.
        """
        local = getattr(self.connection, "local_address", None)
        for session in self.kit.server.sessions:
            if getattr(session.ws, "remote_address", None) == local:
                return session
        return None

    # ---------------------------------------------------------------- sending

    async def send(self, frame: Any) -> None:
        """Send one frame: a ``str`` as is, ``bytes`` as a binary frame, else as JSON
        (compact, as a browser's ``JSON.stringify`` writes it)."""
        self._check()
        await self._write(frame)

    async def _write(self, frame: Any) -> None:
        if isinstance(frame, str | bytes):
            data: str | bytes = frame
        else:
            data = json.dumps(frame, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            await asyncio.wait_for(self.connection.send(data), self.timeout)
        except ConnectionClosed:
            code, reason = self.connection.close_code, self.connection.close_reason
            raise AssertionError(
                f"cannot send {_short(frame)}: the connection closed with {code} {reason!r}"
            ) from None
        except TimeoutError:
            raise AssertionError(
                f"cannot send {_short(frame)}: the server read nothing for {self.timeout:g} s"
            ) from None

    async def ask(self, frame: Any, pattern: Any = ANY, timeout: float | None = None) -> Any:
        """Send *frame*, then ``expect(pattern)``: the answer."""
        await self.send(frame)
        return await self.expect(pattern, timeout)

    # ----------------------------------------------------------- expectations

    async def receive(self, timeout: float | None = None) -> Any:
        """The next frame, whatever it is."""
        self._check()
        return await self._inbox.take(ANY, self._timeout(timeout))

    async def expect(self, pattern: Any = ANY, timeout: float | None = None) -> Any:
        """The oldest frame matching *pattern* (the others stay pending).

        ``await client.expect({"greeting": "Hello good sir"})``; a dict pattern
        matches frames having those keys with matching values.
        """
        self._check()
        frame = await self._inbox.take(pattern, self._timeout(timeout))
        self._check()
        return frame

    async def expect_error(
        self, code: str | None = None, timeout: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The oldest error frame (with that *code*, and *fields*); returns it."""
        self._check()
        pattern = {"action": "error", "code": str if code is None else code, **fields}
        limit = self._timeout(timeout)
        what = "expected an error frame" + ("" if code is None else f" with code {code!r}")
        frame: dict[str, Any] = await self._inbox.take(pattern, limit, what)
        return frame

    async def expect_query(
        self, message: Any = ANY, schema: str | None = None, timeout: float | None = None
    ) -> Query:
        """The oldest query frame asking *message* (with *schema*); reply with ``.reply``."""
        self._check()
        pattern = {
            "action": QUERY,
            "query_id": str,
            "message": message,
            "schema": ANY if schema is None else schema,
        }
        limit = self._timeout(timeout)
        what = "expected a query"
        if message is not ANY:
            what += f" asking {_short(message)}"
        if schema is not None:
            what += f" with schema {schema!r}"
        if self._answer is not _UNSET:
            what += " (queries are being answered automatically: see answer_queries)"
        frame = await self._inbox.take(pattern, limit, what)
        for query in self.queries:
            if query.frame is frame:
                return query
        return Query(self, frame)  # pragma: no cover - every query frame is recorded

    async def expect_nothing(self, pattern: Any = ANY, within: float | None = None) -> None:
        """Fail if a frame matching *pattern* is pending or arrives within *within* s."""
        self._check()
        await self._inbox.refute(pattern, self.within if within is None else within)
        self._check()

    async def expect_close(
        self, code: int | None = None, reason: str | None = None, timeout: float | None = None
    ) -> Closed:
        """Wait until the server closes the connection; check *code* and *reason*.

        Frames that arrive meanwhile stay pending. Returns ``Closed(code, reason)``.
        """
        self._check()
        limit = self._timeout(timeout)
        await asyncio.wait((self._reader,), timeout=limit)
        closed = self._closed
        wanted = (
            "" if code is None else f" with {code}" + ("" if reason is None else f" {reason!r}")
        )
        if closed is None:
            raise AssertionError(
                f"expected the connection to close{wanted} within {limit:g} s; it is open"
                + self._inbox.listing(ANY)
            )
        if (code is not None and closed.code != code) or (
            reason is not None and closed.reason != reason
        ):
            raise AssertionError(
                f"expected the connection to close{wanted}, but it closed with "
                f"{closed.code} {closed.reason!r}" + self._inbox.listing(ANY)
            )
        return closed

    # --------------------------------------------------------------- queries

    async def reply(self, query: Query | str, value: Any) -> None:
        """Answer a query (a :class:`Query` or a ``query_id``) with *value*."""
        if isinstance(query, str):
            query_id = query
            for known in self.queries:
                if known.id == query_id:
                    known.answer = value
        else:
            query_id = query.id
            query.answer = value
        await self._write({"action": "query_reply", "query_id": query_id, "message": value})

    def answer_queries(self, answer: Any) -> None:
        """Answer every query from now on (and those pending) automatically.

        *answer* is the value to send, or a function of the :class:`Query` that
        returns it (it may be a coroutine function). ``client.queries`` lists what
        was asked; :meth:`stop_answering` switches back to ``expect_query``.
        """
        self._answer = answer
        for frame in [f for f in self._inbox.pending if _is_query(f)]:
            self._inbox.pending.remove(frame)
            query = next((q for q in self.queries if q.frame is frame), None)
            if query is not None:
                self.kit._spawn(self._answer_query(query))

    def stop_answering(self) -> None:
        """Leave queries to :meth:`expect_query` again."""
        self._answer = _UNSET

    # ---------------------------------------------------------------- closing

    async def close(self, code: int = 1000, reason: str = "") -> Closed:
        """Close the connection (idempotent) and wait until it is closed."""
        if self._closed is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connection.close(code, reason), self.timeout)
        await asyncio.wait((self._reader,), timeout=self.timeout)
        if not self._reader.done():
            self._reader.cancel()
            await asyncio.wait((self._reader,))
        assert self._closed is not None
        return self._closed

    def _timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout


def _is_query(frame: Any) -> bool:
    return type(frame) is dict and frame.get("action") == QUERY


def _short(value: Any, limit: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

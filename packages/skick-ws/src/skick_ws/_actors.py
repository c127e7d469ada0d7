"""FrontActor and BackActor: one session function, two meanings, and SocketQuery.

A session function runs twice per connection, on a :class:`FrontActor` (the
receptionist: it records the ``socket`` schemas, asks the client ``SocketQuery``
questions and runs the ``front_*`` hooks) and on a :class:`BackActor` (the session's
logic: ``socket`` handlers become ordinary actions, ``on_start``/``daemon``/``action``
work as on any actor). Decorators that do not apply to one side return the function
unchanged and register nothing there.

Client frames reach the BackActor as :class:`_Frame` items in its mailbox, stamped
with the generation of the schemas they were validated against; a frame validated
before a ``replace`` is checked again against the new schemas before it is handled.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from skick_core import Actor, Call, Message
from skick_core._actor import _Event, _Handler
from skick_core._conversation import CONV_KEY, FROM_KEY
from skick_core._validation import Validator
from skick_core.exceptions import RegistrationError

from ._protocol import QUERY_ACTION, RESERVED_SOCKET_NAMES

if TYPE_CHECKING:
    from skick_core import ActorFactory, Shard

    from ._session import Session

__all__ = ["BackActor", "FrontActor", "SessionActor", "SocketQuery"]

logger = logging.getLogger("skick.ws")

F = TypeVar("F", bound=Callable[..., Any])

QUERY_OPEN = "skick.query"
"""Internal action: a BackActor's SocketQuery arriving at its FrontActor."""
SOCKSEND = "socksend"
"""The FrontActor's action that sends ``message`` to the client (any actor may use it)."""


def _ignore(fn: F) -> F:
    return fn


def _check_socket_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise RegistrationError("a socket name must be a non-empty string")
    if name in RESERVED_SOCKET_NAMES:
        raise RegistrationError(f"{name!r} is reserved by the session protocol")


class _Frame:
    """A validated client frame on its way to the BackActor."""

    __slots__ = ("gen", "message")

    def __init__(self, message: Message, gen: int) -> None:
        self.message = message
        self.gen = gen


class _Refusal:
    """An error frame for the client, queued behind the frames that came before it."""

    __slots__ = ("frame",)

    def __init__(self, frame: Message) -> None:
        self.frame = frame


class _Query:
    """An open SocketQuery: who asked, on which conversation, what answer fits."""

    __slots__ = ("back", "conv", "validate")

    def __init__(self, back: str, conv: str, validate: Validator) -> None:
        self.back = back
        self.conv = conv
        self.validate = validate


class SocketQuery(Call):
    """Ask the client a question from a socket handler's conversation.

    ``answer = yield SocketQuery({"question": "…"}, "bool")`` sends the client
    ``{"action": "query", "query_id": …, "message": {...}, "schema": "bool"}`` and
    resumes with the ``message`` of the client's valid ``query_reply``. *schema* names
    a predefined subschema (``default``, ``int``, ``float``, ``str``, ``bool``,
    ``list``), a server-wide one (``Skick(query_schemas=…)``) or one declared with
    ``inst.query_schema`` in the session function. *timeout* bounds the wait like any
    conversation turn (``ConversationTimeout`` is thrown into the generator).
    """

    __slots__ = ("query", "schema")

    def __init__(self, message: Any, schema: str = "default", timeout: float | None = None) -> None:
        super().__init__("", {"action": QUERY_OPEN, "message": message, "schema": schema}, timeout)
        self.query = message
        self.schema = schema

    def resolve(self, actor: Any) -> tuple[str, Message]:
        """The query goes to the asking BackActor's FrontActor."""
        if not isinstance(actor, BackActor):
            raise TypeError("SocketQuery can only be yielded by a session (a BackActor)")
        return actor.front_address, self.message

    def __repr__(self) -> str:
        return f"SocketQuery({self.query!r}, {self.schema!r})"


class SessionActor(Actor):
    """What a session function receives as ``inst``: a FrontActor or a BackActor.

    Both have every method below; each method does its side's part (see the
    guide's "Specifics" sections) and nothing on the other side. Annotate session
    functions with this type: ``def hello(inst: SessionActor, message): ...``.
    """

    __slots__ = ("_session",)

    def __init__(self, shard: Shard, address: str, type_name: str, session: Session) -> None:
        super().__init__(shard, address, type_name)
        self._session = session

    @property
    def front_address(self) -> str:
        """The address of the connection's FrontActor."""
        return self._session.front_address

    @property
    def back_address(self) -> str:
        """The address of the connection's BackActor."""
        return self._session.back_address

    def socket(self, name: str, schema: Any = None) -> Callable[[F], F]:
        """Accept client frames ``{"action": name, …}`` matching *schema*; the
        decorated function (on the BackActor) handles them.

        A dict schema without an ``"action"`` key gets ``"action": name`` added; dicts
        are closed (no missing or extra keys). ``None`` accepts any object with that
        action. The FrontActor checks the schema, the BackActor runs the function.
        """
        raise NotImplementedError

    def query_schema(self, name: str, schema: Any) -> None:
        """Declare a SocketQuery subschema for this session type (the FrontActor
        checks answers against it)."""

    @property
    def socksend(self) -> Callable[[Message], Awaitable[bool]]:
        """``await inst.socksend(message)``: send *message* to the client; False when
        the connection is gone.

        The FrontActor writes it to the connection; the BackActor hands it to the
        connection's outbound queue directly (both actors live on the same shard, so
        the FrontActor's mailbox would add nothing but a hop). Frames leave in the
        order of the calls. A message JSON cannot carry raises ``TypeError``.
        """
        return self._session.push

    def front_action(self, name: str, schema: Any = None) -> Callable[[F], F]:
        """An action of the FrontActor (ignored on the BackActor)."""
        return _ignore

    def front_daemon(self, name: str, dead_mans_hand: bool = False) -> Callable[[F], F]:
        """A daemon of the FrontActor (ignored on the BackActor)."""
        return _ignore

    @overload
    def front_on_start(self, fn: F) -> F: ...
    @overload
    def front_on_start(self, fn: None = None) -> Callable[[F], F]: ...
    def front_on_start(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Run *fn* when the FrontActor starts, before the BackActor's ``on_start``
        (ignored on the BackActor)."""
        return _ignore if fn is None else fn

    @overload
    def front_on_stop(self, fn: F) -> F: ...
    @overload
    def front_on_stop(self, fn: None = None) -> Callable[[F], F]: ...
    def front_on_stop(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Run *fn* when the FrontActor stops (ignored on the BackActor)."""
        return _ignore if fn is None else fn

    async def replace(self, new_type: str | ActorFactory, message: Message | None = None) -> None:
        """Become the session or subsession *new_type*, on both actors at once.

        The FrontActor's schemas and the BackActor's handlers change in one step:
        no frame is accepted under a schema the new behaviour does not have, and a
        frame queued under the old schemas is checked against the new ones first.
        As with any actor, ``on_stop`` does not run and the new ``on_start`` does.
        """
        await self._session.replace(new_type, message)


class FrontActor(SessionActor):
    """The receptionist of one connection. See the module docstring."""

    __slots__ = ("_next_query", "_queries", "_query_keys", "query_schemas", "sockets")

    def __init__(self, shard: Shard, address: str, type_name: str, session: Session) -> None:
        super().__init__(shard, address, type_name, session)
        self.sockets: dict[str, Validator] = {}
        self.query_schemas: dict[str, Validator] = {}
        self._queries: dict[str, _Query] = {}
        self._query_keys: dict[str, str] = {}
        self._next_query = 0

    # ----------------------------------------------- the session function's view

    def socket(self, name: str, schema: Any = None) -> Callable[[F], F]:
        _check_socket_name(name)
        if type(schema) is dict and "action" not in schema:
            schema = {"action": name, **schema}
        self.sockets[name] = self._session.server.compile(schema)
        return _ignore

    def query_schema(self, name: str, schema: Any) -> None:
        if not isinstance(name, str) or not name:
            raise RegistrationError("a query schema name must be a non-empty string")
        self.query_schemas[name] = self._session.server.compile(schema)

    def action(self, name: str, schema: Any = None) -> Callable[[F], F]:
        """Belongs to the BackActor: ignored here (see ``front_action``)."""
        return _ignore

    def daemon(self, name: str, dead_mans_hand: bool = False) -> Callable[[F], F]:
        """Belongs to the BackActor: ignored here (see ``front_daemon``)."""
        return _ignore

    @overload
    def on_start(self, fn: F) -> F: ...
    @overload
    def on_start(self, fn: None = None) -> Callable[[F], F]: ...
    def on_start(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Belongs to the BackActor: ignored here (see ``front_on_start``)."""
        return _ignore if fn is None else fn

    @overload
    def on_stop(self, fn: F) -> F: ...
    @overload
    def on_stop(self, fn: None = None) -> Callable[[F], F]: ...
    def on_stop(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Belongs to the BackActor: ignored here (see ``front_on_stop``)."""
        return _ignore if fn is None else fn

    def front_action(self, name: str, schema: Any = None) -> Callable[[F], F]:
        return Actor.action(self, name, schema)

    def front_daemon(self, name: str, dead_mans_hand: bool = False) -> Callable[[F], F]:
        return Actor.daemon(self, name, dead_mans_hand)

    @overload
    def front_on_start(self, fn: F) -> F: ...
    @overload
    def front_on_start(self, fn: None = None) -> Callable[[F], F]: ...
    def front_on_start(self, fn: F | None = None) -> F | Callable[[F], F]:
        return Actor.on_start(self, fn)

    @overload
    def front_on_stop(self, fn: F) -> F: ...
    @overload
    def front_on_stop(self, fn: None = None) -> Callable[[F], F]: ...
    def front_on_stop(self, fn: F | None = None) -> F | Callable[[F], F]:
        return Actor.on_stop(self, fn)

    # ------------------------------------------------------------- internals

    def _install_builtins(self) -> None:
        super()._install_builtins()
        # As the core installs its own built-ins: no decorator, no introspection
        # (this runs for every connection and every replace).
        self._handlers[QUERY_OPEN] = _Handler(self._on_query, None, False)
        self._handlers[SOCKSEND] = _Handler(self._on_socksend, None, False)

    def _reset_tables(self) -> None:
        """Forget the schemas and open queries of the behaviour being replaced."""
        self.sockets = {}
        self.query_schemas = {}
        self._queries.clear()

    async def _on_socksend(self, message: Message) -> None:
        body = message.get("message")
        if type(body) is dict:
            await self._session.push(body)
        else:
            self._shard.dead_letters.record("socksend needs a dict message", self.address, message)

    async def _on_query(self, message: Message) -> None:
        # This plain handler answers the call later, from the connection's reader,
        # once the client replies. Taking the envelope out of the message tells the
        # actor loop so: it otherwise fails a call to a handler that does not converse.
        key, back = message.pop(CONV_KEY, None), message.get(FROM_KEY)
        if type(key) is not str or type(back) is not str:
            self._shard.dead_letters.record("query outside a conversation", self.address, message)
            return
        name = message.get("schema")
        validate = None
        if type(name) is str:
            validate = self.query_schemas.get(name) or self._session.server.query_table.get(name)
        if validate is None:
            self._shard.fail_caller({**message, CONV_KEY: key}, f"unknown query schema {name!r}")
            return
        self._next_query += 1
        query_id = f"q{self._next_query}"
        frame = {
            "action": QUERY_ACTION,
            "query_id": query_id,
            "message": message.get("message"),
            "schema": name,
        }
        self._queries[query_id] = _Query(back, key, validate)
        self._query_keys[key + "!"] = query_id
        try:
            sent = await self._session.push(frame)
        except TypeError as exc:
            sent, reason = False, str(exc)
        else:
            reason = "the client is gone"
        if not sent:
            self._queries.pop(query_id, None)
            self._query_keys.pop(key + "!", None)
            self._shard.fail_caller({**message, CONV_KEY: key}, reason)

    async def _on_conv(self, message: Message) -> None:
        key = message.get("conv")
        query_id = self._query_keys.get(key) if type(key) is str else None
        if query_id is None:
            await super()._on_conv(message)
            return
        if message.get("kind") != "next":  # "end" or "fail": the asker moved on
            del self._query_keys[key]  # type: ignore[arg-type]
            self._queries.pop(query_id, None)
        else:
            logger.warning("%r: a conversation answered a SocketQuery; ignored", self)


class BackActor(SessionActor):
    """The logic of one connection. See the module docstring."""

    __slots__ = ()

    def socket(self, name: str, schema: Any = None) -> Callable[[F], F]:
        _check_socket_name(name)
        return Actor.action(self, name)

    # ------------------------------------------------------------- internals

    def _take(self, frame: _Frame | _Refusal) -> bool | None:
        """Queue a client frame: True, False (stopped) or None (mailbox full)."""
        if self._closed:
            return False
        if self._mailbox.offer(frame):
            return True
        return None

    async def _take_waiting(self, frame: _Frame) -> bool:
        return await self._mailbox.put(frame, self._shard.options.send_timeout)

    async def _on_event(self, event: Any) -> None:
        if type(event) is not _Frame:
            if type(event) is _Refusal:
                await self._session.push(event.frame)
            else:
                await super()._on_event(event)
            return
        message = event.message
        action = message["action"]
        handler = self._handlers.get(action)
        session = self._session
        if event.gen != session.gen:
            validate = session.current_validator(action)
            if handler is None or validate is None or not validate(message):
                await session.refuse_stale(action, validate is None or handler is None)
                return
        elif handler is None:
            await session.refuse_stale(action, True)
            return
        if handler.is_gen:  # a conversation starts, exactly as ``converse`` starts one
            await super()._on_event(_Event("converse", handler.fn(message)))
        else:
            await handler.fn(message)

"""The actor: a mailbox, a behaviour (handlers, daemons, hooks) and one main task.

Everything an actor does to its own state happens in its main task, one step at a
time: a message handler, a conversation step, a timeout. Conversations do not get
tasks of their own; a suspended generator is parked under its key until the
partner's next turn (or its timeout) arrives in the mailbox. Daemons are the only
other tasks, and the actor owns and cancels them.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from types import FunctionType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._conversation import (
    CONV_ACTION,
    CONV_KEY,
    FROM_KEY,
    RESERVED_KEYS,
    Call,
    Respond,
)
from ._mailbox import Mailbox
from ._validation import Validator, compile_schema
from .exceptions import ConversationEnded, ConversationError, ConversationTimeout

if TYPE_CHECKING:
    from ._shard import Shard

__all__ = ["Actor", "ActorFactory", "Message"]

logger = logging.getLogger("skick.actor")

Message = dict[str, Any]
ActorFactory = Callable[["Actor", Message], Any]
AsyncFn = Callable[[], Awaitable[Any]]
HandlerFn = Callable[[Message], Any]
F = TypeVar("F", bound=Callable[..., Any])

_VALIDATE_MONITOR = compile_schema({"action": "monitor", "address": str}, RESERVED_KEYS)


class _Handler:
    """One registered action: the function, whether it converses, its validator."""

    __slots__ = ("fn", "is_gen", "validate")

    def __init__(
        self, fn: HandlerFn, validate: Validator | None, is_gen: bool | None = None
    ) -> None:
        self.fn = fn
        self.is_gen = _is_async_gen(fn) if is_gen is None else is_gen
        self.validate = validate


def _require_async(fn: Any, what: str) -> None:
    """Fail at declaration time, not at the first message, for a plain ``def``."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{what} must be an 'async def' function, got {fn!r}")


def _is_async_gen(fn: Any) -> bool:
    """``inspect.isasyncgenfunction``, with a fast path for plain functions (spawn cost)."""
    code = getattr(fn, "__code__", None)
    if code is not None and type(fn) is FunctionType:
        return bool(code.co_flags & inspect.CO_ASYNC_GENERATOR)
    return inspect.isasyncgenfunction(fn)


class _Daemon:
    __slots__ = ("dead_mans_hand", "fn", "name")

    def __init__(self, name: str, fn: AsyncFn, dead_mans_hand: bool) -> None:
        self.name = name
        self.fn = fn
        self.dead_mans_hand = dead_mans_hand


class _Talk:
    """A running conversation generator and the leg it is currently on."""

    __slots__ = (
        "dead",
        "deadline",
        "gen",
        "key",
        "opening",
        "partner",
        "partner_key",
        "timeout",
        "turn",
    )

    def __init__(
        self, gen: AsyncGenerator[Any, Any], timeout: float, opening: Message | None = None
    ) -> None:
        self.gen = gen
        self.opening = opening  # a call this generator received and has not answered yet
        self.key: str | None = None
        self.partner: str | None = None
        self.partner_key: str | None = None
        self.timeout = timeout
        self.deadline: float | None = None  # loop time by which the partner must answer
        self.turn = 0
        self.dead = False


class _Event:
    """A system event for the main task; never a user message."""

    __slots__ = ("kind", "payload", "turn")

    def __init__(self, kind: str, payload: Any, turn: int = 0) -> None:
        self.kind = kind
        self.payload = payload
        self.turn = turn


class Actor:
    """What an actor factory receives as ``inst``: decorators, helpers and the mailbox.

    The factory runs synchronously; it keeps state in closures and registers
    handlers with the decorators below. Everything that talks to other actors is
    asynchronous.

    Subclassing (for sibling plugins such as skick-ws, released in lockstep): these
    underscore members are the protected surface and change only with a note in the
    changelog — ``_mailbox``, ``_handlers``, ``_task``, ``_closed``, ``_running``,
    ``_install_builtins``, ``_purge_behaviour``, ``_revalidate_mailbox``,
    ``_run_on_start``, ``_start_daemons``, ``_on_event``, ``_on_conv``, ``_offer``,
    ``_deliver`` and ``_wait_for_room``, with the helper types ``_Handler`` and ``_Event``.
    """

    __slots__ = (
        "__weakref__",
        "_closed",
        "_daemon_tasks",
        "_daemons",
        "_default_sentinel",
        "_handlers",
        "_mailbox",
        "_on_start",
        "_on_stop",
        "_prototypes",
        "_running",
        "_sentinel_handlers",
        "_shard",
        "_stop_requested",
        "_talk_ids",
        "_talks",
        "_task",
        "_watchdog",
        "address",
        "monitors",
        "type_name",
    )

    def __init__(self, shard: Shard, address: str, type_name: str) -> None:
        self.address = address
        self.type_name = type_name
        self._shard = shard
        self._mailbox = Mailbox(shard.options.mailbox_size)
        self._handlers: dict[str, _Handler] = {}
        self._prototypes: dict[str, Callable[[Message], AsyncGenerator[Any, Any]]] = {}
        self._on_start: list[AsyncFn] = []
        self._on_stop: list[AsyncFn] = []
        self._daemons: list[_Daemon] = []
        self._daemon_tasks: set[asyncio.Task[None]] = set()
        self._sentinel_handlers: dict[str, Callable[[Message], Awaitable[Any]]] = {}
        self._default_sentinel: Callable[[Message], Awaitable[Any]] | None = None
        self._talks: dict[str, _Talk] = {}
        self._talk_ids = itertools.count(1)
        self._watchdog: asyncio.TimerHandle | None = None
        self.monitors: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._closed = False
        self._stop_requested = False
        self._install_builtins()

    @property
    def name(self) -> str:
        """Alias of :attr:`address`."""
        return self.address

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name!r} at {self.address}>"

    # ------------------------------------------------------------------ decorators

    def action(self, name: str, schema: Any = None) -> Callable[[F], F]:
        """Register the handler of messages whose ``"action"`` is *name*.

        *schema* (a ``schema``-library schema, usually a dict) is checked against the
        user's fields before the message is queued; non-conforming messages become
        dead letters. An async-generator handler takes part in conversations.
        """
        validate = compile_schema(schema, RESERVED_KEYS) if schema is not None else None

        def register(fn: F) -> F:
            handler = _Handler(fn, validate)
            if not handler.is_gen:
                _require_async(fn, f"action {name!r}")
            self._handlers[name] = handler
            return fn

        return register

    @overload
    def on_start(self, fn: F) -> F: ...
    @overload
    def on_start(self, fn: None = None) -> Callable[[F], F]: ...
    def on_start(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Run *fn* before the actor takes its first message (``@inst.on_start``)."""
        return self._hook(self._on_start, fn)

    @overload
    def on_stop(self, fn: F) -> F: ...
    @overload
    def on_stop(self, fn: None = None) -> Callable[[F], F]: ...
    def on_stop(self, fn: F | None = None) -> F | Callable[[F], F]:
        """Run *fn* when the actor stops, whatever the reason (bounded in time)."""
        return self._hook(self._on_stop, fn)

    def daemon(self, name: str, dead_mans_hand: bool = False) -> Callable[[F], F]:
        """Run the decorated coroutine function in its own task once the actor starts.

        With *dead_mans_hand*, the actor ends (a ``cancellation`` sentinel) as soon as
        the daemon returns or raises; otherwise a raising daemon is only logged.
        """

        def register(fn: F) -> F:
            _require_async(fn, f"daemon {name!r}")
            self._daemons.append(_Daemon(name, fn, dead_mans_hand))
            return fn

        return register

    def conversation(self, name: str) -> Callable[[F], F]:
        """Register an async-generator function to start later with :meth:`converse`."""

        def register(fn: F) -> F:
            if not inspect.isasyncgenfunction(fn):
                raise TypeError(f"conversation {name!r} must be an async generator function")
            self._prototypes[name] = fn
            return fn

        return register

    def sentinel_handler(self, address: str, fn: Callable[[Message], Awaitable[Any]]) -> None:
        """Handle the sentinel of the actor at *address* with *fn*."""
        self._sentinel_handlers[address] = fn

    def default_sentinel(self, fn: F) -> F:
        """Handle sentinels for which no :meth:`sentinel_handler` was registered."""
        self._default_sentinel = fn
        return fn

    # ------------------------------------------------------------------- helpers

    async def send(self, address: str, message: Message) -> bool:
        """Send *message* to *address*; False when it became a dead letter."""
        return await self._shard.send(address, message)

    async def spawn(
        self,
        actor_type: str,
        message: Message | None = None,
        add_monitors: Iterable[str] | bool | None = None,
    ) -> str:
        """Start an actor of *actor_type* and return its address once it runs.

        By default this actor monitors the new one; ``add_monitors=False`` leaves only
        the shard, a list names the monitors explicitly.
        """
        if add_monitors is None or add_monitors is True:
            monitors: list[str] = [self.address]
        elif add_monitors is False:
            monitors = []
        else:
            monitors = list(add_monitors)
        return await self._shard.spawn(actor_type, message, monitors=monitors)

    async def monitor(self, address: str) -> bool:
        """Ask the actor at *address* to send this actor its sentinel."""
        return await self.send(address, {"action": "monitor", "address": self.address})

    def register_service(self, name: str) -> None:
        """Announce that this actor provides the service *name*."""
        self._shard.services.register(name, self.address)

    def unregister_service(self) -> None:
        """Withdraw this actor from every service it provides."""
        self._shard.services.unregister(self.address)

    def get_service(self, name: str, local: str = "mixed") -> str | None:
        """A random provider of *name* (``"local"``, ``"mixed"`` or ``"remote"``)."""
        return self._shard.services.pick(name, local)

    async def converse(
        self,
        message: Message,
        prototype: str | Callable[[Message], AsyncGenerator[Any, Any]],
    ) -> None:
        """Start a conversation generator (a registered name or a function) with *message*.

        It returns at once; the generator runs in this actor's main task, turn by turn.
        """
        if isinstance(prototype, str):
            try:
                fn = self._prototypes[prototype]
            except KeyError:
                raise KeyError(f"{self!r} has no conversation {prototype!r}") from None
        else:
            fn = prototype
        self._mailbox.force(_Event("converse", fn(message)))

    async def replace(self, new_type: str | ActorFactory, message: Message | None = None) -> None:
        """Swap this actor's whole behaviour for another type's, keeping the address.

        Handlers, daemons, hooks, open conversations and services are dropped (without
        running ``on_stop``); the new type's factory and ``on_start`` run at once.
        """
        type_name, factory = self._shard.resolve_factory(new_type)
        await self._purge_behaviour()
        self.type_name = type_name
        factory(self, message if message is not None else {})
        self._revalidate_mailbox()
        await self._run_on_start()
        if self._running:
            self._start_daemons()

    async def stop(self) -> None:
        """Stop the actor (idempotent): ``on_stop`` runs and monitors get a sentinel.

        Called by the actor itself, the stop takes effect when the current handler
        returns or next awaits; called from elsewhere, it waits until the actor ended.
        """
        task = self._task
        if task is None or task.done():
            return
        self._stop_requested = True
        task.cancel()
        if asyncio.current_task() is not task:
            await asyncio.wait((task,), timeout=self._shard.options.stop_timeout * 2)

    # ---------------------------------------------------------------- delivery

    def _offer(self, message: Any) -> bool | None:
        """Validate and queue *message*: True, False (dead letter) or None (full)."""
        if self._closed:
            return self._dead("actor stopped", message)
        if type(message) is not dict:
            return self._dead("not a dict", message)
        action = message.get("action")
        handler = self._handlers.get(action) if type(action) is str else None
        if handler is None:
            reason = "unknown action" if type(action) is str else "no action"
            return self._dead(reason, message)
        validate = handler.validate
        if validate is not None and not validate(message):
            return self._dead("schema mismatch", message)
        if self._mailbox.offer(message):
            return True
        return None

    async def _deliver(self, message: Message) -> bool:
        """Queue *message*, waiting a bounded time for room in a full mailbox."""
        queued = self._offer(message)
        if queued is not None:
            return queued
        return await self._wait_for_room(message)

    async def _wait_for_room(self, message: Message) -> bool:
        """Queue an already validated *message* once the full mailbox has room."""
        if await self._mailbox.put(message, self._shard.options.send_timeout):
            return True
        return self._dead("mailbox full", message)

    def _dead(self, reason: str, message: Any) -> bool:
        return self._shard.dead_letters.record(reason, self.address, message)

    def _dead_queued(self, reason: str, message: Any) -> None:
        """A message already accepted cannot be handled: count it, free its caller."""
        self._dead(reason, message)
        if isinstance(message, dict) and CONV_KEY in message:
            self._shard.fail_caller(message, reason)

    def _post(self, event: _Event) -> None:
        self._mailbox.force(event)

    # ------------------------------------------------------------------ lifecycle

    def _start(self, started: asyncio.Future[None]) -> asyncio.Task[None]:
        self._task = asyncio.get_running_loop().create_task(
            self._main(started), name=f"skick-actor-{self.address}"
        )
        return self._task

    async def _main(self, started: asyncio.Future[None]) -> None:
        try:
            await self._run_on_start()
        except BaseException as exc:
            self._closed = True
            if not started.done():
                if isinstance(exc, asyncio.CancelledError):
                    started.cancel()
                else:
                    started.set_exception(exc)
            await self._release(run_on_stop=False)
            raise
        self._running = True
        started.set_result(None)
        try:
            self._start_daemons()
            await self._loop()
        finally:
            self._running = False
            await self._release(run_on_stop=True)

    async def _loop(self) -> None:
        mailbox = self._mailbox
        items = mailbox.items
        pop = mailbox.pop
        handlers = self._handlers
        while True:
            if not items:
                await mailbox.wait()
            message = pop()
            if type(message) is dict:
                action = message["action"]
                handler = handlers.get(action)
                if handler is None:  # the behaviour changed since it was queued
                    self._dead_queued("unknown action", message)
                elif handler.is_gen:
                    opening = message if CONV_KEY in message else None
                    timeout = self._shard.options.conversation_timeout
                    talk = _Talk(handler.fn(message), timeout, opening)
                    await self._drive(talk, None, None)
                else:
                    await handler.fn(message)
                    if CONV_KEY in message:  # a call to an action that does not converse
                        self._shard.fail_caller(message, f"{action!r} does not converse")
            else:
                await self._on_event(message)
            if self._stop_requested:
                # A stop() from inside this task left its cancellation pending: take it
                # here, or it would cancel the first await of on_stop and the teardown.
                await asyncio.sleep(0)
                raise asyncio.CancelledError

    async def _run_on_start(self) -> None:
        for fn in list(self._on_start):
            await fn()

    def _start_daemons(self) -> None:
        loop = asyncio.get_running_loop()
        for spec in self._daemons:
            task = loop.create_task(self._run_daemon(spec), name=f"{self.address}:{spec.name}")
            self._daemon_tasks.add(task)
            task.add_done_callback(self._daemon_tasks.discard)

    async def _run_daemon(self, spec: _Daemon) -> None:
        try:
            await spec.fn()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("daemon %r of %r raised", spec.name, self)
        if spec.dead_mans_hand and self._task is not None:
            self._stop_requested = True
            self._task.cancel()

    async def _cancel_daemons(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._daemon_tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._shard.options.stop_timeout)
        self._daemon_tasks.clear()

    async def _purge_behaviour(self) -> None:
        await self._cancel_daemons()
        await self._end_talks("replaced")
        self._handlers.clear()
        self._prototypes.clear()
        self._on_start.clear()
        self._on_stop.clear()
        self._daemons.clear()
        self._sentinel_handlers.clear()
        self._default_sentinel = None
        self._shard.services.unregister(self.address)
        self._install_builtins()

    def _revalidate_mailbox(self) -> None:
        for item in self._mailbox.drain():
            if type(item) is not dict:
                self._mailbox.force(item)
                continue
            queued = self._offer(item)
            if queued is None:
                self._mailbox.force(item)
            elif not queued and CONV_KEY in item:
                self._shard.fail_caller(item, "behaviour replaced")

    async def _release(self, run_on_stop: bool) -> None:
        """Tear down: stop hooks, daemons, conversations and the mailbox."""
        self._closed = True
        if run_on_stop:
            for fn in list(self._on_stop):
                try:
                    async with asyncio.timeout(self._shard.options.stop_timeout):
                        await fn()
                except Exception:
                    logger.exception("on_stop of %r failed", self)
        await self._cancel_daemons()
        await self._end_talks("partner stopped")
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for item in self._mailbox.drain():
            if type(item) is dict and item.get("action") != CONV_ACTION:
                self._dead_queued("actor stopped", item)

    # --------------------------------------------------------------- built-ins

    def _install_builtins(self) -> None:
        handlers = self._handlers
        handlers["monitor"] = _Handler(self._on_monitor, _VALIDATE_MONITOR, False)
        handlers["sentinel"] = _Handler(self._on_sentinel, None, False)
        handlers[CONV_ACTION] = _Handler(self._on_conv, None, False)

    async def _on_monitor(self, message: Message) -> None:
        if message["address"] not in self.monitors:
            self.monitors.append(message["address"])

    async def _on_sentinel(self, message: Message) -> None:
        handler = self._sentinel_handlers.get(message.get("address", ""), self._default_sentinel)
        if handler is not None:
            await handler(message)
        else:
            logger.debug("%r ignored sentinel %r", self, message)

    # ------------------------------------------------------------ conversations

    def _hook(self, hooks: list[AsyncFn], fn: F | None) -> F | Callable[[F], F]:
        def register(f: F) -> F:
            _require_async(f, "a start or stop hook")
            hooks.append(f)
            return f

        return register if fn is None else register(fn)

    async def _on_conv(self, message: Message) -> None:
        key = message.get("conv")
        talk = self._talks.pop(key, None) if type(key) is str else None
        if talk is None:
            self._shard.dead_letters.record("stale conversation", self.address, message)
            return
        kind = message.get("kind")
        talk.deadline = None
        if kind == "next":
            await self._drive(talk, message.get("body"), None)
            return
        self._forget(talk)
        if kind == "fail":
            reason = str(message.get("reason", "partner failed"))
            await self._drive(talk, None, ConversationEnded(reason))
        else:
            await talk.gen.aclose()

    async def _on_event(self, event: _Event) -> None:
        if event.kind == "converse":
            talk = _Talk(event.payload, self._shard.options.conversation_timeout)
            await self._drive(talk, None, None)
        elif event.kind == "timeout":
            talk = event.payload
            if talk.turn == event.turn and self._waiting(talk):
                self._send_conv(talk, "fail", reason="timed out")
                self._forget(talk)
                error = ConversationTimeout(f"no answer within {talk.timeout} s")
                await self._drive(talk, None, error)
        elif event.kind == "lost":
            lost: _Talk = event.payload[0]
            if self._waiting(lost):
                self._forget(lost)
                await self._drive(lost, None, ConversationEnded(event.payload[1]))

    async def _drive(self, talk: _Talk, value: Any, error: BaseException | None) -> None:
        """Run the generator until it waits for the partner or finishes."""
        gen = talk.gen
        while True:
            try:
                out = await (gen.asend(value) if error is None else gen.athrow(error))
            except StopAsyncIteration:
                self._finish(talk, "end")
                return
            except ConversationError as exc:
                logger.warning("conversation in %r ended: %s", self, exc)
                self._finish(talk, "end")
                return
            except BaseException:
                self._finish(talk, "fail", "partner raised")
                raise
            value, error = None, None
            if talk.dead:
                self._finish(talk, "end")
                await gen.aclose()
                return
            if type(out) is dict:
                if talk.partner is None:
                    error = ConversationEnded("no conversation partner to answer")
                elif self._send_conv(talk, "next", body=out):
                    self._arm(talk)
                    return
                else:
                    error = ConversationEnded(f"partner {talk.partner} is gone")
            elif isinstance(out, Call):
                error = await self._open_leg(talk, out)
                if error is None:
                    return
            elif isinstance(out, Respond):
                error = self._bind(talk, out.message)
            elif out is None:
                self._finish(talk, "end")
                await gen.aclose()
                return
            else:
                error = TypeError(f"a conversation cannot yield {type(out).__name__}")

    async def _open_leg(self, talk: _Talk, call: Call) -> BaseException | None:
        if talk.key is not None:
            self._send_conv(talk, "end")
            self._forget(talk)
        address, message = call.resolve(self)
        if call.timeout is not None:
            talk.timeout = call.timeout
        key = f"{self.address}/{next(self._talk_ids)}"
        talk.key, talk.partner, talk.partner_key = key, address, key + "!"
        self._talks[key] = talk
        opening = {**message, CONV_KEY: key, FROM_KEY: self.address}
        if await self._shard.send(address, opening):
            self._arm(talk)
            return None
        self._forget(talk)
        return ConversationEnded(f"could not reach {address}")

    def _bind(self, talk: _Talk, message: Message) -> BaseException | None:
        caller_key, caller = message.get(CONV_KEY), message.get(FROM_KEY)
        if type(caller_key) is not str or type(caller) is not str:
            return ConversationEnded("Respond() needs a message that opened a conversation")
        if talk.key is not None:
            self._send_conv(talk, "end")
            self._forget(talk)
        if talk.opening is not None and talk.opening.get(CONV_KEY) == caller_key:
            talk.opening = None
        talk.key, talk.partner, talk.partner_key = caller_key + "!", caller, caller_key
        self._talks[talk.key] = talk
        return None

    def _arm(self, talk: _Talk) -> None:
        """Wait for the partner's turn, until the talk's deadline."""
        loop = asyncio.get_running_loop()
        talk.turn += 1
        talk.deadline = deadline = loop.time() + talk.timeout
        if talk.key is not None:
            self._talks[talk.key] = talk
        # One watchdog timer per actor, set for the earliest deadline: with a common
        # timeout, later deadlines never move it, so most turns cost no timer at all.
        watchdog = self._watchdog
        if watchdog is None or watchdog.when() > deadline:
            if watchdog is not None:
                watchdog.cancel()
            self._watchdog = loop.call_at(deadline, self._expire)

    def _finish(self, talk: _Talk, kind: str, reason: str | None = None) -> None:
        """The generator is done: tell the partner and any caller still unanswered."""
        if reason is None:
            self._send_conv(talk, kind)
        else:
            self._send_conv(talk, kind, reason=reason)
        self._forget(talk)
        if talk.opening is not None:
            opening, talk.opening = talk.opening, None
            self._shard.fail_caller(opening, reason or "the responder ended without answering")

    def _waiting(self, talk: _Talk) -> bool:
        """Whether *talk* is parked, waiting for its partner's turn."""
        return talk.key is not None and self._talks.get(talk.key) is talk

    def _expire(self) -> None:
        """Post a timeout for every talk past its deadline; re-arm for the next one."""
        self._watchdog = None
        loop = asyncio.get_running_loop()
        now, earliest = loop.time(), None
        for talk in self._talks.values():
            deadline = talk.deadline
            if deadline is None:
                continue
            if deadline <= now:
                talk.deadline = None
                self._post(_Event("timeout", talk, talk.turn))
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None and not self._closed:
            self._watchdog = loop.call_at(earliest, self._expire)

    def _forget(self, talk: _Talk) -> None:
        talk.deadline = None
        if talk.key is not None:
            if self._talks.get(talk.key) is talk:
                del self._talks[talk.key]
            talk.key = talk.partner = talk.partner_key = None

    def _send_conv(self, talk: _Talk, kind: str, **fields: Any) -> bool:
        """Send a conversation envelope to the partner (False without one)."""
        if talk.partner is None or talk.partner_key is None:
            return False
        envelope = {"action": CONV_ACTION, "conv": talk.partner_key, "kind": kind, **fields}
        return self._shard.post(talk.partner, envelope)

    async def _end_talks(self, reason: str) -> None:
        """Tell every partner the conversation is over and close the generators."""
        talks, self._talks = self._talks, {}
        for talk in set(talks.values()):
            self._finish(talk, "fail", reason)
            talk.dead = True
            if not getattr(talk.gen, "ag_running", False):
                await _close_quietly(talk.gen)

    def _lose_partners(self, shard_id: str) -> None:
        """End conversations with actors on a shard that was lost."""
        prefix = shard_id + ":"
        for talk in list(self._talks.values()):
            if talk.partner is not None and talk.partner.startswith(prefix):
                self._post(_Event("lost", (talk, f"shard {shard_id} was lost")))

    async def _ask(self, address: str, message: Message, timeout: float) -> Any:
        """One request, one reply, awaited from outside the actor (used by the shard)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def exchange(_: Message) -> AsyncGenerator[Any, Any]:
            try:
                reply = yield Call(address, message, timeout=timeout)
            except ConversationError as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(reply)
            finally:
                if not future.done():  # closed: the partner ended without answering
                    future.set_exception(ConversationEnded(f"{address} did not answer"))

        self._post(_Event("converse", exchange({})))
        return await future


async def _close_quietly(gen: AsyncGenerator[Any, Any]) -> None:
    try:
        await gen.aclose()
    except Exception:
        logger.exception("closing a conversation generator failed")

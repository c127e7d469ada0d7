"""The probe: an actor the test drives, and conversations held from a test.

A :class:`Probe` is a real actor on the kit's shard. It accepts every message,
whatever its action, and keeps it for the test's expectations; it receives the
sentinels of the actors it monitors; it can answer the calls it receives
(``reply``) and hold conversations itself (:class:`Talk`). Conversations use the
same envelopes as any actor's, so the actors under test cannot tell a probe from
the real partner it stands in for.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._actor import Actor, Message, _Handler
from .._conversation import CONV_ACTION, CONV_KEY, FROM_KEY
from ..exceptions import ConversationEnded, ConversationTimeout, SkickError
from ._inbox import Inbox
from ._match import ANY

if TYPE_CHECKING:
    from types import TracebackType

    from .._shard import Shard

__all__ = ["Probe", "Talk"]

SENTINEL_TYPES = ("done", "cancellation", "exception")


class _CatchAll(dict[str, _Handler]):
    """Handler table whose lookups fall back to one handler for every action."""

    fallback: _Handler

    def get(self, key: Any, default: Any = None) -> Any:
        found = dict.get(self, key)
        return found if found is not None else self.fallback


class _ProbeActor(Actor):
    __slots__ = ("probe",)

    def __init__(self, shard: Shard, address: str, probe: Probe) -> None:
        super().__init__(shard, address, "skick.probe")
        self.probe = probe
        handlers = _CatchAll(self._handlers)
        handlers.fallback = _Handler(self._on_any, None, False)
        self._handlers = handlers
        self._default_sentinel = self._on_sentinel_message

    async def _on_any(self, message: Message) -> None:
        item = dict(message)
        # A call: take the envelope out, so that the actor loop does not fail the
        # caller at once (a plain handler does not converse); the test answers it
        # later with ``probe.reply(item, answer)``.
        key = message.pop(CONV_KEY, None)
        if type(key) is not str:
            item.pop(CONV_KEY, None)
        self.probe._inbox.put(item)

    async def _on_sentinel_message(self, message: Message) -> None:
        self.probe._inbox.put(dict(message))

    async def _on_conv(self, message: Message) -> None:
        key = message.get("conv")
        probe = self.probe
        talk = probe._talks.get(key) if type(key) is str else None
        if talk is not None:
            talk._arrive(message)
            return
        answering = probe._answering.get(key) if type(key) is str else None
        if answering is None:
            await super()._on_conv(message)
            return
        body = message.get("body")
        if message.get("kind") == "next" and type(body) is dict:
            caller_key, caller = answering
            probe._inbox.put({**body, CONV_KEY: caller_key, FROM_KEY: caller})
        else:  # the caller ended the conversation (or failed)
            del probe._answering[key]  # type: ignore[arg-type]


class Probe:
    """A test actor: send, receive, expect, monitor, answer calls, hold conversations.

    Create one with ``probe = await kit.probe()``. Everything sent to
    ``probe.address`` is kept until an expectation consumes it; ``expect`` is a
    selective receive (the oldest matching message; the others stay pending). Every
    wait is bounded by the kit's timeout unless given one; a failed expectation
    raises ``AssertionError`` listing what did arrive.
    """

    def __init__(self, shard: Shard, address: str, timeout: float, within: float) -> None:
        self.shard = shard
        self.address = address
        self.timeout = timeout
        self.within = within
        self._inbox: Inbox[Message] = Inbox("message")
        self._talks: dict[str, Talk] = {}
        self._answering: dict[str, tuple[str, str]] = {}
        self._keys = itertools.count(1)
        self._actor = _ProbeActor(shard, address, self)

    @classmethod
    async def start(
        cls, shard: Shard, name: str = "probe", timeout: float = 2.0, within: float = 0.1
    ) -> Probe:
        """Start a probe actor on *shard* (``kit.probe()`` does this for you)."""
        probe = cls(shard, f"{shard.shard_id}:{name}-{next(shard._ids)}", timeout, within)
        await shard.start_actor(probe._actor)
        task = probe._actor._task
        assert task is not None
        task.add_done_callback(lambda _: probe._inbox.end("the probe stopped"))
        return probe

    def __repr__(self) -> str:
        return f"<Probe {self.address} pending={len(self._inbox.pending)}>"

    # ------------------------------------------------------------------ inbox

    @property
    def pending(self) -> list[Message]:
        """Messages received and not consumed by an expectation yet, oldest first."""
        return list(self._inbox.pending)

    @property
    def received(self) -> list[Message]:
        """Every message received (the last 200), consumed or not, oldest first."""
        return list(self._inbox.history)

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message, whatever it is."""
        return await self._inbox.take(ANY, self._timeout(timeout))

    async def expect(self, pattern: Any = ANY, timeout: float | None = None) -> Message:
        """The oldest message matching *pattern* (see :mod:`skick_core.testing`).

        A dict pattern matches a message having those keys with matching values:
        ``await probe.expect({"action": "report", "tally": 3})``.
        """
        return await self._inbox.take(pattern, self._timeout(timeout))

    async def expect_nothing(self, pattern: Any = ANY, within: float | None = None) -> None:
        """Fail if a message matching *pattern* is pending or arrives within *within* s."""
        await self._inbox.refute(pattern, self.within if within is None else within)

    # ---------------------------------------------------------------- sending

    async def send(self, address: str, message: Message) -> bool:
        """Send *message* from this probe; False when it became a dead letter."""
        return await self.shard.send(address, message)

    async def monitor(self, address: str) -> None:
        """Receive the sentinel of the actor at *address* when it stops."""
        request = {"action": "monitor", "address": self.address}
        if not await self.shard.send(address, request):
            raise AssertionError(
                f"cannot monitor {address}: the monitor request became a dead letter "
                "(no such actor, or it has already stopped)"
            )

    async def expect_sentinel(
        self,
        address: Any = ANY,
        type: str | None = None,
        exception: str | type[BaseException] | None = None,
        timeout: float | None = None,
    ) -> Message:
        """The sentinel of *address* (of any monitored actor by default).

        *type* is ``"done"``, ``"cancellation"`` or ``"exception"``; *exception* the
        exception's class or class name (it implies ``type="exception"``).
        """
        pattern: dict[str, Any] = {"action": "sentinel", "address": address}
        what = "expected the sentinel of " + (
            "a monitored actor" if address is ANY else str(address)
        )
        if exception is not None:
            name = exception if isinstance(exception, str) else exception.__name__
            pattern["exception"] = name
            type = type or "exception"
            what += f" (exception {name})"
        if type is not None:
            if type not in SENTINEL_TYPES:
                raise ValueError(f"a sentinel type is one of {SENTINEL_TYPES}, not {type!r}")
            pattern["type"] = type
            what += f" of type {type!r}"
        return await self._inbox.take(pattern, self._timeout(timeout), what)

    def register_service(self, name: str) -> None:
        """Provide the service *name*, standing in for the real provider."""
        self.shard.services.register(name, self.address)

    # ---------------------------------------------------------- conversations

    async def reply(self, call: Message, answer: Message) -> None:
        """Answer a call this probe received (``call`` is the message ``expect`` gave).

        The caller's generator resumes with *answer*. If it answers back, that
        message arrives at the probe like any other, and can be replied to in turn.
        """
        key, caller = call.get(CONV_KEY), call.get(FROM_KEY)
        if type(key) is not str or type(caller) is not str:
            raise ValueError(f"{call!r} is not a call: nothing to reply to")
        if type(answer) is not dict:
            raise TypeError(f"a conversation turn is a dict, not {answer!r}")
        self._answering[key + "!"] = (key, caller)
        envelope = {"action": CONV_ACTION, "conv": key, "kind": "next", "body": answer}
        self.shard.post(caller, envelope)

    async def end(self, call: Message) -> None:
        """End a conversation this probe answered (the caller's generator is closed)."""
        key, caller = call.get(CONV_KEY), call.get(FROM_KEY)
        if type(key) is not str or type(caller) is not str:
            raise ValueError(f"{call!r} is not a call: nothing to end")
        self._answering.pop(key + "!", None)
        self.shard.post(caller, {"action": CONV_ACTION, "conv": key, "kind": "end"})

    async def call(self, address: str, message: Message, timeout: float | None = None) -> Any:
        """Call *address* (a one-turn conversation) and return its answer.

        Raises ``ConversationTimeout`` or ``ConversationEnded`` like a ``Call``.
        """
        async with self.conversation(address, timeout) as talk:
            return await talk.ask(message)

    def conversation(self, address: str, timeout: float | None = None) -> Talk:
        """A conversation with *address*, held turn by turn (``async with``)."""
        return Talk(self, address, self._timeout(timeout))

    async def stop(self) -> None:
        """Stop the probe actor (the kit stops it anyway when it closes)."""
        await self._actor.stop()

    def _timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    def _new_key(self) -> str:
        return f"{self.address}/t{next(self._keys)}"


class Talk:
    """A conversation the test holds with an actor, one turn at a time::

        async with kit.conversation(counter) as talk:
            assert await talk.ask({"action": "ask", "n": 2}) == {"twice": 4}
            assert await talk.ask({"n": 5}) == {"thrice": 15}

    The first ``ask`` (or ``tell``) opens the conversation (the message carries the
    responder's action), later ones are its next turns. Leaving the block ends it.
    """

    def __init__(
        self,
        probe: Probe | Callable[[], Awaitable[Probe]],
        address: str,
        timeout: float,
    ) -> None:
        # A kit passes a coroutine function: its probe starts at the first turn.
        self._probe = probe
        self.address = address
        self.timeout = timeout
        self.key: str | None = None
        self.ended: str | None = None
        self._turns: asyncio.Queue[Message] = asyncio.Queue()

    async def __aenter__(self) -> Talk:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.end()

    def __repr__(self) -> str:
        return f"<Talk with {self.address}>"

    def _arrive(self, envelope: Message) -> None:
        self._turns.put_nowait(envelope)

    @property
    def probe(self) -> Probe:
        """The probe actor that holds the conversation."""
        if not isinstance(self._probe, Probe):
            raise SkickError("the conversation has not started yet")
        return self._probe

    def _forget(self, why: str) -> None:
        self.ended = why
        if self.key is not None:
            self.probe._talks.pop(self.key, None)

    async def ask(self, message: Message, timeout: float | None = None) -> Any:
        """Send one turn and return the partner's answer (:meth:`tell`, then :meth:`answer`).

        Raises ``ConversationEnded`` when the partner ended or failed the
        conversation (or could not be reached), ``ConversationTimeout`` when it did
        not answer within the timeout (the partner is then told, as a ``Call`` would).
        """
        await self.tell(message)
        return await self._answer(timeout, message)

    async def tell(self, message: Message) -> None:
        """Send one turn without waiting for the answer (the first opens the conversation)."""
        if type(message) is not dict:
            raise TypeError(f"a conversation turn is a dict, not {message!r}")
        if self.ended is not None:
            raise ConversationEnded(f"the conversation with {self.address} {self.ended}")
        if not isinstance(self._probe, Probe):
            self._probe = await self._probe()
        if self.key is not None:
            self._send("next", body=message)
            return
        shard = self.probe.shard
        self.key = self.probe._new_key()
        self.probe._talks[self.key] = self
        opening = {**message, CONV_KEY: self.key, FROM_KEY: self.probe.address}
        before = dict(shard.dead_letters.counts)
        if not await shard.send(self.address, opening):
            reasons = [r for r, n in shard.dead_letters.counts.items() if n > before.get(r, 0)]
            self._forget("could not start")
            why = f" ({', '.join(reasons)})" if reasons else ""
            raise ConversationEnded(
                f"could not reach {self.address} with {message!r}: a dead letter{why}"
            )

    async def answer(self, timeout: float | None = None) -> Any:
        """The partner's next turn (after :meth:`tell`); raises as :meth:`ask` does."""
        return await self._answer(timeout, None)

    async def _answer(self, timeout: float | None, asked: Any) -> Any:
        if self.ended is not None:
            raise ConversationEnded(f"the conversation with {self.address} {self.ended}")
        limit = self.timeout if timeout is None else timeout
        try:
            envelope = await asyncio.wait_for(self._turns.get(), limit)
        except TimeoutError:
            if self.key is not None:
                self._send("fail", reason="timed out")
            self._forget("timed out")
            what = "" if asked is None else f" {asked!r}"
            raise ConversationTimeout(
                f"{self.address} did not answer{what} within {limit:g} s"
            ) from None
        kind = envelope.get("kind")
        if kind == "next":
            return envelope.get("body")
        if kind == "fail":
            reason = str(envelope.get("reason", "the partner failed"))
            self._forget(f"failed: {reason}")
            raise ConversationEnded(f"{self.address} failed the conversation: {reason}")
        self._forget("was ended by the partner")
        raise ConversationEnded(f"{self.address} ended the conversation without answering")

    async def expect_end(self, timeout: float | None = None) -> None:
        """Assert that the partner ends the conversation (its generator returns).

        A responder ends when it is resumed and returns, so this usually follows a
        :meth:`tell`.
        """
        if self.ended is not None:
            return
        limit = self.timeout if timeout is None else timeout
        try:
            envelope = await asyncio.wait_for(self._turns.get(), limit)
        except TimeoutError:
            raise AssertionError(
                f"expected {self.address} to end the conversation within {limit:g} s; "
                "it is still waiting for a turn or thinking"
            ) from None
        kind = envelope.get("kind")
        if kind == "end":
            self._forget("was ended by the partner")
            return
        if kind == "fail":
            reason = envelope.get("reason")
            self._forget(f"failed: {reason}")
            raise AssertionError(
                f"expected {self.address} to end the conversation, but it failed: {reason}"
            )
        raise AssertionError(
            f"expected {self.address} to end the conversation, but it said {envelope.get('body')!r}"
        )

    async def end(self) -> None:
        """End the conversation from the test's side (idempotent)."""
        if self.ended is None and self.key is not None:
            self._send("end")
        if self.ended is None:
            self._forget("was ended by the test")

    def _send(self, kind: str, **fields: Any) -> None:
        assert self.key is not None
        envelope = {"action": CONV_ACTION, "conv": self.key + "!", "kind": kind, **fields}
        self.probe.shard.post(self.address, envelope)

"""ActorKit: a runtime for one test, with probes, spawns and calls from the test body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Self

from .._actor import Message
from .._deadletters import DeadLetters
from .._directory import Directory
from .._hash import Hash
from .._runtime import Runtime
from .._shard import Shard
from ..exceptions import SkickError
from ._probe import Probe, Talk

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_WITHIN", "ActorKit"]

DEFAULT_TIMEOUT = 2.0
"""Seconds an expectation, a call or a connection waits before the test fails."""
DEFAULT_WITHIN = 0.1
"""Seconds ``expect_nothing`` watches by default."""

OnStart = Callable[[Shard], Awaitable[Any]]


class ActorKit:
    """Run actors for one test, in this process, as an async context manager::

        async with ActorKit(directory) as kit:
            counter = await kit.spawn("counter", {"start": 40})
            assert await kit.call(counter, {"action": "increment", "by": 2}) == {"count": 42}
            probe = await kit.probe()
            await probe.monitor(counter)
            await kit.stop(counter)
            await probe.expect_sentinel(counter, type="cancellation")

    *app* is a ``Directory`` (a ``Skick`` app is one) or an unstarted ``Runtime``.
    The runtime runs in memory (no transport, private hashes) in strict mode: every
    local message crosses JSON as it would between shards; pass ``strict=False`` or
    any other ``Runtime`` option (``conversation_timeout``, ``transport``, …) to
    change that. *timeout* bounds every wait of the kit and its probes;
    ``expect_nothing`` watches for *within* seconds. *on_start* (``async f(shard)``)
    runs once the runtime is up, as ``Skick(on_start=…)`` does.

    Leaving the block stops every actor (their ``on_stop`` runs), bounded by the
    runtime's ``stop_timeout``.
    """

    def __init__(
        self,
        app: Directory | Runtime | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        within: float = DEFAULT_WITHIN,
        on_start: OnStart | None = None,
        strict: bool | None = None,
        **runtime_options: Any,
    ) -> None:
        if not timeout > 0 or not within > 0:
            raise ValueError("timeout and within must be positive")
        if isinstance(app, Runtime):
            if runtime_options or strict is not None:
                names = sorted([*runtime_options, *(["strict"] if strict is not None else [])])
                raise TypeError(
                    f"options {names} go to the Runtime itself, not to a kit given a Runtime"
                )
            self.runtime = app
        else:
            strict = True if strict is None else strict
            self.runtime = Runtime(app, strict=strict, **runtime_options)
        self.timeout = timeout
        self.within = within
        self.on_start = on_start
        self._probe: Probe | None = None
        self._entered = False

    # -------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        if self._entered:
            raise SkickError("a kit can be entered once")
        self._entered = True
        await self.runtime.start()
        try:
            await self._start_services()
            if self.on_start is not None:
                await self.on_start(self.runtime.shard)
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _start_services(self) -> None:
        """Start what runs beside the runtime (the session kit starts its server)."""

    async def _stop_services(self) -> None:
        """Stop what :meth:`_start_services` started, before the runtime stops."""

    async def _shutdown(self) -> None:
        try:
            await self._stop_services()
        finally:
            await self.runtime.close()

    # ------------------------------------------------------------- accessors

    @property
    def shard(self) -> Shard:
        """The shard the actors run on."""
        return self.runtime.shard

    @property
    def directory(self) -> Directory:
        """The declarations the runtime uses."""
        return self.runtime.directory

    @property
    def dead_letters(self) -> DeadLetters:
        """The shard's dead letters (``kit.dead_letters.counts["unknown action"]``)."""
        return self.shard.dead_letters

    def hash(self, name: str) -> Hash:
        """The hash table *name* of this runtime (in memory, private to the kit)."""
        return self.runtime.hash(name)

    # ---------------------------------------------------------------- actors

    async def probe(self, name: str = "probe", *, service: str | None = None) -> Probe:
        """Start a :class:`Probe` actor; with *service*, it provides that service."""
        probe = await Probe.start(self.shard, name, self.timeout, self.within)
        if service is not None:
            probe.register_service(service)
        return probe

    async def spawn(
        self,
        actor_type: str,
        message: Message | None = None,
        *,
        monitors: Iterable[str | Probe] = (),
    ) -> str:
        """Start an actor and return its address; *monitors* get its sentinel."""
        watchers = [m.address if isinstance(m, Probe) else m for m in monitors]
        return await self.shard.spawn(actor_type, message, monitors=watchers)

    async def send(self, address: str, message: Message) -> bool:
        """Send *message* from outside any actor; False when it became a dead letter."""
        return await self.shard.send(address, message)

    async def call(self, address: str, message: Message, timeout: float | None = None) -> Any:
        """Call *address* and return its first answer (one-turn conversation).

        Raises ``ConversationTimeout`` after *timeout* (the kit's by default) and
        ``ConversationEnded`` when the actor ends or fails the conversation.
        """
        return await (await self._driver()).call(address, message, timeout)

    def conversation(self, address: str, timeout: float | None = None) -> Talk:
        """A multi-turn conversation with *address*: ``async with kit.conversation(a) as t``.

        See :class:`Talk`; ``probe.conversation(a)`` holds one from a probe of yours.
        """
        return Talk(self._driver, address, self.timeout if timeout is None else timeout)

    async def stop(self, address: str) -> None:
        """Stop the local actor at *address* (its ``on_stop`` runs, monitors are told)."""
        actor = self.shard.actors.get(address)
        if actor is None:
            raise AssertionError(f"no actor at {address} on this shard (already stopped?)")
        await actor.stop()

    async def _driver(self) -> Probe:
        if self._probe is None:
            self._probe = await self.probe("kit")
        return self._probe

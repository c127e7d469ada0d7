"""The shard: owner of a process's actors, their addresses, services and routing.

Same-shard messages go straight into the receiver's mailbox (no serialisation, no
copy unless ``strict``); anything else goes to the transport. The shard watches
every actor it started, sends sentinels to the monitors, and frees what the actor
held. It is also an actor itself (``"<shard_id>:shard"``), which is how other shards
ask it to spawn.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import uuid
from collections.abc import Coroutine, Iterable
from typing import Any

from schema import Optional, Or

from ._actor import Actor, ActorFactory, Message
from ._conversation import CONV_ACTION, CONV_KEY, FROM_KEY, Respond
from ._deadletters import DeadLetters
from ._directory import Directory
from ._options import RuntimeOptions
from ._services import ServiceRegistry
from .abc import PeerInfo, Transport
from .exceptions import RegistrationError, SpawnError

__all__ = ["Shard"]

logger = logging.getLogger("skick.shard")

_SPAWN_SCHEMA = {
    "action": "spawn",
    "type": str,
    Optional("message"): dict,
    Optional("monitors"): [str],
    Optional("reply_to"): str,
    Optional("request_id"): str,
    Optional("timeout"): Or(int, float),
}


class Shard:
    """Runs actors in this process and routes their messages."""

    def __init__(
        self,
        directory: Directory | None = None,
        options: RuntimeOptions | None = None,
        transport: Transport | None = None,
        shard_id: str | None = None,
    ) -> None:
        self.shard_id = shard_id or uuid.uuid4().hex[:12]
        self.address = f"{self.shard_id}:shard"
        self.directory = directory if directory is not None else Directory()
        self.options = options or RuntimeOptions()
        self.transport = transport
        self.actors: dict[str, Actor] = {}
        self.services = ServiceRegistry(on_change=self._announce)
        self.dead_letters = DeadLetters()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._peer_types: dict[str, frozenset[str]] = {}
        self._watches: dict[str, set[str]] = {}
        self._actor: Actor | None = None
        self._closing = False
        self._spawns: dict[str, tuple[str, asyncio.Future[Message]]] = {}

    def __repr__(self) -> str:
        return f"<Shard {self.shard_id} actors={len(self.actors)}>"

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the shard actor, then join the cluster if there is a transport."""
        actor = Actor(self, self.address, "shard")
        _shard_behaviour(self, actor)
        self._actor = actor
        await self.start_actor(actor)
        if self.transport is not None:
            await self.transport.start(self)
            self.directory._on_new_actor_type.append(self._announce)

    async def close(self) -> None:
        """Stop every actor (each ``on_stop`` bounded), leave the cluster, settle tasks."""
        self._closing = True
        if self._announce in self.directory._on_new_actor_type:
            self.directory._on_new_actor_type.remove(self._announce)
        actors = [a for a in self.actors.values() if a is not self._actor]
        await asyncio.gather(*(a.stop() for a in actors))
        if self._actor is not None:
            await self._actor.stop()
        if self.transport is not None:
            await self.transport.close()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.options.stop_timeout)
            for task in pending:
                task.cancel()

    def track(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run *coro* in a task the shard owns (awaited or cancelled on close)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("background task failed", exc_info=exc)

    # ------------------------------------------------------------------ spawning

    def resolve_factory(self, actor_type: str | ActorFactory) -> tuple[str, ActorFactory]:
        """The name and factory of a local actor type (or of a bare factory)."""
        if callable(actor_type):
            return getattr(actor_type, "__name__", "anonymous"), actor_type
        try:
            return actor_type, self.directory.actors[actor_type]
        except KeyError:
            raise RegistrationError(f"unknown actor type {actor_type!r}") from None

    async def spawn(
        self,
        actor_type: str | ActorFactory,
        message: Message | None = None,
        *,
        monitors: Iterable[str] = (),
    ) -> str:
        """Start an actor and return its address once its ``on_start`` has finished.

        A type declared here runs here; otherwise a peer that declares it is asked.
        Raises :class:`SpawnError` when no shard has the type or the start failed.
        """
        message = {} if message is None else message
        monitors = list(monitors)
        if callable(actor_type) or actor_type in self.directory.actors:
            type_name, factory = self.resolve_factory(actor_type)
            return await self._spawn_here(type_name, factory, message, monitors)
        hosts = [sid for sid, types in self._peer_types.items() if actor_type in types]
        if not hosts or self._actor is None:
            raise SpawnError(f"no shard provides the actor type {actor_type!r}")
        peer = hosts[next(self._ids) % len(hosts)]
        address = await self._spawn_remote(peer, actor_type, message, monitors)
        for monitor in monitors:
            self._watch(address, monitor)
        return address

    async def _spawn_remote(
        self, peer: str, actor_type: str, message: Message, monitors: list[str]
    ) -> str:
        """Ask *peer*'s shard actor to spawn; its answer comes as a ``spawned`` message.

        The far side gets the same deadline, so an actor whose ``on_start`` is too slow
        is stopped there rather than left running with an address nobody knows.
        """
        limit = self.options.spawn_timeout
        request_id = f"{self.address}/{next(self._ids)}"
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._spawns[request_id] = (peer, waiter)
        request = {
            "action": "spawn",
            "type": actor_type,
            "message": message,
            "monitors": monitors,
            "reply_to": self.address,
            "request_id": request_id,
            "timeout": limit,
        }
        failed = f"spawning {actor_type!r} on shard {peer} failed"
        try:
            if not await self.send(f"{peer}:shard", request):
                raise SpawnError(f"{failed}: the shard cannot be reached")
            async with asyncio.timeout(limit + 1.0):  # its own deadline, then the answer's trip
                reply = await waiter
        except TimeoutError:
            raise SpawnError(f"{failed}: no answer within {limit} s") from None
        finally:
            self._spawns.pop(request_id, None)
        address = reply.get("address")
        if not isinstance(address, str):
            raise SpawnError(f"{failed}: {reply.get('error', 'no address in the answer')}")
        return address

    async def _spawn_for_peer(self, request: Message) -> None:
        """Spawn on behalf of another shard, within its deadline, and answer it."""
        reply: Message = {"action": "spawned", "request_id": request["request_id"]}
        try:
            type_name, factory = self.resolve_factory(request["type"])
            async with asyncio.timeout(request.get("timeout", self.options.spawn_timeout)):
                reply["address"] = await self._spawn_here(
                    type_name, factory, request.get("message", {}), request.get("monitors", [])
                )
        except TimeoutError:
            reply["error"] = f"on_start of {request['type']!r} did not finish in time"
        except (RegistrationError, SpawnError) as exc:
            reply["error"] = str(exc)
        self.post(request["reply_to"], reply)

    async def _spawn_here(
        self, type_name: str, factory: ActorFactory, message: Message, monitors: list[str]
    ) -> str:
        if self._closing:
            raise SpawnError("the shard is shutting down")
        actor = Actor(self, f"{self.shard_id}:{next(self._ids)}", type_name)
        actor.monitors.extend(monitors)
        try:
            factory(actor, message)
        except Exception as exc:
            raise SpawnError(f"the factory of {type_name!r} raised {exc!r}") from exc
        return await self.start_actor(actor)

    async def start_actor(self, actor: Actor) -> str:
        """Register and run a prepared actor; return its address once it is running.

        This is the seam for plugins that build their own actors (the session
        server's front and back actors): they run the factory, then call this.
        """
        self.actors[actor.address] = actor
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = actor._start(started)
        task.add_done_callback(functools.partial(self._actor_ended, actor, started))
        try:
            await started
        except asyncio.CancelledError:
            # Either way, let its teardown and _actor_ended run: nothing stays registered.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                task.cancel()  # the spawner gave up: the actor must not start unseen
                await asyncio.wait((task,), timeout=self.options.stop_timeout)
                raise
            await asyncio.wait((task,), timeout=self.options.stop_timeout)
            raise SpawnError(f"{actor!r} was stopped before it started") from None
        except Exception as exc:
            await asyncio.wait((task,), timeout=self.options.stop_timeout)
            raise SpawnError(f"on_start of {actor!r} raised {exc!r}") from exc
        return actor.address

    def _actor_ended(
        self, actor: Actor, started: asyncio.Future[None], task: asyncio.Task[None]
    ) -> None:
        if self.actors.get(actor.address) is actor:
            del self.actors[actor.address]
        self.services.unregister(actor.address)
        if task.cancelled():
            kind, exc = "cancellation", None
        else:
            exc = task.exception()
            kind = "done" if exc is None else "exception"
        if not started.done() or started.cancelled() or started.exception() is not None:
            return  # never ran: the spawner got the error, monitors hear nothing
        if exc is not None:
            logger.error("%r crashed", actor, exc_info=exc)
        sentinel: Message = {
            "action": "sentinel",
            "address": actor.address,
            "type": kind,
            "tag": "main_task",
        }
        if exc is not None:
            sentinel["exception"] = type(exc).__name__
        for monitor in actor.monitors:
            if self._closing and monitor in self.actors:
                continue  # the whole shard is going down: local monitors stop too
            self.post(monitor, dict(sentinel))

    # ------------------------------------------------------------------- routing

    async def send(self, address: str, message: Message) -> bool:
        """Deliver *message* to *address*; False when it became a dead letter."""
        try:
            actor = self.actors.get(address)
        except TypeError:
            return self.dead_letters.record("bad address", repr(address), message)
        if actor is not None:
            if self.options.strict:
                crossed = _roundtrip(message)
                if crossed is None:
                    return self.dead_letters.record("not JSON", address, message)
                message = crossed
            queued = actor._offer(message)
            if queued is not None:
                return queued
            return await actor._wait_for_room(message)  # validated once, above
        return await self._send_far(address, message)

    def post(self, address: str, message: Message) -> bool:
        """Send a system message without waiting: never blocked by a full mailbox."""
        actor = self.actors.get(address)
        if actor is not None:
            if self.options.strict:
                crossed = _roundtrip(message)
                if crossed is None:
                    return self.dead_letters.record("not JSON", address, message)
                message = crossed
            queued = actor._offer(message)
            if queued is None:
                actor._mailbox.force(message)
                return True
            return queued
        if self._is_remote(address):
            assert self.transport is not None
            try:
                queued = self.transport.send_nowait(address, message)
            except (TypeError, ValueError):
                return self.dead_letters.record("not JSON", address, message)
            if queued is None:  # this transport always sends asynchronously
                self.track(self._send_far(address, message))
                return True
            return queued
        return self.dead_letters.record("dead address", address, message)

    async def deliver(self, address: str, message: dict[str, Any]) -> bool:
        """Take a message from another shard (the transport calls this)."""
        actor = self.actors.get(address) if type(address) is str else None
        if actor is None:
            delivered = self.dead_letters.record("dead address", str(address), message)
        else:
            delivered = await actor._deliver(message)
            if delivered and message.get("action") == "sentinel":
                self._unwatch(message.get("address"), address)
        if not delivered and isinstance(message, dict) and CONV_KEY in message:
            self.fail_caller(message, "no such actor or action")
        return delivered

    async def _send_far(self, address: Any, message: Message) -> bool:
        if not self._is_remote(address):
            return self.dead_letters.record("dead address", str(address), message)
        if type(message) is not dict or type(message.get("action")) is not str:
            return self.dead_letters.record("not a message", address, message)
        assert self.transport is not None
        if message["action"] == "monitor" and isinstance(message.get("address"), str):
            self._watch(address, message["address"])
        try:
            return await self.transport.send(address, message)
        except (TypeError, ValueError):
            return self.dead_letters.record("not JSON", address, message)

    def _is_remote(self, address: Any) -> bool:
        if type(address) is not str or self.transport is None:
            return False
        shard_id, sep, _ = address.partition(":")
        return bool(sep) and shard_id != self.shard_id

    def fail_caller(self, message: Message, reason: str) -> None:
        """Tell the caller of a conversation-opening message that it will get no answer."""
        key, caller = message.get(CONV_KEY), message.get(FROM_KEY)
        if type(key) is str and type(caller) is str:
            failure = {"action": CONV_ACTION, "conv": key, "kind": "fail", "reason": reason}
            self.post(caller, failure)

    # ---------------------------------------------------------------- membership

    def local_info(self) -> PeerInfo:
        """What this shard announces to its peers."""
        return {
            "services": {name: list(p) for name, p in self.services.local.items()},
            "types": sorted(self.directory.actors),
        }

    def peer_up(self, shard_id: str, info: PeerInfo) -> None:
        """A peer joined or re-announced (called by the transport)."""
        services = info.get("services")
        self.services.set_peer(shard_id, services if isinstance(services, dict) else {})
        types = info.get("types")
        self._peer_types[shard_id] = frozenset(
            t for t in (types if isinstance(types, list) else ()) if isinstance(t, str)
        )

    def peer_down(self, shard_id: str) -> None:
        """A peer left or was lost: forget it, tell monitors, end conversations."""
        self.services.drop_peer(shard_id)
        self._peer_types.pop(shard_id, None)
        for peer, waiter in list(self._spawns.values()):
            if peer == shard_id and not waiter.done():
                waiter.set_result({"error": f"shard {shard_id} was lost"})
        prefix = shard_id + ":"
        for remote in [a for a in self._watches if a.startswith(prefix)]:
            for monitor in self._watches.pop(remote):
                self.post(
                    monitor,
                    {
                        "action": "sentinel",
                        "address": remote,
                        "type": "exception",
                        "exception": "ShardLost",
                        "tag": "main_task",
                    },
                )
        for actor in list(self.actors.values()):
            actor._lose_partners(shard_id)

    @property
    def shard_ids(self) -> list[str]:
        """This shard and every live peer."""
        return [self.shard_id, *sorted(self._peer_types)]

    def _watch(self, remote: str, monitor: str) -> None:
        if monitor in self.actors:
            self._watches.setdefault(remote, set()).add(monitor)

    def _unwatch(self, remote: Any, monitor: str) -> None:
        watchers = self._watches.get(remote) if type(remote) is str else None
        if watchers is not None:
            watchers.discard(monitor)
            if not watchers:
                del self._watches[remote]

    def _announce(self) -> None:
        if self.transport is not None:
            self.transport.announce(self.local_info())


def _roundtrip(message: Message) -> Message | None:
    """What *message* would be after crossing a shard (strict mode)."""
    try:
        crossed: Message = json.loads(json.dumps(message))
    except (TypeError, ValueError):
        return None  # not JSON: the sender gets a dead letter
    return crossed


_SPAWNED_SCHEMA = {
    "action": "spawned",
    "request_id": str,
    Optional("address"): str,
    Optional("error"): str,
}


def _shard_behaviour(shard: Shard, inst: Actor) -> None:
    """The shard's own actor: it spawns on behalf of other shards (and of anyone)."""

    @inst.action("spawn", schema=_SPAWN_SCHEMA)
    async def spawn(msg: Message) -> Any:
        """Spawn here: in the background for a peer, else answering a call if it is one."""
        if isinstance(msg.get("request_id"), str) and isinstance(msg.get("reply_to"), str):
            shard.track(shard._spawn_for_peer(msg))  # concurrent: a slow on_start delays no one
            return
        asked = CONV_KEY in msg
        if asked:
            yield Respond(msg)
        try:
            type_name, factory = shard.resolve_factory(msg["type"])
            monitors = msg.get("monitors", [])
            address = await shard._spawn_here(type_name, factory, msg.get("message", {}), monitors)
        except (RegistrationError, SpawnError) as exc:
            reply: Message = {"error": str(exc)}
        else:
            reply = {"address": address}
        if asked:
            yield reply
        elif "error" in reply:
            logger.warning("spawn requested by message failed: %s", reply["error"])

    @inst.action("spawned", schema=_SPAWNED_SCHEMA)
    async def spawned(msg: Message) -> None:
        pending = shard._spawns.get(msg["request_id"])
        if pending is not None and not pending[1].done():
            pending[1].set_result(msg)

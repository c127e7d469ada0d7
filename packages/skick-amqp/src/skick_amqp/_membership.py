"""Cluster membership from heartbeats: who is up, and what each shard offers.

Each shard process has an *incarnation* (a random id chosen at start) and stamps
what it says with its own counters: ``v``, the version of its info (services and
actor types), bumped on every change, and ``seq``, the heartbeat number. Nothing
here compares clocks across hosts: a peer is judged only by *local* monotonic time
since it was last heard, and its info only by its own version numbers.

The protocol (over the fanout exchange to every shard's membership queue, unless
said otherwise)::

    hello {s, i, v, info}  a shard joined or reconnected; peers answer with info (direct)
    beat  {s, i, v, seq}   I am alive and my info is at version v
    info  {s, i, v, info}  my info changed (fanout), or the answer to hello/sync (direct)
    sync  {s, i}           send me your info (direct), after a beat showed a newer version
    bye   {s, i}           I am leaving: forget me now (direct to each known peer's *data*
                           queue, so that it arrives after everything sent before it)

A peer unheard for ``loss_window`` is *lost*: the host is told (``peer_down``), and
sends to it fail, until it is heard again (a broker outage looks like that to every
shard). A peer that said ``bye`` is *departed* for good: later messages of that
incarnation are ignored. A shard id that comes back with a new incarnation is a new
member; the old one is taken down first.

This module does no I/O: the transport feeds it what arrives and publishes what it
returns through the ``publish`` callback, which makes it testable with a fake clock.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skick_core.abc import PeerInfo

__all__ = ["Membership"]

logger = logging.getLogger(__name__)

Publish = Callable[[str | None, dict[str, Any]], None]
"""``publish(shard_id, payload)``; ``None`` as the shard id means the fanout exchange."""


@dataclass
class _Peer:
    incarnation: str
    last_heard: float
    version: int = -1
    info: PeerInfo | None = None
    up: bool = False
    last_sync: float = float("-inf")


class Membership:
    """The membership view of one shard (see the module docstring)."""

    def __init__(
        self,
        shard_id: str,
        *,
        loss_window: float,
        publish: Publish,
        on_up: Callable[[str, PeerInfo], None],
        on_down: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        incarnation: str | None = None,
    ) -> None:
        self.shard_id = shard_id
        self.incarnation = incarnation or uuid.uuid4().hex
        self.loss_window = loss_window
        self.forget_after = max(60.0, 10 * loss_window)
        self._publish = publish
        self._on_up = on_up
        self._on_down = on_down
        self._clock = clock
        self._peers: dict[str, _Peer] = {}
        self._retired: dict[str, float] = {}
        self.version = 0
        self.info: PeerInfo = {}
        self.seq = 0
        self.lost_count = 0
        self.departed_count = 0

    # -------------------------------------------------------------- own state

    def set_info(self, info: PeerInfo) -> None:
        """Record this shard's new info under the next version."""
        self.info = info
        self.version += 1

    def hello(self) -> dict[str, Any]:
        """The message that announces this shard (on join and after a reconnect)."""
        return self._stamp("hello", v=self.version, info=self.info)

    def beat(self) -> dict[str, Any]:
        """The next heartbeat."""
        self.seq += 1
        return self._stamp("beat", v=self.version, seq=self.seq)

    def info_message(self) -> dict[str, Any]:
        """The current info, for a broadcast or an answer."""
        return self._stamp("info", v=self.version, info=self.info)

    def bye(self) -> dict[str, Any]:
        """The departure notice."""
        return self._stamp("bye")

    def known(self) -> list[str]:
        """Every shard with a record (up, syncing, or lost and remembered)."""
        return list(self._peers)

    def _stamp(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"k": kind, "s": self.shard_id, "i": self.incarnation, **fields}

    # ----------------------------------------------------------------- queries

    def peers(self) -> Mapping[str, PeerInfo]:
        """Live peers and their last announced info."""
        return {sid: p.info for sid, p in self._peers.items() if p.up and p.info is not None}

    def is_up(self, shard_id: str) -> bool:
        """Whether *shard_id* is a live peer."""
        peer = self._peers.get(shard_id)
        return peer is not None and peer.up

    def reachable(self, shard_id: str) -> bool:
        """Whether messages to *shard_id* may arrive: it is up, or heard and syncing.

        False for a shard never heard of, one that left, and one declared lost and
        not heard since. A shard's own messages reach a peer after its hello (one
        channel, one queue: AMQP keeps that order), so a reply never finds its
        sender unknown.
        """
        peer = self._peers.get(shard_id)
        return peer is not None and (peer.up or peer.info is None)

    # --------------------------------------------------------------- receiving

    def receive(self, payload: Mapping[str, Any]) -> None:
        """Handle one membership message (already shape-checked by the codec)."""
        kind, shard, incarnation = payload["k"], payload["s"], payload["i"]
        if shard == self.shard_id:
            if incarnation != self.incarnation and kind == "hello":
                logger.error(
                    "another shard announced our shard id %r: shard ids must be unique", shard
                )
            return
        if kind == "bye":
            self._depart(shard, incarnation)
            return
        peer = self._current(shard, incarnation)
        if peer is None:
            return
        if kind == "hello":
            self._learn(shard, peer, payload["v"], payload["info"])
            self._publish(shard, self.info_message())
        elif kind == "info":
            self._learn(shard, peer, payload["v"], payload["info"])
        elif kind == "beat":
            version = payload["v"]
            if peer.info is None or version > peer.version:
                self._ask(shard, peer)
            elif not peer.up:
                self._set_up(shard, peer)
        elif kind == "sync":
            self._publish(shard, self.info_message())

    def heard(self, shard: str, incarnation: str) -> None:
        """Data arrived from *shard*: it is alive (membership messages do this too).

        Data may overtake the sender's hello (they travel through different queues),
        so an unknown sender is recorded at once and asked for its info: replies to
        it must not fail for want of a hello.
        """
        if shard == self.shard_id:
            return
        peer = self._peers.get(shard)
        if peer is not None and peer.incarnation == incarnation:
            peer.last_heard = self._clock()
            if not peer.up and peer.info is not None:
                self._set_up(shard, peer)
            return
        peer = self._current(shard, incarnation)
        if peer is not None:
            self._ask(shard, peer)

    def check(self) -> list[str]:
        """Declare silent peers lost; forget long-gone ones. Returns the lost shard ids."""
        now = self._clock()
        lost = []
        for shard, peer in list(self._peers.items()):
            silent = now - peer.last_heard
            if peer.up and silent > self.loss_window:
                peer.up = False
                self.lost_count += 1
                lost.append(shard)
                logger.warning("shard %s is lost (silent for %.1f s)", shard, silent)
                self._tell_down(shard)
            elif not peer.up and (
                silent > self.forget_after or (peer.info is None and silent > self.loss_window)
            ):
                del self._peers[shard]  # long gone, or heard once and never synced
        for incarnation, since in list(self._retired.items()):
            if now - since > self.forget_after:
                del self._retired[incarnation]
        return lost

    def forget_all(self) -> None:
        """Drop the whole view without telling the host (the transport is closing)."""
        self._peers.clear()

    # ----------------------------------------------------------------- helpers

    def _current(self, shard: str, incarnation: str) -> _Peer | None:
        """The record of this incarnation of *shard*, replacing an older one."""
        if incarnation in self._retired:
            return None  # a late message of an incarnation that left or was replaced
        now = self._clock()
        peer = self._peers.get(shard)
        if peer is not None and peer.incarnation != incarnation:
            logger.info("shard %s restarted (new incarnation)", shard)
            self._retired[peer.incarnation] = now
            del self._peers[shard]
            if peer.up:
                self._tell_down(shard)
            peer = None
        if peer is None:
            peer = self._peers[shard] = _Peer(incarnation, now)
        peer.last_heard = now
        return peer

    def _learn(self, shard: str, peer: _Peer, version: int, info: PeerInfo) -> None:
        if peer.info is None or version > peer.version:
            peer.version, peer.info = version, info
            self._set_up(shard, peer)
        elif not peer.up:
            self._set_up(shard, peer)

    def _ask(self, shard: str, peer: _Peer) -> None:
        now = self._clock()
        if now - peer.last_sync >= self.loss_window / 4:
            peer.last_sync = now
            self._publish(shard, self._stamp("sync"))

    def _set_up(self, shard: str, peer: _Peer) -> None:
        assert peer.info is not None
        if not peer.up:
            logger.info("shard %s is up", shard)
        peer.up = True
        try:
            self._on_up(shard, peer.info)
        except Exception:
            logger.exception("peer_up(%s) failed", shard)

    def _depart(self, shard: str, incarnation: str) -> None:
        now = self._clock()
        self._retired[incarnation] = now
        peer = self._peers.get(shard)
        if peer is None or peer.incarnation != incarnation:
            return  # unknown, or an older incarnation said bye late: the newer one stays
        del self._peers[shard]
        self.departed_count += 1
        if peer.up:
            logger.info("shard %s left", shard)
            self._tell_down(shard)

    def _tell_down(self, shard: str) -> None:
        try:
            self._on_down(shard)
        except Exception:
            logger.exception("peer_down(%s) failed", shard)

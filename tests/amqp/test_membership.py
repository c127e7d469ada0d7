"""Membership and codec logic without a broker: a fake clock and a recorded outbox."""

from __future__ import annotations

from typing import Any

import pytest

from skick_amqp._codec import (
    Malformed,
    decode_batch,
    decode_member,
    encode_batch,
    encode_member,
    encode_part,
)
from skick_amqp._membership import Membership
from skick_core.abc import PeerInfo


class World:
    """One membership view with a hand-driven clock and everything it said and did."""

    def __init__(self, shard_id: str = "me", window: float = 3.0) -> None:
        self.now = 100.0
        self.sent: list[tuple[str | None, dict[str, Any]]] = []
        self.events: list[tuple[str, str]] = []
        self.m = Membership(
            shard_id,
            loss_window=window,
            publish=lambda to, payload: self.sent.append((to, payload)),
            on_up=self.up,
            on_down=lambda sid: self.events.append(("down", sid)),
            clock=lambda: self.now,
        )
        self.m.set_info({"types": ["mine"], "services": {}})

    def up(self, shard_id: str, info: PeerInfo) -> None:
        self.events.append(("up", shard_id))

    def other(self, shard: str, inc: str, version: int = 1) -> Membership:
        peer = Membership(
            shard,
            loss_window=3.0,
            publish=lambda to, payload: None,
            on_up=lambda s, i: None,
            on_down=lambda s: None,
            incarnation=inc,
        )
        for n in range(version):
            peer.set_info({"types": [f"t{n}"], "services": {}})
        return peer


def test_hello_makes_a_peer_up_and_is_answered_directly() -> None:
    w = World()
    peer = w.other("p", "inc1")
    w.m.receive(peer.hello())
    assert w.events == [("up", "p")]
    assert w.m.peers() == {"p": {"types": ["t0"], "services": {}}}
    assert w.sent == [("p", w.m.info_message())]
    assert w.m.reachable("p")
    assert not w.m.reachable("never-heard")


def test_a_beat_with_a_newer_version_asks_for_the_info() -> None:
    w = World()
    peer = w.other("p", "inc1")
    w.m.receive(peer.beat())  # never heard before: ask, do not report it up yet
    assert w.events == []
    assert w.sent == [("p", {"k": "sync", "s": "me", "i": w.m.incarnation})]
    assert w.m.reachable("p"), "a peer being synced is reachable (its data may arrive)"
    w.m.receive(peer.info_message())
    assert w.events == [("up", "p")]
    peer.set_info({"types": ["t9"], "services": {}})
    w.sent.clear()
    w.now += 1
    w.m.receive(peer.beat())
    assert w.sent == [("p", {"k": "sync", "s": "me", "i": w.m.incarnation})]
    w.m.receive(peer.info_message())
    assert w.m.peers()["p"] == {"types": ["t9"], "services": {}}
    # An older info (reordered) never replaces a newer one.
    old = dict(peer.info_message(), v=1, info={"types": ["stale"], "services": {}})
    w.m.receive(old)
    assert w.m.peers()["p"] == {"types": ["t9"], "services": {}}


def test_silence_is_loss_by_local_time_and_being_heard_again_restores() -> None:
    w = World(window=3.0)
    peer = w.other("p", "inc1")
    w.m.receive(peer.hello())
    w.now += 2.9
    assert w.m.check() == []
    w.m.heard("p", "inc1")  # data traffic counts as being heard
    w.now += 2.9
    assert w.m.check() == []
    w.now += 0.2
    assert w.m.check() == ["p"]
    assert w.events[-1] == ("down", "p")
    assert not w.m.reachable("p")
    assert w.m.peers() == {}
    w.m.receive(peer.beat())  # same version: back up with what it said before
    assert w.events[-1] == ("up", "p")
    assert "p" in w.m.peers()
    assert w.m.lost_count == 1


def test_bye_is_departure_for_good() -> None:
    w = World()
    peer = w.other("p", "inc1")
    w.m.receive(peer.hello())
    w.m.receive(peer.bye())
    assert w.events == [("up", "p"), ("down", "p")]
    assert not w.m.reachable("p")
    w.m.receive(peer.beat())  # a late heartbeat of the same incarnation is ignored
    w.m.receive(peer.hello())
    assert w.events == [("up", "p"), ("down", "p")]
    # The same shard id restarted (new incarnation) is a new member.
    again = w.other("p", "inc2")
    w.m.receive(again.hello())
    assert w.events[-1] == ("up", "p")


def test_a_new_incarnation_replaces_the_old_one() -> None:
    w = World()
    w.m.receive(w.other("p", "inc1").hello())
    w.m.receive(w.other("p", "inc2").hello())
    assert w.events == [("up", "p"), ("down", "p"), ("up", "p")]
    w.m.receive(w.other("p", "inc1").beat())  # the old one, late: ignored
    assert w.events == [("up", "p"), ("down", "p"), ("up", "p")]
    w.m.receive(w.other("p", "inc1").bye())  # a late bye of the old one: ignored
    assert w.m.reachable("p")


def test_own_messages_are_ignored() -> None:
    w = World()
    w.m.receive(w.m.hello())
    w.m.receive(w.m.beat())
    assert w.events == []
    assert w.sent == []


def test_host_errors_do_not_break_membership() -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("host bug")

    m = Membership("me", loss_window=1.0, publish=lambda to, p: None, on_up=boom, on_down=boom)
    peer = World().other("p", "inc1")
    m.receive(peer.hello())
    assert "p" in m.peers()


def test_a_peer_never_synced_is_forgotten_after_the_window() -> None:
    w = World(window=3.0)
    w.m.receive(w.other("p", "inc1").beat())
    assert w.m.reachable("p")
    w.now += 3.5
    w.m.check()
    assert not w.m.reachable("p")
    assert w.events == []


def test_batch_and_member_bodies_round_trip() -> None:
    parts = [encode_part("s:1", {"action": "a", "x": "ü"}), encode_part("s:2", {"action": "b"})]
    body = encode_batch("origin", "inc", parts)
    assert decode_batch(body) == (
        "origin",
        "inc",
        [["s:1", {"action": "a", "x": "ü"}], ["s:2", {"action": "b"}]],
    )
    hello = {"k": "hello", "s": "x", "i": "y", "v": 1, "info": {}}
    assert decode_member(encode_member(hello)) == hello


@pytest.mark.parametrize(
    "message", [{"action": "a", "n": float("nan")}, {"action": "a", "o": object()}]
)
def test_non_json_messages_fail_at_encoding(message: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        encode_part("s:1", message)


def test_lone_surrogates_fail_at_encoding() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode_part("s:1", {"action": "a", "text": "\ud800"})


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff",
        b"null",
        b"[]",
        b'{"s": "a", "i": "b"}',
        b'{"s": "a", "i": "b", "m": {}}',
        b'{"s": "a", "i": "b", "m": [Infinity]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "not-utf8", "null", "list", "no-m", "m-not-list", "infinity", "deep"],
)
def test_malformed_batches(body: bytes) -> None:
    with pytest.raises(Malformed):
        decode_batch(body)


@pytest.mark.parametrize(
    "payload",
    [
        {"k": "nope", "s": "a", "i": "b"},
        {"k": "beat", "s": "", "i": "b", "v": 1},
        {"k": "beat", "s": "a", "i": 5, "v": 1},
        {"k": "beat", "s": "a", "i": "b"},
        {"k": "info", "s": "a", "i": "b", "v": 1, "info": []},
    ],
)
def test_malformed_membership(payload: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        decode_member(encode_member(payload))

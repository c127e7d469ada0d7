"""The bodies that travel over RabbitMQ: JSON, with a content type and a message type.

Two kinds, told apart by the AMQP ``type`` property:

``skick.batch.v1``
    Shard messages from one shard to another, in the order sent::

        {"s": origin_shard, "i": origin_incarnation, "m": [[address, message], ...]}

``skick.member.v1``
    Membership (see :mod:`skick_amqp._membership`)::

        {"k": "hello"|"beat"|"info"|"sync"|"bye", "s": shard, "i": incarnation, ...}

Every other type, a body that is not UTF-8 JSON, or a body of the wrong shape is
*malformed*: the receiver rejects it without requeueing and carries on.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "BATCH_TYPE",
    "CONTENT_TYPE",
    "MEMBER_TYPE",
    "Malformed",
    "decode_batch",
    "decode_member",
    "encode_batch",
    "encode_member",
    "encode_part",
]

CONTENT_TYPE = "application/json"
BATCH_TYPE = "skick.batch.v1"
MEMBER_TYPE = "skick.member.v1"
MEMBER_KINDS = frozenset({"hello", "beat", "info", "sync", "bye"})

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_encode = _encoder.encode


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decode = json.JSONDecoder(parse_constant=_no_constants).decode


class Malformed(ValueError):
    """A body that is not one of ours; the reason is the message."""


def encode_part(address: str, message: dict[str, Any]) -> bytes:
    """One ``[address, message]`` entry of a batch, as UTF-8 JSON.

    Raises TypeError or ValueError when *message* is not JSON (NaN included), so the
    shard can count the dead letter at the ``send`` that caused it.
    """
    return _encode([address, message]).encode()


def encode_batch(origin: str, incarnation: str, parts: list[bytes]) -> bytes:
    """A batch body from encoded parts (see :func:`encode_part`)."""
    head = _encode({"s": origin, "i": incarnation})[:-1].encode()
    return b"".join((head, b',"m":[', b",".join(parts), b"]}"))


def decode_batch(body: bytes) -> tuple[str, str, list[Any]]:
    """``(origin, incarnation, entries)``; the entries are checked one by one later."""
    payload = _load(body)
    origin, incarnation, entries = payload.get("s"), payload.get("i"), payload.get("m")
    if type(origin) is not str or type(incarnation) is not str or type(entries) is not list:
        raise Malformed("a batch needs string 's' and 'i' and a list 'm'")
    return origin, incarnation, entries


def encode_member(payload: dict[str, Any]) -> bytes:
    """A membership body."""
    return _encode(payload).encode()


def decode_member(body: bytes) -> dict[str, Any]:
    """A membership payload whose kind, origin and incarnation are checked."""
    payload = _load(body)
    kind, shard, incarnation = payload.get("k"), payload.get("s"), payload.get("i")
    if kind not in MEMBER_KINDS:
        raise Malformed(f"unknown membership kind {kind!r:.40}")
    if type(shard) is not str or not shard or type(incarnation) is not str:
        raise Malformed("a membership message needs string 's' and 'i'")
    if kind in ("hello", "beat", "info") and type(payload.get("v")) is not int:
        raise Malformed(f"a {kind} needs an integer version 'v'")
    if kind in ("hello", "info") and type(payload.get("info")) is not dict:
        raise Malformed(f"a {kind} needs an 'info' object")
    return payload


def _load(body: bytes) -> dict[str, Any]:
    try:
        payload = _decode(body.decode())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Malformed(f"not UTF-8 JSON: {exc}") from None
    if type(payload) is not dict:
        raise Malformed(f"expected a JSON object, got {type(payload).__name__}")
    return payload

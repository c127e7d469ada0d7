"""Conversation objects yielded by async-generator handlers, and their wire envelope.

A conversation is a turn-taking exchange between a *caller* (whose generator yields
:class:`Call`) and a *responder* (whose generator first yields :class:`Respond`).
Each side keeps the conversation under its own key; every message of an open
conversation travels as an envelope addressed to the receiver's key::

    opening   {**user_message, "skick.conv": caller_key, "skick.from": caller_address}
    next turn {"action": "skick.conv", "conv": receiver_key, "kind": "next", "body": {...}}
    end       {"action": "skick.conv", "conv": receiver_key, "kind": "end"}
    failure   {"action": "skick.conv", "conv": receiver_key, "kind": "fail", "reason": "..."}

The responder's key is the caller's key plus ``"!"``, so neither side has to tell
the other its key. Only JSON types travel, so the same envelope crosses shards.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CONV_ACTION",
    "CONV_KEY",
    "FROM_KEY",
    "RESERVED_KEYS",
    "Call",
    "Conversation",
    "Respond",
]

CONV_ACTION = "skick.conv"
CONV_KEY = "skick.conv"
FROM_KEY = "skick.from"
RESERVED_KEYS = frozenset({CONV_KEY, FROM_KEY})

Message = dict[str, Any]


class Conversation:
    """Base of the objects a conversation generator yields to steer the exchange."""

    __slots__ = ()


class Call(Conversation):
    """Open a conversation: send *message* to *address* and wait for the reply.

    ``reply = yield Call(address, {"action": "add", "number": 1})``. *timeout*
    overrides the runtime's default for every turn of this conversation.
    """

    __slots__ = ("address", "message", "timeout")

    def __init__(self, address: str, message: Message, timeout: float | None = None) -> None:
        self.address = address
        self.message = message
        self.timeout = timeout

    def resolve(self, actor: Any) -> tuple[str, Message]:
        """Where the call goes and what it says; subclasses may compute both."""
        return self.address, self.message

    def __repr__(self) -> str:
        return f"Call({self.address!r}, {self.message!r})"


class Respond(Conversation):
    """Pick up a call: ``yield Respond(msg)`` binds this generator to the caller."""

    __slots__ = ("message",)

    def __init__(self, message: Message) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Respond({self.message!r})"

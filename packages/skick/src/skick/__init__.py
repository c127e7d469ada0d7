"""Skick: actor-based back ends for real-time web applications.

``from skick import Skick, Directory, Call, Respond`` is all most programs need;
``SocketQuery`` comes with the websocket plugin (``pip install "skick[ws]"``).
"""

import importlib
from typing import Any

from skick_core import (
    Actor,
    Call,
    ConfigurationError,
    Conversation,
    ConversationEnded,
    ConversationError,
    ConversationTimeout,
    Directory,
    Hash,
    HashError,
    RegistrationError,
    Respond,
    Runtime,
    SkickError,
    SpawnError,
    TransportError,
)

from .__about__ import __version__
from ._facade import Skick

__all__ = [
    "Actor",
    "Call",
    "ConfigurationError",
    "Conversation",
    "ConversationEnded",
    "ConversationError",
    "ConversationTimeout",
    "Directory",
    "Hash",
    "HashError",
    "RegistrationError",
    "Respond",
    "Runtime",
    "Skick",
    "SkickError",
    "SocketQuery",
    "SpawnError",
    "TransportError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # SocketQuery lives in the optional websocket plugin; import it only on demand
    # so that ``import skick`` never needs skick-ws.
    if name == "SocketQuery":
        try:
            plugin = importlib.import_module("skick_ws")
        except ImportError as exc:
            hint = 'SocketQuery needs the websocket plugin: pip install "skick[ws]"'
            raise ImportError(hint) from exc
        return plugin.SocketQuery
    raise AttributeError(f"module 'skick' has no attribute {name!r}")

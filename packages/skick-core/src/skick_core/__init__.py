"""skick-core: the actor runtime of Skick, usable on its own.

Declare actor types on a :class:`Directory`, then run them with a :class:`Runtime`
(inside your own event loop) or through the ``Skick`` facade of the ``skick``
package. Conversations are async generators that yield :class:`Call` and
:class:`Respond`.
"""

from .__about__ import __version__
from ._actor import Actor, ActorFactory, Message
from ._conversation import Call, Conversation, Respond
from ._deadletters import DeadLetters
from ._directory import Directory, Handshake
from ._hash import Hash
from ._options import RuntimeOptions
from ._runtime import Runtime
from ._shard import Shard
from .exceptions import (
    ConfigurationError,
    ConversationEnded,
    ConversationError,
    ConversationTimeout,
    HashError,
    RegistrationError,
    SkickError,
    SpawnError,
    TransportError,
)

__all__ = [
    "Actor",
    "ActorFactory",
    "Call",
    "ConfigurationError",
    "Conversation",
    "ConversationEnded",
    "ConversationError",
    "ConversationTimeout",
    "DeadLetters",
    "Directory",
    "Handshake",
    "Hash",
    "HashError",
    "Message",
    "RegistrationError",
    "Respond",
    "Runtime",
    "RuntimeOptions",
    "Shard",
    "SkickError",
    "SpawnError",
    "TransportError",
    "__version__",
]

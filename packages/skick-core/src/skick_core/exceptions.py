"""Every error Skick raises on purpose derives from :class:`SkickError`.

The tree::

    SkickError
    ├── ConfigurationError          bad option, unknown URL scheme, missing plugin
    ├── RegistrationError           unknown or duplicate actor/session type
    ├── SpawnError                  an actor could not be started (its on_start raised, …)
    ├── ConversationError           a conversation cannot go on
    │   ├── ConversationTimeout     a turn outlived its timeout (also a TimeoutError)
    │   └── ConversationEnded       the partner ended, stopped or died
    ├── TransportError              the message system failed (plugins subclass it)
    └── HashError                   the hash backend failed (plugins subclass it)

Plugins subclass these and chain the foreign error (``raise … from exc``).
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConversationEnded",
    "ConversationError",
    "ConversationTimeout",
    "HashError",
    "RegistrationError",
    "SkickError",
    "SpawnError",
    "TransportError",
]


class SkickError(Exception):
    """Root of every exception Skick raises deliberately."""


class ConfigurationError(SkickError):
    """An option, URL or plugin choice cannot work."""


class RegistrationError(SkickError):
    """An actor, session or subsession name is unknown or already taken."""


class SpawnError(SkickError):
    """An actor could not be started; nothing of it stays registered."""


class ConversationError(SkickError):
    """A conversation cannot continue."""


class ConversationTimeout(ConversationError, TimeoutError):
    """The partner did not answer within the turn's timeout."""


class ConversationEnded(ConversationError):
    """The partner ended the conversation, stopped, or could not be reached."""


class TransportError(SkickError):
    """The message system between shards failed."""


class HashError(SkickError):
    """The hash backend failed; the operation did not complete."""

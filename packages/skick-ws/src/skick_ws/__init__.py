"""Websocket sessions for Skick: the ``websockets`` session server plugin.

Installed with ``pip install "skick[ws]"``; ``Skick`` finds :class:`WebsocketServer`
through the ``skick.servers`` entry point and starts it. Sessions are declared with
``@skick.session``, ``@skick.subsession`` and ``@skick.handshake``; inside a socket
handler's conversation, ``yield SocketQuery(...)`` asks the client a question.
PROTOCOL.md describes the frames a client exchanges with the server.
"""

from .__about__ import __version__
from ._actors import BackActor, FrontActor, SessionActor, SocketQuery
from ._options import WsOptions
from ._protocol import ERROR_CODES, PREDEFINED_QUERY_SCHEMAS
from ._server import WebsocketServer
from ._session import Session

__all__ = [
    "ERROR_CODES",
    "PREDEFINED_QUERY_SCHEMAS",
    "BackActor",
    "FrontActor",
    "Session",
    "SessionActor",
    "SocketQuery",
    "WebsocketServer",
    "WsOptions",
    "__version__",
]

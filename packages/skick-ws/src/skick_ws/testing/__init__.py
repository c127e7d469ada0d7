"""Testing Skick sessions: a kit that connects clients to sessions, with or without a socket.

::

    from skick_ws.testing import ANY, SessionKit

    async def test_hello():
        async with SessionKit(app) as kit:
            client = await kit.connect("hello")
            await client.expect({"greeting": ANY})
            await client.send({"action": "greet"})
            await client.expect({"greeting": "Hello good sir"})

- :class:`SessionKit`: an :class:`~skick_core.testing.ActorKit` (probes, ``spawn``,
  ``call``, ``conversation``) plus the session server; ``connect(session_type,
  **handshake)`` and ``open()`` give :class:`TestClient` objects.
- :class:`TestClient`: ``send``, ``ask``, ``receive``, ``expect``,
  ``expect_nothing``, ``expect_error``, ``expect_query`` (a :class:`Query` to
  ``reply`` to) or ``answer_queries(value | function)``, ``expect_close``, ``close``.
- In memory by default (no port: the server's ``serve_connection`` over
  :func:`memory_pair`, with the same frame checks and limits as a socket); with
  ``SessionKit(app, socket=True)`` or ``SKICK_TEST_SOCKET=1`` the same test runs
  over a real socket on 127.0.0.1.

``skick.testing`` re-exports all of this, adds ``Kit`` (which also takes a ``Skick``
app) and a pytest plugin; docs/testing.md is the guide.
"""

from skick_core.testing import ANY, ActorKit, Probe, Talk

from .._memory import MemoryClientConnection, MemoryServerConnection, memory_pair
from ._client import Closed, Query, TestClient
from ._kit import SOCKET_ENV, Refused, SessionKit, socket_default

__all__ = [
    "ANY",
    "SOCKET_ENV",
    "ActorKit",
    "Closed",
    "MemoryClientConnection",
    "MemoryServerConnection",
    "Probe",
    "Query",
    "Refused",
    "SessionKit",
    "Talk",
    "TestClient",
    "memory_pair",
    "socket_default",
]

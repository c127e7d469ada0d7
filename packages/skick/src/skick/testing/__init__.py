"""Testing Skick applications: one import for the whole test kit.

::

    from skick.testing import ANY, Kit

    async def test_hello():
        async with Kit(skick) as kit:
            client = await kit.connect("hello")
            await client.expect({"greeting": ANY})
            await client.send({"action": "greet"})
            await client.expect({"greeting": "Hello good sir"})

:class:`Kit` runs a ``Skick`` app or a ``Directory`` for one test: in memory by
default, over a real socket with ``socket=True`` (or ``SKICK_TEST_SOCKET=1``, or
pytest's ``--skick-socket``). It re-exports ``skick_core.testing`` (``ActorKit``,
``Probe``, ``Talk``, ``ANY``, ``matches``) and, when ``skick-ws`` is installed,
``skick_ws.testing`` (``SessionKit``, ``TestClient``, ``Query``, ``Closed``,
``Refused``). The pytest plugin (installed with ``skick``, module
``pytest_skick``) provides the fixtures ``skick_kit``, ``probe``, ``skick_app``,
``skick_socket`` and ``skick_kit_options``. docs/testing.md is the guide.
"""

import contextlib
from typing import Any

from skick_core.testing import (
    ANY,
    DEFAULT_TIMEOUT,
    DEFAULT_WITHIN,
    ActorKit,
    Probe,
    Talk,
    describe,
    matches,
    mismatch,
)

from ._kit import WS_INSTALLED, Kit

with contextlib.suppress(ImportError):  # skick-ws is optional
    from skick_ws.testing import (
        SOCKET_ENV,
        Closed,
        Query,
        Refused,
        SessionKit,
        TestClient,
        memory_pair,
        socket_default,
    )

__all__ = [
    "ANY",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WITHIN",
    "SOCKET_ENV",
    "WS_INSTALLED",
    "ActorKit",
    "Closed",
    "Kit",
    "Probe",
    "Query",
    "Refused",
    "SessionKit",
    "Talk",
    "TestClient",
    "describe",
    "matches",
    "memory_pair",
    "mismatch",
    "socket_default",
]

_WS_NAMES = frozenset(
    {"SOCKET_ENV", "Closed", "Query", "Refused", "SessionKit", "TestClient", "memory_pair"}
    | {"socket_default"}
)


def __getattr__(name: str) -> Any:  # pragma: no cover - only without skick-ws
    if name in _WS_NAMES:
        hint = 'needs the websocket plugin: pip install "skick[ws]"'
        raise ImportError(f"skick.testing.{name} {hint}")
    raise AttributeError(f"module 'skick.testing' has no attribute {name!r}")

"""Shared fixtures for the whole test suite.

Service-gated tests ask for ``amqp_url`` / ``redis_url``. The URL comes from
``SKICK_AMQP_URL`` / ``SKICK_REDIS_URL`` (local defaults otherwise). When the service does
not answer a plain TCP connect, the test is skipped -- or fails when
``SKICK_REQUIRE_SERVICES=1`` (set by ``.ci/run``), so CI can never go green by skipping.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "redis": 6379, "rediss": 6379}
CONNECT_TIMEOUT = 1.0


def _require_service(env_var: str, default_url: str) -> str:
    """Return the service URL from ``env_var``; skip or fail when it is unreachable."""
    url = os.environ.get(env_var) or default_url
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            return url
    except OSError as exc:
        reason = f"{env_var}: {host}:{port} unreachable ({exc})"
    # Outside the except block, so the report is not cluttered with the chained OSError.
    if os.environ.get("SKICK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; SKICK_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """URL of a reachable RabbitMQ broker (``SKICK_AMQP_URL``)."""
    return _require_service("SKICK_AMQP_URL", DEFAULT_AMQP_URL)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis server (``SKICK_REDIS_URL``)."""
    return _require_service("SKICK_REDIS_URL", DEFAULT_REDIS_URL)

"""Fixtures of the RabbitMQ transport tests.

Every test gets its own namespace (``?namespace=test-<uuid>``), so tests running at
the same time on the shared broker never see each other's shards. Tests marked
``disruptive`` stop the broker for everyone; they are skipped unless selected with
``-m disruptive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from skick_amqp import AmqpSettings

from .helpers import with_query


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "disruptive: stops shared services (RabbitMQ); run only with -m disruptive"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "disruptive" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="disruptive (stops the shared broker): run with -m disruptive")
    for item in items:
        if item.get_closest_marker("disruptive") is not None:
            item.add_marker(skip)


@pytest.fixture
async def namespace(amqp_url: str) -> AsyncIterator[str]:
    """A namespace private to this test; its exchanges are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    settings = AmqpSettings(namespace=name)
    with contextlib.suppress(Exception):  # best effort: the broker may be gone
        async with asyncio.timeout(10), await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            for exchange in (settings.direct_exchange, settings.members_exchange):
                await channel.exchange_delete(exchange)


@pytest.fixture
def cluster_url(amqp_url: str, namespace: str) -> str:
    """The broker URL with this test's namespace and quick failure detection."""
    return with_query(amqp_url, namespace=namespace, beat_interval=0.5, loss_window=2.0)

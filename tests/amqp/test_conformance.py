"""The AMQP transport passes the transport conformance suite of skick-core."""

from __future__ import annotations

from skick_amqp import AmqpTransport
from skick_core.testing import check_transport


async def test_check_transport(cluster_url: str) -> None:
    await check_transport(lambda: AmqpTransport(cluster_url), timeout=10.0)

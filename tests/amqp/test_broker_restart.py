"""RabbitMQ stopped and started again under a live cluster.

This stops the broker for every user of this machine, so it is marked ``disruptive``
and skipped unless selected: ``hatch run test:run tests/amqp -m disruptive``. It uses
``rabbitmqctl stop_app`` / ``start_app`` (the node stays up, the AMQP listener goes
away) and always starts the app again, whatever happens.
"""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from skick_amqp import AmqpTransport
from skick_core import ConversationEnded

from .helpers import shard_processes, until
from .test_cluster import probe_shard

pytestmark = [
    pytest.mark.disruptive,
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]


async def rabbitmqctl(*args: str, timeout: float = 60.0) -> None:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, output.decode(errors="replace")


async def test_cluster_survives_a_broker_restart(cluster_url: str) -> None:
    async with shard_processes(cluster_url, "A"), probe_shard(cluster_url) as t:
        transport = t.runtime.shard.transport
        assert isinstance(transport, AmqpTransport)
        await until(lambda: "A" in t.shard_ids, 5, "the probe sees A")
        assert (await t.runtime.call("A:1", {"action": "add", "a": 1, "b": 2}))["sum"] == 3
        before = t.runtime.shard.dead_letters.counts["broker unavailable"]

        await rabbitmqctl("stop_app")
        try:
            await until(lambda: not transport.online, 15, "the shard notices the outage")
            # Sends while the broker is down: False at once, counted as dead letters.
            started = time.monotonic()
            for n in range(20):
                sent = await t.runtime.send("A:1", {"action": "stats", "n": n})
                assert not sent
            assert time.monotonic() - started < 0.5
            dead = t.runtime.shard.dead_letters.counts["broker unavailable"]
            assert dead >= before + 20
            # A conversation cannot start: an error, not a hang.
            started = time.monotonic()
            with pytest.raises(ConversationEnded):
                await t.runtime.call("A:1", {"action": "add", "a": 1, "b": 1}, timeout=30)
            assert time.monotonic() - started < 2
            # Silence beyond the loss window: the peer is declared lost meanwhile.
            await until(lambda: "A" not in t.shard_ids, 10, "A is lost while the broker is down")
        finally:
            await rabbitmqctl("start_app", timeout=120)

        # The shards reconnect and the cluster forms again.
        await until(lambda: transport.online, 60, "the shard reconnects")
        await until(lambda: "A" in t.shard_ids, 30, "the cluster forms again")
        reply = await t.runtime.call("A:1", {"action": "add", "a": 20, "b": 22}, timeout=10)
        assert reply["sum"] == 42
        stats = await t.stats("A")
        assert stats["transport"]["reconnects"] >= 1, stats
        assert transport.stats["reconnects"] >= 1

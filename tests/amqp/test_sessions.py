"""A websocket session on one shard process calls a service on another one.

Needs the session server of skick-ws (the ``skick.servers`` entry point
``websockets``); skipped, with the reason, while that plugin is not installed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from skick_core.plugins import server_installed

from .helpers import ShardProcess

pytestmark = pytest.mark.skipif(
    not server_installed(),
    reason="skick-ws provides no session server yet (no 'websockets' entry point in skick.servers)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_session_calls_a_service_on_another_shard(cluster_url: str) -> None:
    from websockets.asyncio.client import connect

    port = _free_port()
    front = ShardProcess(cluster_url, "A", "--ws-port", str(port))
    back = ShardProcess(cluster_url, "B")
    try:
        await asyncio.gather(front.start(), back.start())
        async with asyncio.timeout(20), connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send(json.dumps({"session_type": "calc"}))
            deadline = time.monotonic() + 5
            while True:  # until A has heard of B's adder (bounded)
                await ws.send(json.dumps({"action": "add", "a": 2, "b": 3}))
                reply = json.loads(await ws.recv())
                if "error" not in reply or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert reply == {"sum": 5, "by": "B"}, (reply, front.errors())
    finally:
        await asyncio.gather(front.stop(), back.stop())

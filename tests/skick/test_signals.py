"""``skick.start()`` in a real process: SIGINT and SIGTERM shut it down gracefully."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from pathlib import Path

import pytest

PROGRAM = textwrap.dedent(
    """
    import asyncio

    from skick import Skick

    async def on_start(shard):
        for n in range(3):
            await shard.spawn("worker", {"n": n})
        print("READY", flush=True)

    skick = Skick(on_start=on_start, websocket_server=False)

    @skick.actor("worker")
    def worker(inst, message):
        @inst.daemon("busy")
        async def busy():
            while True:
                await asyncio.sleep(0.01)

        @inst.on_stop
        async def bye():
            await asyncio.sleep(0.01)
            print(f"STOPPED {message['n']}", flush=True)

    skick.start()
    print("EXITED", flush=True)
    """
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_start_shuts_down_gracefully_on_signal(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.decode().strip() == "READY"
        proc.send_signal(signum)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = out.decode().splitlines()
    assert proc.returncode == 0, err.decode()
    assert sorted(line for line in lines if line.startswith("STOPPED")) == [
        "STOPPED 0",
        "STOPPED 1",
        "STOPPED 2",
    ]
    assert lines[-1] == "EXITED"
    assert "Traceback" not in err.decode()

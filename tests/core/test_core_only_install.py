"""skick-core installs and runs alone: none of websockets, aio_pika, redis comes with it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "packages" / "skick-core"

PROGRAM = textwrap.dedent(
    """
    import asyncio
    import importlib.util
    import json

    import skick_core
    from skick_core import Call, Directory, Respond, Runtime

    directory = Directory()

    @directory.actor("adder")
    def adder(inst, message):
        tally = message.get("initial_tally", 0)

        @inst.action("add", schema={"action": "add", "number": int})
        async def add(msg):
            nonlocal tally
            yield Respond(msg)
            tally += msg["number"]
            yield {"tally": tally}

    async def main():
        async with Runtime(directory, strict=True) as runtime:
            address = await runtime.spawn("adder", {"initial_tally": 1})
            reply = await runtime.call(address, {"action": "add", "number": 41})
            await runtime.hash("h").set("k", reply)
            stored = await runtime.hash("h")["k"]
        missing = [m for m in ("websockets", "aio_pika", "redis", "skick", "skick_ws")
                   if importlib.util.find_spec(m) is None]
        print(json.dumps({"reply": reply, "stored": stored, "missing": missing,
                          "location": skick_core.__file__}))

    asyncio.run(main())
    """
)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_core_installs_and_runs_without_any_plugin_dependency(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-input", str(CORE)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    run = subprocess.run(
        [str(python), "-I", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["reply"] == {"tally": 42}
    assert result["stored"] == {"tally": 42}
    assert result["missing"] == ["websockets", "aio_pika", "redis", "skick", "skick_ws"]
    assert str(venv) in result["location"]  # the installed copy, not the source tree

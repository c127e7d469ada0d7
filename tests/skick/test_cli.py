"""The ``skick`` command: version, clear errors for bad targets, clean signal exits."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parents[2]


def _skick(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skick", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    done = _skick("--version")
    assert done.returncode == 0
    assert done.stdout.strip().startswith("skick 0.")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no_such_module_here:app", "could not import 'no_such_module_here'"),
        ("examples.accumulator:missing", "has no attribute 'missing'"),
        ("examples.accumulator:log", "is a Logger, not a Skick app"),
        ("examples.accumulator", "expected module:attribute"),
    ],
)
def test_a_bad_target_is_one_clear_line(target: str, expected: str) -> None:
    done = _skick("run", target)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert "Traceback" not in done.stderr


def test_a_module_that_raises_on_import_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "broken_app.py").write_text("raise RuntimeError('boom at import')\n")
    done = _skick("run", "broken_app:app", "--app-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "skick: error: importing 'broken_app' raised RuntimeError: boom at import"
    )


def test_an_unknown_transport_flag_names_the_extra() -> None:
    done = _skick("run", "examples.accumulator:skick", "--message-system", "nats://x")
    assert done.returncode == 2
    assert "no transport for 'nats'" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_logs_a_start_line_and_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "skick", "run", "examples.accumulator:skick", "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stderr is not None
        seen: list[str] = []
        try:
            for line in process.stderr:  # bounded by the pytest timeout
                seen.append(line)
                if "tally is now" in line:  # the app is up and its actors talk
                    break
            started = [line for line in seen if "running examples.accumulator:skick" in line]
            assert started, "".join(seen)
            assert "transport memory, hash memory" in started[0]
            process.send_signal(sig)
            _, rest = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, "".join(seen) + rest
    assert "final tally" in rest  # every on_stop ran
    assert rest.rstrip().endswith("skick: stopped")


_LISTENING = re.compile(r"skick\.ws: listening on (ws://127\.0\.0\.1:(\d+)) \(open (http://\S+) ")


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({}, id="fast"),  # uvloop and orjson when installed (the test env has them)
        pytest.param({"SKICK_NO_UVLOOP": "1", "SKICK_NO_ORJSON": "1"}, id="stdlib"),
    ],
)
def test_run_the_chat_connect_and_stop_it_with_sigint(variant: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SKICK_NO_UVLOOP", "SKICK_NO_ORJSON")}
    env.update(variant, PYTHONUNBUFFERED="1")
    command = ["run", "examples.chat:app", "--host", "127.0.0.1", "--port", "0"]
    with subprocess.Popen(
        [sys.executable, "-m", "skick", *command],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stderr is not None
        seen: list[str] = []
        try:
            for line in process.stderr:  # bounded by the pytest timeout
                seen.append(line)
                listening = _LISTENING.search(line)
                if listening is not None or "Traceback" in line:
                    break
            assert listening is not None, "".join(seen)
            started = "".join(seen)
            assert "running examples.chat:app" in started
            if variant:
                assert 'speed-ups: none (pip install "skick[fast]")' in started
            else:
                fast = [name for name in ("uvloop", "orjson") if importlib.util.find_spec(name)]
                assert f"speed-ups: {', '.join(fast) or 'none'}" in started
            url, page = listening.group(1), listening.group(3)
            assert page == f"http://127.0.0.1:{listening.group(2)}/"
            with urllib.request.urlopen(page, timeout=10) as response:  # the chat page
                assert response.status == 200
                assert b"<title>Skick chat</title>" in response.read()
            with ws_connect(url, open_timeout=10, close_timeout=10) as ws:
                ws.send(json.dumps({"session_type": "chat", "name": "cli"}))
                joined = json.loads(ws.recv(timeout=10))
                assert joined == {"event": "joined", "name": "cli", "members": ["cli"]}
                ws.send(json.dumps({"action": "say", "text": "hello from the test"}))
                said = json.loads(ws.recv(timeout=10))
                assert said == {"event": "said", "name": "cli", "text": "hello from the test"}
                process.send_signal(signal.SIGINT)
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                    1001,
                    "server shutting down",
                )
            _, rest = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, "".join(seen) + rest
    assert "Traceback" not in rest
    assert rest.rstrip().endswith("skick: stopped")

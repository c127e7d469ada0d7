"""The ``skick`` command: version, clear errors for bad targets, clean signal exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

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

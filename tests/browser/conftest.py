"""What the browser tests need: Debian's chromium (driven by Playwright) and Node.js.

Neither is a Python package. A missing chromium (or playwright) skips the browser
test, or fails it under ``SKICK_REQUIRE_SERVICES=1`` (set by ``.ci/run``, which
installs chromium), so CI can never go green by skipping it. Playwright never
downloads a browser here: the test launches the system's chromium with
``executable_path``. The Node.js test of skick.js is an extra: it is skipped where
no Node.js with a ``WebSocket`` is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
"""Screenshots the tests leave for CI to keep (gitignored)."""

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
]


def missing(what: str) -> NoReturn:
    """Skip, or fail under ``SKICK_REQUIRE_SERVICES=1``."""
    if os.environ.get("SKICK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what}; SKICK_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable (``SKICK_CHROMIUM``, else /usr/bin/chromium or PATH)."""
    path = os.environ.get("SKICK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        missing(f"no chromium at {path} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing("the playwright package is not installed")
    return path


@pytest.fixture(scope="session")
def node() -> list[str]:
    """A Node.js command with a global ``WebSocket`` (Node ≥ 22, or 20 with a flag)."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed")
    probe = "process.exit(typeof WebSocket === 'function' ? 0 : 1)"
    for command in ([executable], [executable, "--experimental-websocket"]):
        done = subprocess.run([*command, "-e", probe], capture_output=True, timeout=30, check=False)
        if done.returncode == 0:
            return command
    pytest.skip("this node has no WebSocket (Node.js 22, or 20 with --experimental-websocket)")

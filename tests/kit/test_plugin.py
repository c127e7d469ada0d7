"""The pytest plugin, as a user meets it: separate pytest runs in a scratch project.

They also run the worked example of docs/testing.md exactly as written there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

INI = """\
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = -p no:cacheprovider --strict-markers
"""


def docs_files() -> dict[str, str]:
    """The code blocks of docs/testing.md that are marked ``<!-- file: NAME -->``."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", text, re.DOTALL)
    return dict(blocks)


def run_pytest(project: Path, *args: str, mode: str = "auto", ini: str = "") -> str:
    (project / "pytest.ini").write_text(INI.format(mode=mode) + ini, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SKICK_TEST_SOCKET"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


def test_the_docs_worked_example_passes(tmp_path: Path) -> None:
    files = docs_files()
    assert set(files) == {"app.py", "test_app.py"}
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    output = run_pytest(tmp_path, "-rA")
    assert "3 passed" in output, output
    assert "PASSED test_app.py::test_curious_asks_for_consent[memory]" in output, output
    assert "PASSED test_app.py::test_curious_asks_for_consent[socket]" in output, output


STRICT_TESTS = """\
import pytest
from skick import Skick
from skick.testing import Kit, Probe

app = Skick()


@app.session("echo")
def echo(inst, message):
    @inst.socket("say", {"action": "say", "text": str})
    async def say(msg):
        await inst.socksend({"said": msg["text"]})


@pytest.fixture
def skick_app():
    return app


@pytest.mark.asyncio
@pytest.mark.skick_both
async def test_echo(skick_kit: Kit, probe: Probe) -> None:
    client = await skick_kit.connect("echo")
    assert await client.ask({"action": "say", "text": "hi"}) == {"said": "hi"}
    assert skick_kit.socket == ("socket" in __import__("os").environ.get("PYTEST_CURRENT_TEST", ""))
    assert probe.address in skick_kit.shard.actors
"""


def test_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "test_strict.py").write_text(STRICT_TESTS, encoding="utf-8")
    output = run_pytest(tmp_path, mode="strict")
    assert "2 passed" in output, output


SWITCH_TESTS = """\
from skick import Skick
from skick.testing import Kit

app = Skick()


async def test_the_fixture(skick_kit: Kit) -> None:
    assert skick_kit.socket


async def test_a_kit_built_by_hand() -> None:
    async with Kit(app) as kit:
        assert kit.socket
"""


def test_one_switch_for_the_whole_run(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from skick import Skick\nskick = Skick()\n", "utf-8")
    (tmp_path / "test_switch.py").write_text(SWITCH_TESTS, encoding="utf-8")
    output = run_pytest(tmp_path, "--skick-socket", ini="skick_app = app:skick\n")
    assert "2 passed" in output, output
    output = run_pytest(tmp_path, ini="skick_app = app:skick\n")
    assert "2 failed" in output, output


def test_without_an_app_the_fixture_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "test_no_app.py").write_text(
        "async def test_x(skick_kit):\n    pass\n", encoding="utf-8"
    )
    output = run_pytest(tmp_path)
    assert "define a `skick_app` fixture" in output, output
    assert "1 error" in output, output


@pytest.mark.skick_both
async def test_the_marker_and_fixtures_here(skick_socket: bool) -> None:
    """This suite loads the plugin too: the marker parametrizes ``skick_socket``."""
    assert isinstance(skick_socket, bool)

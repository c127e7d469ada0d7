"""Skick's pytest plugin: fixtures for the test kit (``skick.testing``).

Installed with ``skick`` (entry point ``pytest11``, plugin name ``skick``; disable it
with ``-p no:skick``). Fixtures:

``skick_app``
    The ``Skick`` app (or ``Directory``) under test. Override it in a conftest.py or
    a test module, or name it in the ini file: ``skick_app = "myproject.app:skick"``.
``skick_kit``
    A running :class:`skick.testing.Kit` for ``skick_app``, closed after the test.
``probe``
    A :class:`skick.testing.Probe` on that kit.
``skick_socket``
    Whether ``skick_kit`` runs over a real socket: ``--skick-socket`` or
    ``SKICK_TEST_SOCKET=1`` turns it on for the whole run; ``@pytest.mark.skick_both``
    runs a test both ways (in memory, then over a socket).
``skick_kit_options``
    Extra ``Kit`` options (``{"rate_limit": 5}``, ``{"timeout": 5}``); ``{}`` unless
    overridden.

The async fixtures are pytest-asyncio fixtures, so they work in its ``auto`` and
``strict`` modes alike (in strict mode, mark the tests ``@pytest.mark.asyncio``).
This module imports nothing from Skick until a fixture runs, so that merely having
the plugin installed costs nothing and hides nothing from coverage.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from skick.testing import Kit, Probe

__all__ = ["SOCKET_ENV"]

SOCKET_ENV = "SKICK_TEST_SOCKET"  # the same switch as skick_ws.testing.SOCKET_ENV
_SAVED_ENV = pytest.StashKey[str | None]()

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - other async plugins (anyio) take plain fixtures
    _async_fixture = pytest.fixture  # type: ignore[assignment]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("skick", "Skick test kit")
    group.addoption(
        "--skick-socket",
        action="store_true",
        default=False,
        help="run the Skick test kits over a real websocket server on 127.0.0.1 "
        f"instead of in memory (as {SOCKET_ENV}=1 does)",
    )
    parser.addini(
        "skick_app",
        "the Skick app (or Directory) of the skick_kit fixture, as 'package.module:name'",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "skick_both: run the test with skick_kit in memory and again over a real socket",
    )
    if config.getoption("skick_socket", False):
        # Kits built directly (not through the fixture) follow the switch too.
        config.stash[_SAVED_ENV] = os.environ.get(SOCKET_ENV)
        os.environ[SOCKET_ENV] = "1"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SAVED_ENV in config.stash:
        saved = config.stash[_SAVED_ENV]
        if saved is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = saved


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "skick_socket" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "skick_both"
    ):
        metafunc.parametrize("skick_socket", [False, True], ids=["memory", "socket"])


def _socket_switch(config: pytest.Config) -> bool:
    if config.getoption("skick_socket", False):
        return True
    return os.environ.get(SOCKET_ENV, "").strip().lower() in ("1", "true", "yes", "socket")


@pytest.fixture
def skick_socket(request: pytest.FixtureRequest) -> bool:
    """Whether ``skick_kit`` runs over a real socket (``--skick-socket``)."""
    param = getattr(request, "param", None)  # parametrized with indirect=True
    if param is not None:
        return param is True or param == "socket"
    return _socket_switch(request.config)


@pytest.fixture
def skick_app(request: pytest.FixtureRequest) -> Any:
    """The app under test: override this fixture, or set the ``skick_app`` ini option."""
    spec = str(request.config.getini("skick_app") or "")
    if not spec:
        pytest.fail(
            "skick_kit needs the app under test: define a `skick_app` fixture returning "
            'your Skick app (or Directory), or set `skick_app = "package.module:name"` '
            "in the pytest configuration",
            pytrace=False,
        )
    module_name, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target


@pytest.fixture
def skick_kit_options() -> dict[str, Any]:
    """Extra options for ``skick_kit`` (override it): ``{}``."""
    return {}


@_async_fixture
async def skick_kit(
    skick_app: Any, skick_socket: bool, skick_kit_options: dict[str, Any]
) -> AsyncIterator[Kit]:
    """A running :class:`skick.testing.Kit` for ``skick_app``."""
    from skick.testing import Kit

    async with Kit(skick_app, socket=skick_socket, **skick_kit_options) as kit:
        yield kit


@_async_fixture
async def probe(skick_kit: Kit) -> Probe:
    """A :class:`skick.testing.Probe` actor on ``skick_kit``."""
    return await skick_kit.probe()

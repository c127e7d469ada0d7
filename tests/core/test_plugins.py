"""Plugin discovery through entry points, and the errors a bad choice produces."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from skick_core import ConfigurationError, Runtime
from skick_core import plugins as plugins_module
from skick_core._memory import MemoryHashBackend, MemoryTransport
from skick_core.plugins import (
    HASHES,
    SERVERS,
    TRANSPORTS,
    available,
    load_hash_backend,
    load_server,
    load_transport,
    server_installed,
)

FAKE: dict[str, list[EntryPoint]] = {
    TRANSPORTS: [
        EntryPoint("fake", "skick_core._memory:MemoryTransport", TRANSPORTS),
        EntryPoint("ghost", "no_such_module_for_skick_tests:Transport", TRANSPORTS),
        EntryPoint("wrong", "skick_core._memory:MemoryHashBackend", TRANSPORTS),
        EntryPoint("notaclass", "skick_core.plugins:available", TRANSPORTS),
    ],
    HASHES: [EntryPoint("fakehash", "skick_core._memory:MemoryHashBackend", HASHES)],
    SERVERS: [],
}


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the installed entry points with :data:`FAKE` (nothing else is visible)."""

    def entry_points(*, group: str) -> list[EntryPoint]:
        return FAKE.get(group, [])

    monkeypatch.setattr(plugins_module, "entry_points", entry_points)


def test_memory_is_built_in() -> None:
    assert "memory" in available(TRANSPORTS)
    assert "memory" in available(HASHES)
    assert load_transport("memory://") is MemoryTransport
    assert load_hash_backend("memory://x") is MemoryHashBackend
    assert available("no.such.group") == []


@pytest.mark.usefixtures("fake_entry_points")
def test_available_lists_builtins_and_entry_points() -> None:
    assert available(TRANSPORTS) == ["fake", "ghost", "memory", "notaclass", "wrong"]
    assert available(HASHES) == ["fakehash", "memory"]
    assert available(SERVERS) == []
    assert server_installed() is False


@pytest.mark.usefixtures("fake_entry_points")
def test_third_party_plugins_load_like_first_party_ones() -> None:
    assert load_transport("fake://host") is MemoryTransport
    assert load_hash_backend("fakehash://host") is MemoryHashBackend


@pytest.mark.usefixtures("fake_entry_points")
@pytest.mark.parametrize(
    ("url", "extra"),
    [("amqp://guest@host", "amqp"), ("amqps://host", "amqp")],
)
def test_missing_transport_names_the_extra(url: str, extra: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_transport(url)
    text = str(info.value)
    assert f'pip install "skick[{extra}]"' in text
    assert "memory" in text  # names what is installed


@pytest.mark.usefixtures("fake_entry_points")
@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://host"])
def test_missing_hash_backend_names_the_extra(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r'pip install "skick\[redis\]"'):
        load_hash_backend(url)
    with pytest.raises(ConfigurationError, match=r'pip install "skick\[redis\]"'):
        Runtime(hashes=url)


@pytest.mark.usefixtures("fake_entry_points")
def test_missing_server_names_the_extra() -> None:
    with pytest.raises(ConfigurationError, match=r'pip install "skick\[ws\]"'):
        load_server()


@pytest.mark.usefixtures("fake_entry_points")
def test_unknown_scheme_names_the_installed_plugins() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_transport("carrier-pigeon://coop")
    text = str(info.value)
    assert "carrier-pigeon" in text
    assert "memory" in text
    assert "pip install" not in text
    with pytest.raises(ConfigurationError):
        Runtime(transport="carrier-pigeon://coop")


@pytest.mark.usefixtures("fake_entry_points")
def test_plugin_that_fails_to_import() -> None:
    with pytest.raises(ConfigurationError, match="failed to import") as info:
        load_transport("ghost://x")
    assert isinstance(info.value.__cause__, ImportError)


@pytest.mark.usefixtures("fake_entry_points")
@pytest.mark.parametrize("scheme", ["wrong", "notaclass"])
def test_plugin_of_the_wrong_kind(scheme: str) -> None:
    with pytest.raises(ConfigurationError, match="Transport subclass"):
        load_transport(f"{scheme}://x")


@pytest.mark.parametrize("url", ["localhost:5672", "", None, 42])
def test_not_a_url(url: object) -> None:
    with pytest.raises(ConfigurationError, match="URL"):
        load_transport(url)  # type: ignore[arg-type]


def test_real_entry_points_are_consistent() -> None:
    """Whatever is installed for real can be listed and loaded by its name."""
    for group in (TRANSPORTS, HASHES):
        for name in available(group):
            loader = load_transport if group == TRANSPORTS else load_hash_backend
            assert isinstance(loader(f"{name}://x"), type)

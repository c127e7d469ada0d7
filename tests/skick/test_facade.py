"""The ``Skick`` facade: options, the websocket-less paths, stop(), isolation, plugin errors."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest

import skick
from skick import (
    Actor,
    ConfigurationError,
    Directory,
    Skick,
    SkickError,
    SpawnError,
)
from skick_core import Shard
from skick_core import plugins as plugins_module
from skick_core.abc import SessionServer
from tests.core.helpers import until
from tests.skick.helpers import WAIT, running, take

Message = dict[str, Any]


@pytest.fixture
def no_ws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend skick-ws is not installed (it is in the test environment)."""
    monkeypatch.setattr(skick._facade, "server_installed", lambda name="websockets": False)
    monkeypatch.setattr(plugins_module, "server_installed", lambda name="websockets": False)


@pytest.fixture
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend no plugin at all is installed: only the built-in ``memory`` remains."""

    def entry_points(*, group: str) -> list[EntryPoint]:
        return []

    monkeypatch.setattr(plugins_module, "entry_points", entry_points)


# ------------------------------------------------------------------ without skick-ws


@pytest.mark.usefixtures("no_ws")
@pytest.mark.parametrize("decorator", ["session", "subsession", "handshake"])
def test_session_declarations_need_skick_ws(decorator: str) -> None:
    app = Skick()
    with pytest.raises(ConfigurationError) as info:
        getattr(app, decorator)("hello")
    assert 'pip install "skick[ws]"' in str(info.value)


@pytest.mark.usefixtures("no_ws")
def test_guide_hello_world_without_skick_ws_fails_clearly() -> None:
    app = Skick()
    with pytest.raises(ConfigurationError, match=r"skick\[ws\]"):

        @app.session("hello")
        def hello_world(inst: Any, message: Message) -> None:
            pass


@pytest.mark.usefixtures("no_ws")
def test_directories_with_sessions_need_skick_ws() -> None:
    with_sessions = Directory()
    with_sessions.session("s")(lambda inst, message: None)
    app = Skick()
    with pytest.raises(ConfigurationError, match=r"skick\[ws\]"):
        app.add_directory(with_sessions)
    actors_only = Directory()
    actors_only.actor("a")(lambda inst, message: None)
    app.add_directory(actors_only)
    assert "a" in app.actors


@pytest.mark.usefixtures("no_ws")
def test_server_options_without_skick_ws() -> None:
    with pytest.raises(ConfigurationError, match=r"skick\[ws\]"):
        Skick(websocket_server=True)
    with pytest.raises(TypeError, match="max_connections"):
        Skick(max_connections=10)


@pytest.mark.usefixtures("no_ws")
async def test_default_skick_without_skick_ws_runs_actors_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_server(*args: Any) -> Any:
        raise AssertionError("no server may be loaded")

    monkeypatch.setattr(skick._facade, "load_server", no_server)
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    app = Skick()

    @app.actor("a")
    def a(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inbox.put({"started": True})

    async with running(app):
        await app.shard.spawn("a")
        assert await take(inbox) == {"started": True}
        assert app.server is None


async def test_websocket_server_false_runs_actor_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_server(*args: Any) -> Any:
        raise AssertionError("no server may be loaded")

    monkeypatch.setattr(skick._facade, "load_server", no_server)
    ran: asyncio.Queue[str] = asyncio.Queue()

    async def on_start(shard: Shard) -> None:
        await ran.put(shard.address)

    app = Skick(on_start=on_start, websocket_server=False)
    async with running(app):
        assert await take(ran) == app.shard.address
        assert app.server is None


# ------------------------------------------------------------------ stop()


async def test_stop_before_start_is_a_harmless_awaitable() -> None:
    app = Skick(websocket_server=False)
    await asyncio.wait_for(app.stop(), WAIT)
    app.stop()  # not awaited: nothing to warn about
    gc.collect()


async def test_stop_is_idempotent_and_waits_for_the_shutdown() -> None:
    stopped: list[str] = []
    app = Skick(websocket_server=False)

    @app.actor("a")
    def a(inst: Actor, message: Message) -> None:
        @inst.on_stop
        async def bye() -> None:
            await asyncio.sleep(0.01)
            stopped.append(inst.address)

    task = asyncio.create_task(app.run())
    await until(lambda: app.runtime.running)
    address = await app.shard.spawn("a")
    first, second = app.stop(), app.stop()
    await asyncio.wait_for(asyncio.gather(first, second), WAIT)
    assert stopped == [address]  # the shutdown ran every on_stop before stop() completed
    assert task.done()
    await asyncio.wait_for(app.stop(), WAIT)  # after the end, still fine
    assert stopped == [address]


async def test_stop_from_inside_an_actor() -> None:
    async def on_start(shard: Shard) -> None:
        await shard.spawn("closer")

    app = Skick(on_start=on_start, websocket_server=False)

    @app.actor("closer")
    def closer(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            app.stop()  # starts the shutdown; not awaited from inside

    await asyncio.wait_for(app.run(), WAIT)  # returns after a clean shutdown


async def test_on_start_that_raises_shuts_down_and_raises() -> None:
    stopped: list[str] = []

    async def on_start(shard: Shard) -> None:
        await shard.spawn("a")
        raise LookupError("startup failed")

    app = Skick(on_start=on_start, websocket_server=False)

    @app.actor("a")
    def a(inst: Actor, message: Message) -> None:
        @inst.on_stop
        async def bye() -> None:
            stopped.append("a")

    with pytest.raises(LookupError):
        await asyncio.wait_for(app.run(), WAIT)
    assert stopped == ["a"]
    assert not app.runtime.running


async def test_a_skick_runs_once() -> None:
    app = Skick(websocket_server=False)
    async with running(app):
        pass
    with pytest.raises(SkickError):
        await asyncio.wait_for(app.run(), WAIT)


# ------------------------------------------------------------------ isolation


async def test_two_instances_share_nothing() -> None:
    one, two = Skick(websocket_server=False), Skick(websocket_server=False)
    inbox: asyncio.Queue[Message] = asyncio.Queue()

    @one.actor("only_in_one")
    def only_in_one(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            inst.register_service("svc")

        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inbox.put({"pong": True})

    async with running(one), running(two):
        assert one.shard.shard_id != two.shard.shard_id
        address = await one.shard.spawn("only_in_one")
        with pytest.raises(SpawnError):
            await two.shard.spawn("only_in_one")
        assert "only_in_one" not in two.actors
        assert one.shard.services.pick("svc") == address
        assert two.shard.services.pick("svc") is None
        # The other instance cannot reach the actor: its address is dead there.
        assert await two.shard.send(address, {"action": "ping"}) is False
        assert await one.shard.send(address, {"action": "ping"})
        assert await take(inbox) == {"pong": True}
        await one.hash("h").set("k", 1)
        assert await two.hash("h").get("k") is None
        assert await one.hash("h").get("k") == 1
        assert one.shard.dead_letters.total == 0
        assert two.shard.dead_letters.total == 1


# ------------------------------------------------------------------ options and plugins


def test_options_reach_the_runtime() -> None:
    app = Skick(
        websocket_server=False,
        conversation_timeout=1.5,
        mailbox_size=7,
        send_timeout=0.3,
        stop_timeout=2.0,
        spawn_timeout=4.0,
        strict=True,
        shard_id="main",
    )
    options = app.runtime.options
    assert (options.conversation_timeout, options.mailbox_size, options.send_timeout) == (
        1.5,
        7,
        0.3,
    )
    assert (options.stop_timeout, options.spawn_timeout, options.strict) == (2.0, 4.0, True)
    assert app.shard.shard_id == "main"
    assert app.shard is app.runtime.shard
    with pytest.raises(ValueError, match="mailbox_size"):
        Skick(websocket_server=False, mailbox_size=0)


async def test_strict_skick_round_trips_through_json() -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    app = Skick(websocket_server=False, strict=True)

    @app.actor("recorder")
    def recorder(inst: Actor, message: Message) -> None:
        @inst.action("record")
        async def record(msg: Message) -> None:
            await inbox.put(msg)

    async with running(app):
        address = await app.shard.spawn("recorder")
        assert await app.shard.send(address, {"action": "record", "pair": (1, 2)})
        assert await take(inbox) == {"action": "record", "pair": [1, 2]}
        assert await app.shard.send(address, {"action": "record", "x": object()}) is False


@pytest.mark.usefixtures("no_plugins")
@pytest.mark.parametrize(
    ("option", "url", "fix"),
    [
        ("message_system", "amqp://user:pwd@rabbit_url:5672", 'pip install "skick[amqp]"'),
        ("message_system", "amqps://rabbit", 'pip install "skick[amqp]"'),
        ("dict_type", "redis://user:pwd@localhost:6379", 'pip install "skick[redis]"'),
        ("dict_type", "rediss://localhost", 'pip install "skick[redis]"'),
    ],
)
def test_missing_backend_plugin_names_the_fix(option: str, url: str, fix: str) -> None:
    kwargs: dict[str, Any] = {option: url}
    with pytest.raises(ConfigurationError) as info:
        Skick(websocket_server=False, **kwargs)
    assert fix in str(info.value)


@pytest.mark.parametrize("option", ["message_system", "dict_type"])
def test_unknown_scheme_is_a_configuration_error(option: str) -> None:
    kwargs: dict[str, Any] = {option: "carrier-pigeon://coop"}
    with pytest.raises(ConfigurationError) as info:
        Skick(websocket_server=False, **kwargs)
    assert "memory" in str(info.value)  # names what is available
    kwargs[option] = "not a url"
    with pytest.raises(ConfigurationError, match="URL"):
        Skick(websocket_server=False, **kwargs)


async def test_memory_urls_are_accepted_explicitly() -> None:
    app = Skick(websocket_server=False, message_system="memory://", dict_type="memory://")
    async with running(app):
        await app.hash("t").set("k", "v")
        assert await app.hash("t")["k"] == "v"


def test_public_api_exports() -> None:
    for name in skick.__all__:
        if name != "SocketQuery":
            assert getattr(skick, name) is not None
    with pytest.raises(AttributeError):
        _ = skick.NoSuchThing


# ------------------------------------------------------------------ the server seam


class FakeServer(SessionServer):
    """A session server plugin that only records what the facade does with it."""

    events: ClassVar[list[str]] = []

    async def start(self) -> None:
        assert self.runtime.running
        FakeServer.events.append(f"start {self.options['host']}:{self.options['port']}")

    async def close(self) -> None:
        FakeServer.events.append("close")


@pytest.fixture
def fake_ws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a session server plugin is installed: :class:`FakeServer`."""
    monkeypatch.setattr(skick._facade, "server_installed", lambda name="websockets": True)
    monkeypatch.setattr(skick._facade, "load_server", lambda name="websockets": FakeServer)
    FakeServer.events = []


@pytest.mark.usefixtures("fake_ws")
async def test_the_server_plugin_is_started_and_closed() -> None:
    app = Skick(
        websocket_host="0.0.0.0", websocket_port=9999, websocket_options={"a": 1}, flood_limit=5
    )

    @app.session("hello")
    def hello(inst: Any, message: Message) -> None:
        pass

    @app.subsession("sub")
    def sub(inst: Any, message: Message) -> None:
        pass

    seq = app.handshake("hs")(hello)
    assert app.sessions["hello"] is hello
    assert app.subsessions["sub"] is sub
    assert app.handshakes == {"hs": seq}
    async with running(app):
        assert FakeServer.events == ["start 0.0.0.0:9999"]
        assert isinstance(app.server, FakeServer)
        assert app.server.directory is app
        assert app.server.runtime is app.runtime
        assert app.server.options["websocket_options"] == {"a": 1}
        assert app.server.options["flood_limit"] == 5
    assert FakeServer.events == ["start 0.0.0.0:9999", "close"]


@pytest.mark.usefixtures("fake_ws")
@pytest.mark.parametrize("value", [False, 0, "off"])
async def test_any_websocket_server_value_disables_the_server(value: Any) -> None:
    app = Skick(websocket_server=value)
    async with running(app):
        assert app.server is None
    assert FakeServer.events == []


def test_run_in_a_thread_skips_signal_handlers() -> None:
    """``run()`` also works in a loop outside the main thread (no signals there)."""
    result: list[str] = []

    def in_thread() -> None:
        async def main() -> None:
            async def on_start(shard: Shard) -> None:
                result.append("started")
                app.stop()

            app = Skick(on_start=on_start, websocket_server=False)
            await asyncio.wait_for(app.run(), WAIT)
            result.append("stopped")

        asyncio.run(main())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(WAIT * 2)
    assert not thread.is_alive()
    assert result == ["started", "stopped"]


def test_socket_query_needs_skick_ws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skick_ws", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"skick\[ws\]"):
        _ = skick.SocketQuery

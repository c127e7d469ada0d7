"""Kit: the test kit for a ``Skick`` app (or a Directory), sessions included when installed."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, Self

from skick_core import Directory, Runtime, RuntimeOptions
from skick_core.exceptions import ConfigurationError
from skick_core.testing import DEFAULT_TIMEOUT, DEFAULT_WITHIN
from skick_core.testing._kit import OnStart

from .._facade import _WS_HINT, Skick

try:
    from skick_ws.testing import SessionKit as _Base

    WS_INSTALLED = True
except ImportError:  # pragma: no cover - skick-ws is part of the test environment
    from skick_core.testing import ActorKit as _Base  # type: ignore[assignment]

    WS_INSTALLED = False

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Kit"]

_RUNTIME_FIELDS = tuple(f.name for f in fields(RuntimeOptions))
_NOT_FOR_TESTS = ("host", "port")  # a test server listens on 127.0.0.1, on a free port


class Kit(_Base):
    """The test kit: run a ``Skick`` app (or a ``Directory``) for one test.

    ::

        async with Kit(skick) as kit:               # in memory: no port, no network
            client = await kit.connect("hello")
            await client.expect({"greeting": ANY})

        async with Kit(skick, socket=True) as kit:  # the same, over a real socket
            ...

    A ``Skick`` app runs as ``skick.start()`` would run it, but private to the
    test: a fresh in-memory runtime with the app's limits (``strict`` on unless
    ``strict=False``), its ``on_start``, and its websocket options (host and port
    aside: a socket-mode kit listens on 127.0.0.1 on a free port). While the kit
    runs, ``skick.hash(…)``, ``skick.shard`` and ``skick.server`` are the kit's; the
    app can be used by any number of kits, one after the other.

    Keyword options override the app's (runtime and server options alike). With
    ``skick-ws`` installed this is a :class:`~skick_ws.testing.SessionKit`;
    without it, an :class:`~skick_core.testing.ActorKit` (no ``connect``).
    """

    def __init__(
        self,
        app: Directory | Runtime | None = None,
        *,
        socket: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        within: float = DEFAULT_WITHIN,
        on_start: OnStart | None = None,
        **options: Any,
    ) -> None:
        self.app = app if isinstance(app, Skick) else None
        server_options: dict[str, Any] = {}
        if isinstance(app, Skick):
            defaults = {name: getattr(app._options, name) for name in _RUNTIME_FIELDS}
            defaults["strict"] = True
            options = {**defaults, **options}
            server_options = {
                k: v for k, v in app.server_options.items() if k not in _NOT_FOR_TESTS
            }
            if on_start is None:
                on_start = app._on_start
        if WS_INSTALLED:
            super().__init__(
                app,
                socket=socket,
                timeout=timeout,
                within=within,
                on_start=on_start,
                server_options=server_options,
                **options,
            )
            return
        if socket:  # pragma: no cover - skick-ws is part of the test environment
            raise ConfigurationError(f"Kit(socket=True): {_WS_HINT}")
        unknown = set(options) - set(_RUNTIME_FIELDS) - {"transport", "hashes", "shard_id"}
        if unknown:  # pragma: no cover
            raise TypeError(f"unexpected options {sorted(unknown)} ({_WS_HINT})")
        super().__init__(app, timeout=timeout, within=within, on_start=on_start, **options)

    async def __aenter__(self) -> Self:
        app = self.app
        if app is not None:
            self._saved: tuple[Any, Any] = (app._runtime, app.server)
            app._runtime = self.runtime
            if WS_INSTALLED:
                app.server = self.server
        try:
            return await super().__aenter__()
        except BaseException:
            self._restore()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            self._restore()

    def _restore(self) -> None:
        if self.app is not None and hasattr(self, "_saved"):
            self.app._runtime, self.app.server = self._saved

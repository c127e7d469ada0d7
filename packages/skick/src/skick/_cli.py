"""``skick run module:attribute``: start a Skick app the way ASGI apps are started."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from skick_core.exceptions import SkickError
from skick_core.plugins import available

from .__about__ import __version__
from ._facade import Skick, _loop_factory

__all__ = ["main"]

logger = logging.getLogger("skick.cli")

_LEVELS = ("critical", "error", "warning", "info", "debug")


class _TargetError(Exception):
    """The app named on the command line cannot be loaded."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skick", description="Run Skick applications.")
    parser.add_argument("--version", action="version", version=f"skick {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the Skick app at module:attribute")
    run.add_argument("target", help="where the app is, e.g. examples.chat:app")
    run.add_argument("--host", help="websocket host (overrides the app's websocket_host)")
    run.add_argument("--port", type=int, help="websocket port (overrides websocket_port)")
    run.add_argument("--message-system", help="transport URL, e.g. amqp://guest:guest@host/")
    run.add_argument("--dict-type", help="hash backend URL, e.g. redis://localhost:6379/0")
    run.add_argument("--log-level", default="info", choices=_LEVELS, help="default: info")
    run.add_argument(
        "--app-dir", default=".", help="directory to import the module from (default: .)"
    )
    return parser


def load_app(target: str, app_dir: str = ".") -> Skick:
    """Import ``module:attribute`` and return the ``Skick`` object it names."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise _TargetError(f"expected module:attribute, got {target!r}")
    sys.path.insert(0, os.path.abspath(app_dir))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _TargetError(f"could not import {module_name!r}: {exc}") from exc
    except Exception as exc:
        raise _TargetError(f"importing {module_name!r} raised {type(exc).__name__}: {exc}") from exc
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise _TargetError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(app, Skick):
        raise _TargetError(f"{target} is a {type(app).__name__}, not a Skick app")
    return app


def _speedups() -> str:
    """The optional speed-ups this process uses (``skick[fast]``)."""
    found = []
    if _loop_factory() is not None:
        found.append("uvloop")
    if not os.environ.get("SKICK_NO_ORJSON") and importlib.util.find_spec("orjson") is not None:
        found.append("orjson")
    return ", ".join(found) or 'none (pip install "skick[fast]")'


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skick`` command and of ``python -m skick``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.log_level != "debug":  # websockets logs every connection and HTTP request at info
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        app = load_app(args.target, args.app_dir)
        app.configure(
            host=args.host,
            port=args.port,
            message_system=args.message_system,
            dict_type=args.dict_type,
        )
    except (_TargetError, SkickError) as exc:
        print(f"skick: error: {exc}", file=sys.stderr)
        return 2
    options = app.server_options
    server = f"ws://{options['host']}:{options['port']}" if app.serves else "no websocket server"
    logger.info(
        "skick %s running %s: %s, transport %s, hash %s; plugins: transports %s, hashes %s, "
        "servers %s; speed-ups: %s",
        __version__,
        args.target,
        server,
        app.message_system or "memory",
        app.dict_type or "memory",
        available("skick.transports"),
        available("skick.hashes"),
        available("skick.servers"),
        _speedups(),
    )
    app.start()
    return 0

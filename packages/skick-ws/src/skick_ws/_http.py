"""Plain HTTP on the websocket port: the browser client and, optionally, static files.

A request that is not a websocket upgrade never reaches the session machinery. It is
answered here, from the server's ``process_request`` hook, before websockets would
refuse it with 426:

- ``GET``/``HEAD /skick.js`` and ``/skick.d.ts``: the client shipped in this package;
- ``GET``/``HEAD`` of any other path: a file under ``static_dir`` when one is
  configured (``/`` and directories serve their ``index.html``), else 404;
- any other method: 405 with ``Allow: GET, HEAD``.

Paths are percent-decoded and resolved under ``static_dir``; ``..``, hidden
components (``.git``) and symbolic links that lead out of the directory are a 404,
as is anything that is not a regular file. Files are read in a worker thread.
Responses carry a content type, ``Content-Length``, an ``ETag`` (304 on a matching
``If-None-Match``), ``Cache-Control: no-cache`` and ``X-Content-Type-Options:
nosniff``; the connection closes after each response (websockets speaks one request
per connection).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import os
from collections.abc import Awaitable
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request

__all__ = ["CLIENT_FILES", "HttpFiles", "is_upgrade"]

logger = logging.getLogger("skick.ws")

CLIENT_FILES: Final = ("skick.js", "skick.d.ts")
"""Files of the package's ``static`` folder served at ``/<name>`` on every server."""

MAX_FILE_SIZE: Final = 16 * 1024 * 1024
"""A larger file is refused (413): this is a convenience server, not a CDN."""

_ALLOW: Final = "GET, HEAD"

CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".ts": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
"""By suffix; anything else is ``application/octet-stream``."""


def is_upgrade(request: Request) -> bool:
    """Whether *request* asks for a websocket (``Upgrade: websocket``)."""
    return any("websocket" in value.lower() for value in request.headers.get_all("Upgrade"))


def content_type(name: str) -> str:
    """The ``Content-Type`` for a file called *name*."""
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream")


class _File:
    """A file read into memory, with what its response needs."""

    __slots__ = ("body", "etag", "type")

    def __init__(self, body: bytes, name: str) -> None:
        self.body = body
        self.type = content_type(name)
        self.etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _client_file(name: str) -> _File:
    body = resources.files("skick_ws").joinpath("static", name).read_bytes()
    return _File(body, name)


class HttpFiles:
    """Answers the plain HTTP requests of one server (see the module docstring)."""

    def __init__(self, static_dir: str | os.PathLike[str] | None) -> None:
        self.root = Path(static_dir).resolve() if static_dir is not None else None
        self._client: dict[str, _File] = {}

    def respond(self, connection: ServerConnection, request: Request) -> Awaitable[Response]:
        """The response to a request that is not a websocket upgrade."""
        return self._respond(connection, request)

    async def _respond(self, connection: ServerConnection, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "HEAD"):
            response = _text(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD are served here")
            response.headers["Allow"] = _ALLOW
            return response
        path = urlsplit(request.path).path
        try:
            found = await self._find(path)
        except _TooLarge:
            return _text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "file too large", method)
        except OSError as exc:  # unreadable (permissions, a race with a deletion, …)
            logger.warning("HTTP %s %s: %s", method, clip_path(path), exc)
            found = None
        if found is None:
            if self.root is None and path == "/":
                # A browser pointed at a bare session server: say what it is.
                response = _text(
                    HTTPStatus.UPGRADE_REQUIRED,
                    "This is a Skick websocket server: connect with a websocket client "
                    "(the browser client is at /skick.js).",
                    method,
                )
                response.headers["Upgrade"] = "websocket"
                return response
            return _text(HTTPStatus.NOT_FOUND, "not found", method)
        if found.etag in _etags(request.headers.get_all("If-None-Match")):
            return _response(HTTPStatus.NOT_MODIFIED, b"", None, found.etag, method)
        return _response(HTTPStatus.OK, found.body, found.type, found.etag, method)

    async def _find(self, path: str) -> _File | None:
        name = path.lstrip("/")
        if name in CLIENT_FILES:
            cached = self._client.get(name)
            if cached is None:
                cached = self._client[name] = _client_file(name)
            return cached
        if self.root is None:
            return None
        target = self._resolve(path)
        if target is None:
            return None
        return await asyncio.to_thread(_read, target)

    def _resolve(self, path: str) -> Path | None:
        """The file *path* names under the root, or None (missing, or not allowed)."""
        root = self.root
        assert root is not None
        try:
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError:
            return None
        if "\x00" in decoded or "\\" in decoded:
            return None
        parts = [part for part in decoded.split("/") if part]
        if any(part.startswith(".") for part in parts):  # "..", ".git", ".env"
            return None
        target = _inside(root, root.joinpath(*parts))
        if target is not None and target.is_dir():
            target = _inside(root, target / "index.html")
        return target


def _inside(root: Path, path: Path) -> Path | None:
    """*path* with its symbolic links resolved, if it exists and stays under *root*."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    return resolved if resolved.is_relative_to(root) else None


class _TooLarge(Exception):
    pass


def _read(target: Path) -> _File | None:
    if not os.path.isfile(target):  # a directory without index.html, a FIFO, a device
        return None
    try:
        with open(target, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_FILE_SIZE:
                raise _TooLarge
            body = file.read(MAX_FILE_SIZE + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if len(body) > MAX_FILE_SIZE:
        raise _TooLarge
    return _File(body, target.name)


def _etags(values: list[str]) -> set[str]:
    tags: set[str] = set()
    for value in values:
        for tag in value.split(","):
            tag = tag.strip()
            tags.add(tag[2:] if tag.startswith("W/") else tag)
    return tags


def clip_path(path: str, limit: int = 80) -> str:
    """A request path shortened for a log line."""
    return path if len(path) <= limit else path[:limit] + "…"


def _response(
    status: HTTPStatus, body: bytes, kind: str | None, etag: str | None, method: str
) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    if etag is not None:
        headers["ETag"] = etag
    if status != HTTPStatus.NOT_MODIFIED:
        headers["Content-Length"] = str(len(body))
        if kind is not None:
            headers["Content-Type"] = kind
    return Response(status.value, status.phrase, headers, b"" if method == "HEAD" else body)


def _text(status: HTTPStatus, text: str, method: str = "GET") -> Response:
    body = f"{status.value} {status.phrase}: {text}\n".encode()
    return _response(status, body, "text/plain; charset=utf-8", None, method)


def base_url(host: str | None, port: int | None, tls: bool) -> str:
    """``http://host:port/`` (``https`` with TLS) as a browser on this machine reaches it.

    A wildcard host (``None``, ``0.0.0.0``, ``::``) is shown as ``localhost``.
    """
    if not host or host in ("0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}/"

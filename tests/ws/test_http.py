"""Plain HTTP on the websocket port: skick.js, a static directory, proper statuses."""

from __future__ import annotations

import asyncio
import logging
import os
from importlib import resources
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from skick_core.exceptions import ConfigurationError
from skick_ws import SessionActor, _http
from skick_ws._http import base_url, content_type
from skick_ws._options import parse_options
from tests.ws.helpers import WAIT, Message, Running, client, make_skick, running


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def http(
    run: Running, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Reply | None:
    """One raw HTTP/1.1 request (the path as is); None when the server sends nothing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", run.port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{run.port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    try:
        raw = await asyncio.wait_for(reader.read(), WAIT)  # the server closes after it
    finally:
        writer.close()
    if not raw:
        return None
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), fields, content)


async def get(run: Running, path: str, **headers: str) -> Reply:
    reply = await http(run, "GET", path, headers)
    assert reply is not None
    return reply


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "app.js").write_text("export const x = 1;")
    (root / "sub" / "index.html").write_text("<p>sub</p>")
    (root / "sub" / "data.json").write_text("{}")
    (root / "logo.png").write_bytes(b"\x89PNG....")
    (root / "blob.bin").write_bytes(b"\x00\x01")
    (root / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("not served")
    os.symlink(tmp_path / "outside.txt", root / "escape.txt")
    os.symlink(root / "app.js", root / "alias.js")
    os.mkfifo(root / "pipe")
    return root


async def test_the_client_is_served_on_every_server() -> None:
    async with running(make_skick()) as run:
        expected = resources.files("skick_ws").joinpath("static", "skick.js").read_bytes()
        reply = await get(run, "/skick.js")
        assert reply.status == 200
        assert reply.body == expected
        assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
        assert reply.headers["content-length"] == str(len(expected))
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert b"export function connect" in reply.body
        types = await get(run, "/skick.d.ts?v=1")  # the query string is ignored
        assert types.status == 200
        assert b"export class Session" in types.body
        # Conditional GET: the ETag gives a 304 without a body.
        again = await get(run, "/skick.js", **{"If-None-Match": reply.headers["etag"]})
        assert again.status == 304
        assert again.body == b""
        # HEAD: the headers of a GET, no body.
        head = await http(run, "HEAD", "/skick.js")
        assert head is not None
        assert head.status == 200
        assert head.headers["content-length"] == str(len(expected))
        assert head.body == b""


async def test_without_a_static_dir_other_paths_are_not_found() -> None:
    async with running(make_skick()) as run:
        root = await get(run, "/")
        assert root.status == 426  # a browser pointed at a bare session server
        assert root.headers["upgrade"] == "websocket"
        assert b"/skick.js" in root.body
        assert (await get(run, "/index.html")).status == 404
        assert (await get(run, "/skick")).status == 404


async def test_a_static_dir_is_served_safely(site: Path) -> None:
    async with running(make_skick(static_dir=site)) as run:
        home = await get(run, "/")
        assert (home.status, home.body) == (200, b"<h1>home</h1>")
        assert home.headers["content-type"] == "text/html; charset=utf-8"
        assert (await get(run, "/index.html")).body == b"<h1>home</h1>"
        sub = await get(run, "/sub/")
        assert (sub.status, sub.body) == (200, b"<p>sub</p>")
        assert (await get(run, "/sub")).body == b"<p>sub</p>"
        assert (await get(run, "/sub/data.json")).headers["content-type"] == "application/json"
        assert (await get(run, "/logo.png")).headers["content-type"] == "image/png"
        blob = await get(run, "/blob.bin")
        assert blob.headers["content-type"] == "application/octet-stream"
        assert (await get(run, "/app%2Ejs")).status == 200  # percent-decoded
        assert (await get(run, "/alias.js")).body == b"export const x = 1;"  # a link inside
        assert (await get(run, "/skick.js")).status == 200  # the client wins over the dir
        for path in (
            "/missing.html",
            "/empty/",  # a directory without index.html
            "/../outside.txt",
            "/sub/../../outside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E%2Foutside.txt",
            "/escape.txt",  # a symbolic link out of the directory
            "/.secret",
            "/sub/.%2e/.secret",
            "/app.js%00.png",
            "/%ff%fe",  # not UTF-8
            "/pipe",  # not a regular file (and reading it would block)
            "/sub\\..\\..\\outside.txt",
        ):
            reply = await get(run, path)
            assert reply.status == 404, path
            assert b"not served" not in reply.body


async def test_other_methods_get_405_and_nothing_crashes(site: Path) -> None:
    async with running(make_skick(static_dir=site)) as run:
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"):
            reply = await http(run, method, "/index.html")
            assert reply is not None
            assert reply.status == 405, method
            assert reply.headers["allow"] == "GET, HEAD"
        # websockets does not read request bodies: it drops the connection unanswered.
        assert await http(run, "POST", "/", {"Content-Length": "3"}, b"abc") is None
        # A request that is not HTTP at all.
        reader, writer = await asyncio.open_connection("127.0.0.1", run.port)
        writer.write(b"\x16\x03\x01garbage\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()
        # The server is fine: pages and sessions still work.
        assert (await get(run, "/")).status == 200
        run.skick.session("ping")(_ping)
        async with client(run, "ping") as c:
            assert await c.ask({"action": "ping"}) == {"pong": True}


def _ping(inst: SessionActor, message: Message) -> None:
    @inst.socket("ping", {"action": "ping"})
    async def ping(msg: Message) -> None:
        await inst.socksend({"pong": True})


async def test_large_files_are_refused(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "MAX_FILE_SIZE", 8)
    async with running(make_skick(static_dir=site)) as run:
        assert (await get(run, "/app.js")).status == 413
        assert (await get(run, "/logo.png")).status == 200  # 8 bytes


async def test_origins_apply_to_upgrades_only(site: Path) -> None:
    async with running(make_skick(static_dir=site)) as run:
        # A page from another origin may load the files (like any web server)…
        assert (await get(run, "/app.js", Origin="http://evil.example")).status == 200
        # …but cannot open a session.
        with pytest.raises(InvalidStatus) as info:
            async with connect(run.url, origin=Origin("http://evil.example"), open_timeout=WAIT):
                pass
        assert info.value.response.status_code == 403
        # The page's own origin can, on any path.
        origin = Origin(f"http://127.0.0.1:{run.port}")
        async with connect(run.url + "/any/path", origin=origin, open_timeout=WAIT) as ws:
            await ws.send('{"session_type": "nope"}')
            assert "unknown_session" in str(await asyncio.wait_for(ws.recv(), WAIT))


async def test_the_listening_line_names_the_urls(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="skick.ws")
    async with running(make_skick(static_dir=site)) as run:
        port = run.port
    async with running(make_skick()) as bare:
        bare_port = bare.port
    lines = [r.getMessage() for r in caplog.records if r.name == "skick.ws"]
    assert (
        f"listening on ws://127.0.0.1:{port} (open http://127.0.0.1:{port}/ in a browser)" in lines
    )
    assert (
        f"listening on ws://127.0.0.1:{bare_port} "
        f"(browser client: http://127.0.0.1:{bare_port}/skick.js)" in lines
    )


def test_base_url() -> None:
    assert base_url("localhost", 8000, False) == "http://localhost:8000/"
    assert base_url(None, 80, False) == "http://localhost:80/"
    assert base_url("0.0.0.0", 1, True) == "https://localhost:1/"
    assert base_url("::1", 2, False) == "http://[::1]:2/"


def test_content_types() -> None:
    assert content_type("a.HTML") == "text/html; charset=utf-8"
    assert content_type("a.mjs") == "text/javascript; charset=utf-8"
    assert content_type("skick.d.ts") == "text/plain; charset=utf-8"
    assert content_type("font.woff2") == "font/woff2"
    assert content_type("README") == "application/octet-stream"


def test_static_dir_is_validated(tmp_path: Path) -> None:
    assert parse_options({"static_dir": tmp_path}).static_dir == tmp_path
    assert parse_options({"static_dir": str(tmp_path)}).static_dir == str(tmp_path)
    with pytest.raises(ConfigurationError, match="is not a directory"):
        parse_options({"static_dir": tmp_path / "missing"})
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match="is not a directory"):
        parse_options({"static_dir": tmp_path / "file"})
    with pytest.raises(ConfigurationError, match="must be a path"):
        parse_options({"static_dir": 42})

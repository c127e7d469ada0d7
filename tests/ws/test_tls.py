"""TLS: the guide's three forms of ``ssl``, a self-signed certificate, a wss:// client."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from skick import Skick
from skick_ws import SessionActor
from tests.ws.helpers import WAIT, Client, Message, make_skick, running

PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, in the forms we need."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key, key_enc = folder / "cert.pem", folder / "key.pem", folder / "key-enc.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [
            "openssl", "pkey", "-in", str(key), "-out", str(key_enc),
            "-aes256", "-passout", f"pass:{PASSWORD}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    combined = folder / "combined.pem"
    combined.write_text(cert.read_text() + key.read_text())
    combined_enc = folder / "combined-enc.pem"
    combined_enc.write_text(cert.read_text() + key_enc.read_text())
    return {"cert": cert, "key": key, "combined": combined, "combined_enc": combined_enc}


def hello(skick: Skick) -> None:
    @skick.session("hello")
    def hello_session(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def on_start() -> None:
            await inst.socksend({"greeting": "hello over TLS"})

        @inst.socket("greet", {"action": "greet"})
        async def greet(msg: Message) -> None:
            await inst.socksend({"greeting": "Hello good sir"})


def server_context(certs: dict[str, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["cert"], certs["key"])
    return context


@pytest.mark.parametrize("form", ["pem", "pem_and_password", "context"])
async def test_wss_with_a_self_signed_certificate(certs: dict[str, Path], form: str) -> None:
    spec: Any = {
        "pem": str(certs["combined"]),
        "pem_and_password": (str(certs["combined_enc"]), PASSWORD),
        "context": server_context(certs),
    }[form]
    skick = make_skick(ssl=spec)
    hello(skick)
    client_context = ssl.create_default_context(cafile=str(certs["cert"]))
    async with running(skick) as run:
        url = f"wss://127.0.0.1:{run.port}"
        async with connect(url, ssl=client_context, open_timeout=WAIT) as ws:
            c = Client(ws)
            await c.send({"session_type": "hello"})
            assert await c.recv() == {"greeting": "hello over TLS"}
            assert await c.ask({"action": "greet"}) == {"greeting": "Hello good sir"}
        # A client that does not trust the certificate cannot connect.
        with pytest.raises(ssl.SSLCertVerificationError):
            async with connect(url, ssl=ssl.create_default_context(), open_timeout=WAIT):
                pass

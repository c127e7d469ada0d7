"""The chat example's page in headless Chromium, served by the Skick server itself.

Two pages join, talk, answer a server query (a poll), and one of them sees the
server close its connection and reconnects (rejoining with the name it sent in the
handshake). A screenshot of each page is left under ``artifacts/browser/``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

if os.environ.get("SKICK_REQUIRE_SERVICES") != "1":  # CI: a missing playwright is a failure
    pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

from playwright.async_api import Browser, Page, async_playwright, expect

from skick import Skick
from tests.browser.conftest import ARTIFACTS, CHROMIUM_ARGS
from tests.ws.helpers import make_skick, running
from tests.ws.test_guide import load_example

TIMEOUT_MS = 10_000
"""Bound of every browser wait."""


async def open_page(browser: Browser, errors: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    return page


async def join(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    await expect(page).to_have_title("Skick chat")
    await page.fill("#name", name)
    await page.click("#join button")
    await expect(page.locator("#status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#room")).to_be_visible()
    await expect(page.locator("#join")).to_be_hidden()
    await expect(info(page, f"{name} joined")).to_be_visible()


def info(page: Page, text: str) -> Any:
    return page.locator("#log li.info", has_text=text)


async def say(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


def said(page: Page, name: str, text: str) -> Any:
    return page.locator(f'#log li.said[data-name="{name}"]', has_text=text)


@pytest.mark.timeout(120)
async def test_the_chat_page_in_chromium(chromium: str, capsys: pytest.CaptureFixture[str]) -> None:
    chat: Any = load_example("chat")
    skick: Skick = make_skick(on_start=chat.on_start, static_dir=chat.STATIC)
    skick.add_directory(chat.app)
    errors: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = [ARTIFACTS / "chat.png", ARTIFACTS / "chat-bob.png"]
    for shot in shots:
        shot.unlink(missing_ok=True)
    async with running(skick) as run, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            url = f"http://127.0.0.1:{run.port}/"
            ann = await open_page(browser, errors)
            bob = await open_page(browser, errors)

            await join(ann, url, "ann")
            (ann_session,) = run.server.sessions  # the server side of ann's connection
            await join(bob, url, "bob")
            await expect(info(ann, "bob joined")).to_be_visible()
            await expect(ann.locator("#members")).to_have_text("In the room: ann, bob")

            # Messages both ways.
            await say(ann, "hello bob")
            await expect(said(bob, "ann", "hello bob")).to_be_visible()
            await say(bob, "hi ann")
            await expect(said(ann, "bob", "hi ann")).to_be_visible()

            # A poll: the server asks each page a SocketQuery; onQuery's Promise answers.
            await say(bob, "/poll pizza tonight?")
            for page, answer in ((ann, "yes"), (bob, "no")):
                card = page.locator('#log li.poll[data-poll="p1"]')
                await expect(card).to_contain_text("bob asks: pizza tonight?")
                await card.locator(f'button[data-answer="{answer}"]').click()
                await expect(card).to_contain_text(f"you answered {answer}")
            for page in (ann, bob):
                tally = page.locator('#log li.votes[data-poll="p1"]')
                await expect(tally).to_have_text("pizza tonight? yes: ann; no: bob")

            # The server closes ann's connection: the page reconnects and rejoins.
            ann_session.close(1012, "service restart")
            await expect(info(ann, "connection closed (1012 service restart)")).to_be_visible()
            await expect(ann.locator("body")).to_have_attribute("data-reconnects", "1")
            await expect(info(ann, "reconnected")).to_be_visible()
            await expect(ann.locator("#status")).to_have_attribute("data-state", "open")
            await expect(info(bob, "ann left")).to_be_visible()
            await expect(info(bob, "ann joined")).to_be_visible()
            assert ann_session not in run.server.sessions
            await say(ann, "back again")
            await expect(said(bob, "ann", "back again")).to_be_visible()
            await expect(said(ann, "ann", "back again")).to_be_visible()

            await ann.screenshot(path=str(shots[0]), full_page=True)
            await bob.screenshot(path=str(shots[1]), full_page=True)
        finally:
            await browser.close()
    assert errors == []
    for shot in shots:
        assert shot.stat().st_size > 10_000
    with capsys.disabled():  # in the test output whatever the capture mode: CI keeps it
        print(f"\nbrowser screenshots (CI artifacts): {', '.join(map(str, shots))}")  # noqa: T201

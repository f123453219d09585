"""A real browser against the console: Debian's ``chromium`` and ``chromium-driver``
(installed by ``scripts/bootstrap.sh --browser``, which ``make test`` runs), headless,
driven by selenium. Skipped, saying why, only where they are not installed.

The console and the API run with the real application in a thread of their own (selenium
blocks), on a fresh database holding the sample configuration, the API tests' accounts and
a few call records. Screenshots go to ``var/screenshots/`` (printed at the end).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr_engine.store.pool import create_pool_for_url
from tests.api.conftest import seed
from tests.console.conftest import NOW, POCHA, add_record, serve

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"


def _browser_binaries() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


class ServerThread:
    """The console served from its own event loop in a thread."""

    def __init__(self, db_url: str, engine_dir: Path | None = None) -> None:
        self.db_url = db_url
        self.engine_dir = engine_dir  # set: the whole engine serves the console
        self.loop = asyncio.new_event_loop()
        self.base = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="console")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        if self.engine_dir is not None:
            await self._engine_main(self.engine_dir)
            return
        from datetime import timedelta

        pool = await create_pool_for_url(self.db_url)
        try:
            await seed(pool)
            await add_record(pool, "c-1")
            await add_record(pool, "c-2", disposition="NO_ANSWER", start=NOW - timedelta(hours=2))
            await add_record(pool, "p-1", number=POCHA, tenant="hongdae-pocha")
            runner, self.base = await serve(pool)
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()
        finally:
            await pool.close()

    async def _engine_main(self, data_dir: Path) -> None:
        """The engine with its simulator: the member and the missed call's caller answer."""
        from ivr_engine.sim import Behaviour
        from tests.api.conftest import PIZZA_MEMBER
        from tests.console.engine import engine_console

        async with engine_console(self.db_url, data_dir) as running:
            running.sim.set_behaviour(PIZZA_MEMBER, Behaviour.answer_after(0.5, talk=None))
            running.sim.set_behaviour("01073912468", Behaviour.answer_after(0.5, talk=2.0))
            self.base = running.base
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            while running.dialer.calls:  # calls the test started end before the engine stops
                await asyncio.wait(list(running.dialer.calls.values()))

    def start(self) -> str:
        self.thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        return self.base

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)


@pytest.fixture
def console_url(db_url: str) -> Iterator[str]:
    server = ServerThread(db_url)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def engine_console_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The console served by a running engine (its simulator places the calls)."""
    server = ServerThread(db_url, engine_dir=tmp_path)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def driver() -> Iterator[object]:
    found = _browser_binaries()
    if found is None:
        pytest.skip(
            "chromium and chromium-driver are not installed and could not be installed "
            "(make test runs scripts/bootstrap.sh --browser, which needs apt-get)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=ko-KR",
    ):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="session")
def shots() -> Iterator[Path]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield SHOTS
    print(f"\nconsole screenshots: {SHOTS}")

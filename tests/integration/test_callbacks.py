"""Callback requests on a real Postgres: register (one pending request per caller and
number), list, assign, complete; and the ``callback`` commands."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.app import open_database
from ivr_engine.commands import callback as commands
from ivr_engine.commands.db import read_document
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.settings import Settings
from ivr_engine.store.callbacks import (
    CallbackStatus,
    assign_callback,
    complete_callback,
    get_callback,
    list_callbacks,
    record_attempt,
    register_callback,
)
from ivr_engine.store.loader import load_document

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
CENTER, GANGNAM = "05053001000", "05051234567"
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_document(pool, read_document(SAMPLE), source=str(SAMPLE))
    return pool


async def register(
    pool: asyncpg.Pool, caller: str, number: str = CENTER, minute: int = 0, **kw: object
) -> int:
    tenant = "haneul-shop" if number == CENTER else "gangnam-pizza"
    return await register_callback(
        pool,
        tenant_id=tenant,
        number=number,
        caller=caller,
        source="menu",
        at=T0.replace(minute=minute),
        **kw,
    )  # type: ignore[arg-type]


async def test_register_stores_the_callers_number(loaded: asyncpg.Pool) -> None:
    request_id = await register(loaded, "+82 10-2000-3000", queue="support")
    request = await get_callback(loaded, request_id)
    assert (
        request.tenant_id,
        request.number,
        request.caller,
        request.source,
        request.queue,
        request.status,
        request.requested_at,
    ) == ("haneul-shop", CENTER, "01020003000", "menu", "support", CallbackStatus.OPEN, T0)
    assert request.masked_caller == "010-20**-30**"


async def test_asking_again_while_pending_counts_a_repeat(loaded: asyncpg.Pool) -> None:
    first = await register(loaded, "010-2000-3000")
    again = await register(loaded, "01020003000", minute=5)
    other_number = await register(loaded, "010-2000-3000", number=GANGNAM)
    assert again == first and other_number != first
    assert (await get_callback(loaded, first)).repeats == 1
    await complete_callback(loaded, first)
    assert await register(loaded, "010-2000-3000", minute=9) not in (first, other_number)


async def test_anonymous_callers_cannot_be_called_back(loaded: asyncpg.Pool) -> None:
    for caller in ("anonymous", "", "not a number"):
        with pytest.raises(ValidationError):
            await register(loaded, caller)
    assert await list_callbacks(loaded) == []


async def test_list_assign_complete(loaded: asyncpg.Pool) -> None:
    older = await register(loaded, "010-2000-3000", minute=1)
    newer = await register(loaded, "010-4000-5000", minute=2)
    pizza = await register(loaded, "010-6000-7000", number=GANGNAM, minute=0)
    assert [r.id for r in await list_callbacks(loaded)] == [pizza, older, newer]
    assert [r.id for r in await list_callbacks(loaded, tenant_id="haneul-shop")] == [older, newer]

    assigned = await assign_callback(loaded, older, "kim")
    assert assigned.status is CallbackStatus.ASSIGNED and assigned.agent == "kim"
    assert assigned.assigned_at is not None
    attempt = await record_attempt(loaded, older, "no_answer")
    assert (attempt.attempts, attempt.last_result) == (1, "no_answer")
    done = await complete_callback(loaded, older, note="주문 변경 안내함")
    assert done.status is CallbackStatus.COMPLETED and done.note == "주문 변경 안내함"
    assert done.completed_at is not None
    assert [r.id for r in await list_callbacks(loaded, tenant_id="haneul-shop")] == [newer]
    every = await list_callbacks(loaded, statuses=tuple(CallbackStatus))
    assert {r.id for r in every} == {older, newer, pizza}

    with pytest.raises(ConflictError, match="already completed"):
        await assign_callback(loaded, older, "lee")
    with pytest.raises(ConflictError, match="already completed"):
        await complete_callback(loaded, older)
    cancelled = await complete_callback(loaded, newer, cancelled=True)
    assert cancelled.status is CallbackStatus.CANCELLED
    with pytest.raises(NotFoundError):
        await assign_callback(loaded, 999999, "kim")
    with pytest.raises(ValidationError):
        await complete_callback(loaded, pizza, note="x" * 1025)


async def test_the_database_refuses_bad_rows(loaded: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await loaded.execute(
            "INSERT INTO callback_requests (tenant_id, number, caller, "
            "source, status) VALUES ('haneul-shop', $1, '0102000', 'menu', "
            "'assigned')",
            CENTER,
        )


def run(argv: list[str], settings: Settings) -> int:
    """Run a ``callback`` command with the test's settings."""
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["callback", *argv])
    args.config = None
    return int(args.func(args))


def test_the_callback_commands(
    settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)

    async def seed() -> int:
        async with open_database(settings_for_db) as db:
            await load_document(db.pool, read_document(SAMPLE), source=str(SAMPLE))
            return await register(db.pool, "010-2000-3000")

    request_id = asyncio.run(seed())
    assert run(["list"], settings_for_db) == 0
    out = capsys.readouterr().out
    assert f"#{request_id}" in out and "010-20**-30**" in out and "01020003000" not in out
    assert "0505-300-1000" in out and out.strip().endswith("1 request(s)")
    assert run(["assign", str(request_id), "kim"], settings_for_db) == 0
    assert "assigned" in capsys.readouterr().out
    assert run(["complete", str(request_id), "--note", "done"], settings_for_db) == 0
    assert "completed" in capsys.readouterr().out
    assert run(["list"], settings_for_db) == 0
    assert capsys.readouterr().out.strip() == "0 request(s)"
    assert run(["list", "--all"], settings_for_db) == 0
    assert "note: done" in capsys.readouterr().out

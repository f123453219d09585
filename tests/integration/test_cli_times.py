"""Every time the command line prints is in the tenant's zone with its offset: callback
requests, callback texts, opt-outs, queue statistics (call records: test_cdr_queries)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import asyncpg
import pytest

from ivr_engine.cli import main
from ivr_engine.commands.times import TenantZones, read_time, show_time
from ivr_engine.settings import Settings
from ivr_engine.store.callbacks import register_callback

AT = datetime(2026, 12, 4, 1, 15, tzinfo=UTC)  # 10:15 in Seoul, 20:15 the day before in New York


@pytest.fixture
def cli_env(settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    return settings_for_db


@pytest.fixture
async def tenants(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO tenants (id, name, timezone, settings) VALUES "
        "('seoul', 's', 'Asia/Seoul', '{\"queues\": [{\"id\": \"support\"}]}'), "
        "('nyc', 'n', 'America/New_York', '{\"queues\": [{\"id\": \"support\"}]}')"
    )
    await pool.execute(
        "INSERT INTO virtual_numbers (number, tenant_id) VALUES "
        "('05051234567', 'seoul'), ('05059876543', 'nyc')"
    )


async def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI (it runs its own event loop) off this test's loop; its output."""
    assert await asyncio.to_thread(main, list(argv)) == 0
    return capsys.readouterr().out


def test_show_time_has_the_zone_and_its_offset() -> None:
    assert show_time(AT, "Asia/Seoul") == "2026-12-04 10:15:00+09:00"
    assert show_time(AT, "America/New_York", seconds=False) == "2026-12-03 20:15-05:00"
    assert show_time(AT.replace(tzinfo=None), "Asia/Seoul") == "2026-12-04 10:15:00+09:00"
    assert show_time(None, "Asia/Seoul") == ""
    zones = TenantZones({"nyc": "America/New_York"}, "Asia/Seoul")
    assert zones.show(AT, "nyc").endswith("-05:00") and zones.show(AT, None).endswith("+09:00")
    assert read_time("2026-12-04T10:15", "Asia/Seoul") == AT
    assert read_time("2026-12-04T01:15+00:00", "Asia/Seoul") == AT


async def test_callback_requests_in_the_tenant_zone(
    cli_env: Settings, pool: asyncpg.Pool, tenants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for tenant, number in (("seoul", "05051234567"), ("nyc", "05059876543")):
        await register_callback(
            pool, tenant_id=tenant, number=number, caller="01020003000", source="menu", at=AT
        )
    out = await _main(capsys, "callback", "list")
    seoul, nyc = (line for line in out.splitlines() if line.startswith("#"))
    assert "2026-12-04 10:15+09:00" in seoul and "seoul" in seoul
    assert "2026-12-03 20:15-05:00" in nyc and "nyc" in nyc


async def test_texts_and_optouts_in_the_tenant_zone(
    cli_env: Settings, pool: asyncpg.Pool, tenants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    await pool.execute(
        """INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, trigger,
        state, kind, body, send_after, send_day) VALUES ('cb:1', 'nyc', '05059876543',
        '01030004000', 'no_answer', 'held', 'sms', '안녕하세요', $1, '2026-12-03')""",
        AT,
    )
    assert "2026-12-03 20:15-05:00" in await _main(capsys, "sms", "list")
    await _main(capsys, "sms", "optout", "add", "seoul", "010-2000-3000")
    await pool.execute("UPDATE sms_optouts SET created_at = $1", AT)
    out = await _main(capsys, "sms", "optout", "list", "seoul")
    assert "010-20**-30**" in out and "2026-12-04 10:15:00+09:00" in out


async def test_queue_stats_period_in_the_tenant_zone(
    cli_env: Settings, tenants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("queue", "stats", "support", "--from", "2026-12-04T09:00", "--to", "2026-12-04T18:00")
    out = await _main(capsys, *argv, "--tenant", "nyc")
    assert "(2026-12-04 09:00:00-05:00 .. 2026-12-04 18:00:00-05:00)" in out
    out = await _main(capsys, *argv, "--tenant", "seoul", "--to", "2026-12-04T18:00+00:00")
    assert re.search(r"\.\. 2026-12-05 03:00:00\+09:00\)", out)


async def test_agent_list_json_in_the_tenant_zone(
    cli_env: Settings, pool: asyncpg.Pool, tenants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    await _main(capsys, "agent", "add", "kim", "--tenant", "nyc", "--endpoint", "PJSIP/kim")
    await pool.execute("UPDATE agents SET state_since = $1", AT)
    (agent,) = json.loads(await _main(capsys, "agent", "list", "--json"))
    assert agent["state_since"] == "2026-12-03 20:15:00-05:00"

"""``ivr-engine sms ...`` through the real entry point against a real database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ivr_engine.cli import main
from ivr_engine.settings import Settings
from ivr_engine.store.pool import connect

SAMPLE = str(Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml")
POLICY = """
callback_sms:
  templates:
    missed: "{business}입니다. 부재중 전화 주셔서 감사합니다."
  approval: manual
  window: "09:00-20:00"
"""


@pytest.fixture
def cli_env(
    settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    assert main(["load", SAMPLE]) == 0
    capsys.readouterr()
    return settings_for_db


def sql(url: str, query: str, *args: object) -> list:
    async def run() -> list:
        conn = await connect(url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def test_policy_set_and_show(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    assert main(["sms", "policy", "set", "--tenant", "gangnam-pizza", "--file", str(path)]) == 0
    capsys.readouterr()
    assert main(["sms", "policy", "show", "0505-123-4567"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["own"] is None
    assert shown["resolved"]["approval"] == "manual"
    assert shown["resolved"]["window"] == "09:00-20:00"
    bad = tmp_path / "bad.yaml"
    bad.write_text("callback_sms: {advertising: true}\n", encoding="utf-8")
    assert main(["sms", "policy", "set", "0505-123-4567", "--file", str(bad)]) == 1
    assert "optout_number" in capsys.readouterr().err


def test_optouts_and_texts(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sms", "optout", "add", "gangnam-pizza", "010-2000-3000"]) == 0
    assert main(["sms", "optout", "list", "gangnam-pizza"]) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and "010-20**-30**" in out and "01020003000" not in out
    url = cli_env.database_url
    (row,) = sql(
        url,
        """INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient,
        trigger, state, kind, body, send_after, send_day) VALUES ('cb:1', 'gangnam-pizza',
        '05051234567', '01030004000', 'no_answer', 'held', 'sms', '안녕하세요', now(),
        current_date) RETURNING id""",
    )
    assert main(["sms", "list", "--state", "held"]) == 0
    assert f"{row['id']:>8}  held" in capsys.readouterr().out
    assert main(["sms", "approve", str(row["id"])]) == 0
    assert sql(url, "SELECT state FROM sms_outbox")[0]["state"] == "queued"
    assert main(["sms", "discard", str(row["id"]), "--reason", "mistake"]) == 0
    assert main(["sms", "resend", str(row["id"])]) == 0
    assert [r["state"] for r in sql(url, "SELECT state FROM sms_outbox ORDER BY id")] == [
        "discarded",
        "queued",
    ]
    assert main(["sms", "purge"]) == 0
    assert "purged 0 text(s)" in capsys.readouterr().out


def test_load_keeps_a_policy_the_file_does_not_mention(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    assert main(["sms", "policy", "set", "--tenant", "gangnam-pizza", "--file", str(path)]) == 0
    number_policy = tmp_path / "number.yaml"
    number_policy.write_text('callback_sms: {window: "10:00-18:00"}\n', encoding="utf-8")
    assert main(["sms", "policy", "set", "0505-123-4567", "--file", str(number_policy)]) == 0
    capsys.readouterr()
    assert main(["load", SAMPLE]) == 0  # the sample has no callback_sms anywhere
    out = capsys.readouterr().out  # nothing to change, no new version
    assert "0 tenant(s) created, 0 updated; 0 number(s) created, 0 updated" in out
    assert main(["sms", "policy", "show", "0505-123-4567"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["own"]["window"] == "10:00-18:00"
    assert shown["resolved"]["approval"] == "manual"
    assert shown["resolved"]["window"] == "10:00-18:00"
    # A file that does declare the key is what the number gets.
    text = Path(SAMPLE).read_text(encoding="utf-8")
    anchor = "        block_anonymous: true\n"
    assert text.count(anchor) >= 1
    declared = text.replace(anchor, anchor + '        callback_sms: {window: "08:00-21:00"}\n', 1)
    with_policy = tmp_path / "with-policy.yaml"
    with_policy.write_text(declared, encoding="utf-8")
    assert main(["load", str(with_policy)]) == 0
    capsys.readouterr()
    assert main(["sms", "policy", "show", "0505-123-4567"]) == 0
    assert json.loads(capsys.readouterr().out)["own"]["window"] == "08:00-21:00"

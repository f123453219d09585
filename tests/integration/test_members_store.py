"""Members, caller IDs and outbound rules in Postgres: loaded with the document, exported
back equal, left alone by a file without them, and ``ivr-engine member list|add|remove``."""

from __future__ import annotations

import asyncpg
import pytest

from ivr_engine.cli import main
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import document_to_data, parse_document
from ivr_engine.domain.members import Member, Role
from ivr_engine.errors import ConfigError, ConflictError, ValidationError
from ivr_engine.settings import Settings
from ivr_engine.store.config_repo import export_document
from ivr_engine.store.loader import load_document
from ivr_engine.store.members import add_member, find_member, outbound_context, tenant_members

YAML = """
tenants:
  - id: acme
    name: 에이스
    caller_ids:
      - {number: 0505-123-4567, verified: true, evidence: 050 가입증명서}
      - {number: 02-333-4444, verified: false}
    members:
      - {name: 김민수, mobile: 010-7777-8888, role: manager, caller_ids: [0505-123-4567]}
      - {name: 이영희, mobile: 010-5555-1234}
    outbound:
      hours: {mon-fri: ["09:00-18:00"]}
      rounding: per_10_seconds
      reset: monthly
    numbers:
      - {number: 0505-123-4567, targets: [010-1111-2222]}
"""


def document(text: str = YAML):  # type: ignore[no-untyped-def]
    return parse_document(load_yaml(text), "<test>")


async def test_loaded_members_export_back_equal_and_reload_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    doc = document()
    report = await load_document(pool, doc, source="<test>")
    assert report.tenants_created == ["acme"]
    exported = await export_document(pool)
    assert document_to_data(exported) == document_to_data(doc)
    again = await load_document(pool, doc, source="<test>")
    assert not again.changed
    ctx = await outbound_context(pool, "+82 10-7777-8888")
    assert (ctx.tenant_id, ctx.member.role, ctx.rules.rounding.unit) == ("acme", Role.MANAGER, 10)
    assert [c.verified for c in ctx.caller_ids] == [True, False]


async def test_a_file_without_members_leaves_them_and_one_with_members_replaces_them(
    pool: asyncpg.Pool,
) -> None:
    await load_document(pool, document(), source="<test>")
    bare = (
        YAML.split("    caller_ids:")[0]
        + "    numbers:\n      - {number: 0505-123-4567, targets: [010-1111-2222]}\n"
    )
    assert not (await load_document(pool, document(bare), source="<test>")).changed
    assert len(await tenant_members(pool, "acme")) == 2
    fewer = YAML.replace("      - {name: 이영희, mobile: 010-5555-1234}\n", "")
    report = await load_document(pool, document(fewer), source="<test>")
    assert report.tenants_updated == ["acme"]
    assert [m.name for m in await tenant_members(pool, "acme")] == ["김민수"]


async def test_an_undeclared_caller_id_refuses_the_load(pool: asyncpg.Pool) -> None:
    bad = YAML.replace("caller_ids: [0505-123-4567]", "caller_ids: [070-1234-5678]")
    with pytest.raises(ConfigError, match=r"members\[0\]\.caller_ids\[0\]"):
        await load_document(pool, document(bad), source="<test>")
    assert await find_member(pool, "010-7777-8888") is None


async def test_add_member_is_checked(pool: asyncpg.Pool) -> None:
    await load_document(pool, document(), source="<test>")
    with pytest.raises(ConflictError, match="already a member"):
        await add_member(pool, "acme", Member("또", "01077778888"))
    with pytest.raises(ValidationError, match="not one of the tenant's caller IDs"):
        await add_member(pool, "acme", Member("박", "01012341234", caller_ids=("07012345678",)))
    with pytest.raises(ValidationError, match="not a mobile"):
        await add_member(pool, "acme", Member("박", "0212345678"))


def test_member_cli(
    settings_for_db: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    path = tmp_path / "c.yaml"
    path.write_text(YAML, encoding="utf-8")
    assert main(["load", str(path)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "member",
                "add",
                "acme",
                "--name",
                "박지성",
                "--mobile",
                "010-2222-3333",
                "--caller-id",
                "0505-123-4567",
            ]
        )
        == 0
    )
    assert (
        "added acme  박지성  010-22**-33**  member  caller IDs 0505-123-4567"
        in capsys.readouterr().out
    )
    assert main(["member", "list", "--tenant", "acme"]) == 0
    out = capsys.readouterr().out
    assert "김민수  010-77**-88**  manager" in out and "3 member(s)" in out
    assert "7777" not in out  # mobiles are masked
    assert main(["member", "remove", "acme", "이영희"]) == 0
    assert main(["member", "remove", "acme", "010-5555-1234"]) == 1  # gone already
    assert main(["member", "list"]) == 0
    assert "2 member(s)" in capsys.readouterr().out

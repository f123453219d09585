"""``/api/v1/calls?format=csv|xlsx``: the files opened (csv, openpyxl) and compared with the
list, times in the tenant zone, masking, and the audit rows of every export."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from ivr_engine.api.call_exports import HEADER
from ivr_engine.domain.records import Disposition as D

from .conftest import PIZZA, ApiServer
from .records import at, record, store

A, B = "01020003000", "01055556666"
NUMERIC = {8, 9, 10, 15}  # ring, talk and whole seconds, hangup cause


async def _seed(api: ApiServer) -> None:
    records = [
        record(f"e{i:04d}", PIZZA, A if i % 2 else B, at(9, i // 60, i % 60), D.ANSWERED)
        for i in range(1200)  # more than one chunk
    ]
    records.append(record("busy1", PIZZA, A, at(18, 0), D.BUSY))
    records.append(record("pocha1", "05059876543", A, at(12), tenant="hongdae-pocha"))
    await store(api.pool, *records)


async def _list_all(client: Any, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    path = f"calls?limit=500&{query}"
    while True:
        status, page, _ = await client.get(path)
        assert status == 200
        items += page["items"]
        if not page["next_cursor"]:
            return items
        path = f"calls?limit=500&{query}&cursor={page['next_cursor']}"


def _cell(value: Any) -> str:
    """A cell as text: numbers alike whether a file keeps 4 or 4.0."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def _expected(item: dict[str, Any]) -> list[str]:
    keys = [h.rsplit("(", 1)[1].rstrip(")") for h in HEADER]
    return [_cell(item.get(key, "")) for key in keys]


async def test_csv_holds_every_matching_record_as_the_list_shows_it(api: ApiServer) -> None:
    await _seed(api)
    owner = await api.as_role("owner")
    status, raw, resp = await owner.get(f"calls?format=csv&number={PIZZA}")
    assert status == 200, raw
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    text = raw.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == HEADER and rows[0][4] == "시작 시각 (start_time)"
    listed = await _list_all(owner, f"number={PIZZA}")
    assert len(rows) - 1 == len(listed) == 1201
    for line, item in zip(rows[1:], listed, strict=True):
        cells = [_cell(float(v)) if i in NUMERIC and v else v for i, v in enumerate(line[:16])]
        assert cells == _expected(item)[:16]
    busy = rows[1]
    assert busy[0] == "busy1" and busy[4] == "2026-11-20T18:00:00+09:00"
    assert busy[3] == "010-20**-30**" and busy[16] == "010-11**-22**:busy:17:4.0"
    assert "pocha1" not in text and "01020003000" not in text
    audit = await api.pool.fetch(
        "SELECT action, tenant_id, detail FROM audit_log WHERE action LIKE 'calls.%' ORDER BY id"
    )
    assert [(a["action"], a["tenant_id"]) for a in audit] == [("calls.export", "gangnam-pizza")]
    assert audit[0]["detail"] == {"format": "csv", "filters": {"number": PIZZA}, "reveal": False}


async def test_xlsx_opens_with_the_same_rows(api: ApiServer) -> None:
    await _seed(api)
    owner = await api.as_role("owner")
    status, raw, resp = await owner.get("calls?format=xlsx&disposition=ANSWERED&reveal=true")
    assert status == 200
    assert resp.headers["Content-Type"].endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(raw), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert tuple(rows[0]) == HEADER
    status, page, _ = await owner.get("calls?disposition=ANSWERED&reveal=true&limit=500")
    assert len(rows) - 1 == 1200
    for line, item in zip(rows[1:501], page["items"], strict=True):
        assert [_cell(v) for v in line[:16]] == _expected(item)[:16]
    assert rows[1][3] == "010-2000-3000"  # revealed
    assert isinstance(rows[1][9], int) and rows[1][9] == 30  # numbers stay numbers
    actions = [
        r["action"]
        for r in await api.pool.fetch(
            "SELECT action FROM audit_log WHERE action LIKE 'calls.%' ORDER BY id"
        )
    ]
    # the export, its reveal, then the list page's reveal
    assert actions == ["calls.export", "calls.reveal", "calls.reveal"]


async def test_exports_need_their_permissions(api: ApiServer) -> None:
    await _seed(api)
    staff = await api.as_role("staff")
    status, raw, _ = await staff.get("calls?format=csv")
    assert status == 200 and b"e0001" in raw and b"pocha1" not in raw
    status, body, _ = await staff.get("calls?format=xlsx&reveal=true")
    assert status == 403 and body["error"]["code"] == "forbidden"
    other = await api.as_role("other")
    status, raw, _ = await other.get("calls?format=csv")
    lines = raw.decode("utf-8-sig").splitlines()
    assert status == 200 and len(lines) == 2 and lines[1].startswith("pocha1,")

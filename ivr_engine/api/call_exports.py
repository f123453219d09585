"""Call records as a file: CSV (UTF-8 with a byte order mark, so Excel reads the Korean)
streamed as it is read, or an Excel ``.xlsx`` workbook (openpyxl, write-only) built in
chunks off the event loop and then streamed.

Both have the same stable columns, each headed in Korean with its English key
(``시작 시각 (start_time)``); times are text in the record's tenant zone with their offset;
callers and forward targets are masked unless revealed.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from openpyxl import Workbook

from ivr_engine.api.call_filters import Shown, local, zone_of
from ivr_engine.api.registry import ApiRequest

COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_id", "통화 ID"),
    ("tenant_id", "고객사"),
    ("number", "050 번호"),
    ("caller", "발신번호"),
    ("start_time", "시작 시각"),
    ("answer_time", "응답 시각"),
    ("connect_time", "연결 시각"),
    ("end_time", "종료 시각"),
    ("ring_seconds", "연결 대기(초)"),
    ("talk_seconds", "통화 시간(초)"),
    ("duration", "전체 시간(초)"),
    ("disposition", "결과"),
    ("closed_state", "미운영 사유"),
    ("answered_target", "받은 번호"),
    ("hangup_by", "종료 주체"),
    ("hangup_cause", "종료 원인 코드"),
    ("attempts", "착신 시도"),
)
HEADER = tuple(f"{ko} ({key})" for key, ko in COLUMNS)
XLSX_MAX_ROWS = 1_048_575  # Excel's rows below the header
CHUNK = 1000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_line(row: Any, shown: Shown, default: ZoneInfo) -> list[Any]:
    """One record as a row of ``COLUMNS`` (None for an empty cell)."""
    zone = zone_of(row, default)
    attempts = ";".join(
        f"{shown.number(a['target'])}:{a['result']}"
        f":{a['cause'] if a['cause'] is not None else ''}:{a['ring_seconds']}"
        for a in row["attempts"] or ()
    )
    caller = row["caller"]
    return [
        row["call_id"],
        row["tenant_id"],
        row["number"],
        shown.number(caller) if caller else "anonymous",
        local(row["start_time"], zone),
        local(row["answer_time"], zone),
        local(row["connect_time"], zone),
        local(row["end_time"], zone),
        row["ring_seconds"],
        row["billsec"],
        row["duration"],
        row["disposition"],
        row["closed_state"],
        shown.number(row["answered_target"]),
        row["hangup_by"],
        row["hangup_cause"],
        attempts,
    ]


def _filename(req: ApiRequest, ext: str) -> str:
    stamp = req.ctx.clock().astimezone(req.ctx.zone).strftime("%Y%m%d-%H%M")
    return f"calls-{stamp}.{ext}"


async def _chunks(rows: AsyncIterator[Any]) -> AsyncIterator[list[Any]]:
    chunk: list[Any] = []
    async for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def stream_csv(
    req: ApiRequest, rows: AsyncIterator[Any], shown: Shown, default: ZoneInfo
) -> tuple[web.StreamResponse, int]:
    """Send the records as CSV while they are read; returns the response and the count."""
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{_filename(req, "csv")}"',
        }
    )
    await resp.prepare(req.request)
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(HEADER)
    count = 0
    async for chunk in _chunks(rows):
        for row in chunk:
            writer.writerow(["" if v is None else v for v in export_line(row, shown, default)])
        count += len(chunk)
        await resp.write(out.getvalue().encode("utf-8"))
        out.seek(0)
        out.truncate()
    await resp.write(out.getvalue().encode("utf-8"))
    await resp.write_eof()
    return resp, count


def _sheet() -> tuple[Workbook, Any]:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("통화 기록 calls")
    sheet.append(list(HEADER))
    return book, sheet


def _append(sheet: Any, lines: list[list[Any]]) -> None:
    for line in lines:
        sheet.append(line)


async def send_xlsx(
    req: ApiRequest, rows: AsyncIterator[Any], shown: Shown, default: ZoneInfo
) -> tuple[web.StreamResponse, int]:
    """Build the workbook in chunks (each written off the event loop), then send it;
    returns the response and the count (at most Excel's row limit)."""
    book, sheet = await asyncio.to_thread(_sheet)
    count = 0
    async for chunk in _chunks(rows):
        lines = [export_line(r, shown, default) for r in chunk][: XLSX_MAX_ROWS - count]
        await asyncio.to_thread(_append, sheet, lines)
        count += len(lines)
        if count >= XLSX_MAX_ROWS:
            break
    with tempfile.TemporaryFile() as fh:
        await asyncio.to_thread(book.save, fh)
        size = fh.tell()
        fh.seek(0)
        resp = web.StreamResponse(
            headers={
                "Content-Type": XLSX_TYPE,
                "Content-Disposition": f'attachment; filename="{_filename(req, "xlsx")}"',
                "Content-Length": str(size),
            }
        )
        await resp.prepare(req.request)
        while block := await asyncio.to_thread(fh.read, 1 << 16):
            await resp.write(block)
    await resp.write_eof()
    return resp, count

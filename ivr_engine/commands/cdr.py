"""``ivr-engine cdr list | stats | export``: call history, per-number statistics, CSV.

Callers and forward targets are masked in everything printed (and in exports unless
``--unmasked``); virtual numbers, the business's own, are shown in full. Times are shown in
each record's tenant zone with the offset (``commands.times``). Times typed without an
offset, and dates, are read in the engine's zone (setting ``timezone``); statistics group
by day or hour in each number's tenant zone.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from ivr_engine.app import open_database
from ivr_engine.commands.times import TenantZones, tenant_zones
from ivr_engine.domain.numbers import format_number, mask, normalize
from ivr_engine.domain.records import Disposition
from ivr_engine.errors import ValidationError
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.cdr_queries import CdrFilter, CdrStats, export_records, list_records, stats

LIST_COLUMNS = (
    "start",
    "number",
    "caller",
    "disposition",
    "ring_s",
    "talk_s",
    "duration_s",
    "answered_by",
    "hangup_by",
    "call_id",
)
EXPORT_COLUMNS = (
    "call_id",
    "uniqueid",
    "linkedid",
    "tenant_id",
    "number",
    "caller",
    "caller_raw",
    "start_time",
    "ring_time",
    "answer_time",
    "connect_time",
    "end_time",
    "ring_seconds",
    "billsec",
    "duration",
    "disposition",
    "closed_state",
    "asterisk_disposition",
    "answered_target",
    "hangup_by",
    "hangup_cause",
    "plan_state",
    "config_version",
    "node",
    "attempts",
)
_PRIVATE = {"caller", "caller_raw", "answered_target"}


def parse_when(text: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """An ISO date or time; a date is its midnight (``end``: the next midnight, so the day
    is included); no offset means ``tz``."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date() + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tz)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date or time such as 2026-11-20 or 2026-11-20T12:00",
            "--to" if end else "--from",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=tz)


def build_filter(args: argparse.Namespace, tz: ZoneInfo) -> CdrFilter:
    """The record filter from the command's options."""
    disposition = getattr(args, "disposition", None)
    if disposition:
        name = disposition.upper().replace(" ", "_")
        if name not in Disposition.__members__:
            raise ValidationError(
                f"unknown disposition {disposition!r}; one of {', '.join(Disposition.__members__)}",
                "--disposition",
            )
    caller = getattr(args, "caller", None)
    return CdrFilter(
        start=parse_when(args.start, tz) if args.start else None,
        end=parse_when(args.end, tz, end=True) if args.end else None,
        number=normalize(args.number) if args.number else None,
        caller=normalize(caller) if caller else None,
        disposition=Disposition[name] if disposition else None,
    )


def list_rows(records: Iterable[Any], zones: TenantZones) -> list[tuple[str, ...]]:
    """Call history rows as printed (masked callers and targets; start times in the
    tenant's zone, with the offset)."""
    rows: list[tuple[str, ...]] = []
    for r in records:
        disposition = r["disposition"] + (f" ({r['closed_state']})" if r["closed_state"] else "")
        caller = r["caller"] or r["caller_raw"]
        rows.append(
            (
                zones.show(r["start_time"], r["tenant_id"]),
                format_number(r["number"]),
                mask(caller) if caller else "anonymous",
                disposition,
                f"{r['ring_seconds']:.1f}",
                str(r["billsec"]),
                str(r["duration"]),
                mask(r["answered_target"]) if r["answered_target"] else "",
                r["hangup_by"] or "",
                r["call_id"],
            )
        )
    return rows


def _fmt(value: float | None, pattern: str = "{:.1f}") -> str:
    return "" if value is None else pattern.format(value)


def stats_rows(items: Sequence[CdrStats]) -> list[tuple[str, ...]]:
    """Statistics rows as printed."""
    return [
        (
            format_number(s.number),
            f"{s.period:02d}:00" if isinstance(s.period, int) else str(s.period),
            str(s.offered),
            str(s.answered),
            str(s.missed),
            _fmt(None if s.answer_rate is None else s.answer_rate * 100, "{:.1f}%"),
            _fmt(s.avg_ring_seconds),
            _fmt(s.avg_talk_seconds),
            str(s.closed),
            str(s.blocked),
        )
        for s in items
    ]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [tuple(header), *rows]
    ]
    return "\n".join(lines)


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and rows as CSV; returns the number of rows."""
    w = csv.writer(out)
    w.writerow(header)
    count = 0
    for row in rows:
        w.writerow(row)
        count += 1
    return count


def export_row(r: Any, unmasked: bool, zones: TenantZones) -> list[Any]:
    """One export line: every column, callers and targets masked unless ``unmasked``, times
    in ISO 8601 in the tenant's zone."""
    row = []
    for col in EXPORT_COLUMNS:
        value = r[col]
        if col in _PRIVATE and value and not unmasked:
            value = mask(value)
        elif col == "attempts":
            value = ";".join(
                f"{a['target'] if unmasked else mask(a['target'])}:{a['result']}"
                f":{a['cause'] if a['cause'] is not None else ''}"
                f":{a['ring_seconds']}"
                for a in value
            )
        elif isinstance(value, datetime):
            value = value.astimezone(zones.of(r["tenant_id"])).isoformat()
        row.append("" if value is None else value)
    return row


async def list_command(settings: Settings, args: argparse.Namespace) -> str:
    """The ``cdr list`` output."""
    tz = settings.tz
    flt = build_filter(args, tz)
    async with open_database(settings, max_size=1) as db:
        zones = await tenant_zones(db.pool, settings.timezone)
        rows = list_rows(await list_records(db.pool, flt, args.limit), zones)
    if args.csv:
        out = io.StringIO()
        write_csv(out, LIST_COLUMNS, rows)
        return out.getvalue().rstrip("\n")
    return render_table(LIST_COLUMNS, rows) + f"\n{len(rows)} call(s)"


async def stats_command(settings: Settings, args: argparse.Namespace) -> str:
    """The ``cdr stats`` output."""
    flt = build_filter(args, settings.tz)
    async with open_database(settings, max_size=1) as db:
        items = await stats(db.pool, flt, by=args.by, default_zone=settings.timezone)
    header = (
        "number",
        args.by,
        "offered",
        "answered",
        "missed",
        "answer_rate",
        "avg_ring_s",
        "avg_talk_s",
        "closed",
        "blocked",
    )
    if args.csv:
        out = io.StringIO()
        write_csv(out, header, stats_rows(items))
        return out.getvalue().rstrip("\n")
    return render_table(header, stats_rows(items))


async def export_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write the period's records to the CSV file; returns how many."""
    flt = build_filter(args, settings.tz)
    path = Path(args.csv)
    tmp = path.with_name(path.name + ".part")
    count = 0
    async with open_database(settings, max_size=1) as db:
        zones = await tenant_zones(db.pool, settings.timezone)
        with open(tmp, "w", newline="", encoding="utf-8") as fh:  # noqa: ASYNC230
            w = csv.writer(fh)
            w.writerow(EXPORT_COLUMNS)
            async for r in export_records(db.pool, flt):
                w.writerow(export_row(r, args.unmasked, zones))
                count += 1
    tmp.replace(path)
    return count


def _list(args: argparse.Namespace) -> int:
    print(asyncio.run(list_command(load_settings(args.config), args)))
    return 0


def _stats(args: argparse.Namespace) -> int:
    print(asyncio.run(stats_command(load_settings(args.config), args)))
    return 0


def _export(args: argparse.Namespace) -> int:
    count = asyncio.run(export_command(load_settings(args.config), args))
    print(f"{count} call record(s) written to {args.csv}", file=sys.stderr)
    return 0


def _period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", help="first day or time (engine zone)")
    p.add_argument("--to", dest="end", help="last day (included) or end time (excluded)")
    p.add_argument("--number", help="one virtual number")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cdr list``, ``cdr stats`` and ``cdr export``."""
    cdr = subparsers.add_parser("cdr", help="call records: history, statistics, CSV export")
    sub = cdr.add_subparsers(dest="cdr_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="call history, newest first (callers masked)")
    _period(p)
    p.add_argument("--caller", help="one calling number")
    p.add_argument("--disposition", help="ANSWERED, NO_ANSWER, BUSY, ABANDONED, CLOSED, ...")
    p.add_argument("--limit", type=int, default=50, help="at most this many calls (50)")
    p.add_argument("--csv", action="store_true", help="CSV on standard output")
    p.set_defaults(func=_list)
    p = sub.add_parser("stats", help="per number and day (or hour): offered, answered, ...")
    _period(p)
    p.add_argument("--by", choices=("day", "hour"), default="day")
    p.add_argument("--csv", action="store_true", help="CSV on standard output")
    p.set_defaults(func=_stats)
    p = sub.add_parser("export", help="every record of the period to a CSV file")
    _period(p)
    p.add_argument("--csv", required=True, metavar="FILE", help="the file to write")
    p.add_argument(
        "--unmasked",
        action="store_true",
        help="full caller and target numbers (the file holds personal data)",
    )
    p.set_defaults(func=_export)

"""Statistics over call records and queue stays for the admin API, inside a ``Reach``:

- per number and per day or hour (in each tenant's zone): offered, answered, closed,
  blocked, ring and talk sums, and the ad effect: calls, unique callers and first-time
  callers (their first call ever to that number fell in that day or hour);
- per queue and per day or hour: the finished stays (outcome, wait, talk) that
  ``domain.acd.queue_stats`` turns into service level, abandons and waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr_engine.domain.access import Reach
from ivr_engine.domain.acd import CallOutcome, QueueCallFact
from ivr_engine.store.executor import Executor
from ivr_engine.store.records_search import Params, reach_conditions

BUCKETS = ("day", "hour")


@dataclass(frozen=True)
class NumberPeriod:
    """One number in one day or hour."""

    number: str
    tenant_id: str | None
    period: date | datetime  # the day, or the hour's start (aware, tenant zone)
    calls: int  # every call, blocked ones too
    offered: int  # every call but blocked callers'
    answered: int
    closed: int
    blocked: int
    ring_count: int  # calls that rang a target
    ring_sum: float
    talk_sum: float
    unique_callers: int
    first_time_callers: int

    @property
    def missed(self) -> int:
        """Offered calls not answered (closed ones included)."""
        return self.offered - self.answered

    @property
    def answer_rate(self) -> float | None:
        """answered / offered (None when nothing was offered)."""
        return self.answered / self.offered if self.offered else None

    @property
    def avg_ring(self) -> float | None:
        """Average ring seconds of the calls that rang."""
        return self.ring_sum / self.ring_count if self.ring_count else None

    @property
    def avg_talk(self) -> float | None:
        """Average talk seconds of answered calls."""
        return self.talk_sum / self.answered if self.answered else None


def _period(bucket: datetime, by: str, zone: str) -> date | datetime:
    if by == "day":
        return bucket.date()
    return bucket.replace(tzinfo=ZoneInfo(zone))


def _base(
    reach: Reach, p: Params, alias: str, column: str, start: datetime, end: datetime
) -> list[str]:
    conds = reach_conditions(reach, p, alias)
    conds.append(f"{alias}.{column} >= {p(start, 'timestamptz')}")
    conds.append(f"{alias}.{column} < {p(end, 'timestamptz')}")
    return conds


async def number_stats(
    db: Executor,
    reach: Reach,
    *,
    by: str,
    start: datetime,
    end: datetime,
    number: str | None = None,
    tenant_id: str | None = None,
    default_zone: str = "Asia/Seoul",
) -> list[NumberPeriod]:
    """Per number and day (or hour) of [start, end), by number then period."""
    if by not in BUCKETS:
        raise ValueError(f"by must be day or hour, not {by!r}")
    p = Params()
    conds = _base(reach, p, "r", "start_time", start, end)
    conds.append("r.direction = 'inbound'")  # outbound calls are the members', not offered
    if number is not None:
        conds.append(f"r.number = {p(number)}")
    if tenant_id is not None:
        conds.append(f"r.tenant_id = {p(tenant_id)}")
    zone, unit, since = p(default_zone), p(by), p(start, "timestamptz")
    sql = f"""
WITH r AS (
  SELECT r.number, r.tenant_id, r.caller, r.disposition, r.ring_time, r.ring_seconds,
         r.billsec, coalesce(t.timezone, {zone}) AS tz,
         date_trunc({unit}, r.start_time AT TIME ZONE coalesce(t.timezone, {zone})) AS bucket
  FROM call_records r LEFT JOIN tenants t ON t.id = r.tenant_id
  WHERE {" AND ".join(conds)}
), agg AS (
  SELECT number, tenant_id, tz, bucket, count(*) AS calls,
         count(*) FILTER (WHERE disposition <> 'BLOCKED') AS offered,
         count(*) FILTER (WHERE disposition = 'ANSWERED') AS answered,
         count(*) FILTER (WHERE disposition = 'CLOSED') AS closed,
         count(*) FILTER (WHERE disposition = 'BLOCKED') AS blocked,
         count(*) FILTER (WHERE ring_time IS NOT NULL) AS ring_count,
         coalesce(sum(ring_seconds) FILTER (WHERE ring_time IS NOT NULL), 0) AS ring_sum,
         coalesce(sum(billsec) FILTER (WHERE disposition = 'ANSWERED'), 0) AS talk_sum,
         count(DISTINCT caller) FILTER (WHERE caller <> '') AS unique_callers
  FROM r GROUP BY number, tenant_id, tz, bucket
), firsts AS (
  SELECT f.number, f.tenant_id, min(f.bucket) AS bucket FROM r f WHERE f.caller <> ''
  GROUP BY f.number, f.tenant_id, f.caller
  HAVING NOT EXISTS (SELECT 1 FROM call_records p WHERE p.number = f.number
                     AND p.direction = 'inbound'
                     AND p.caller = f.caller AND p.start_time < {since})
)
SELECT agg.*, coalesce((SELECT count(*) FROM firsts
                        WHERE firsts.number = agg.number AND firsts.bucket = agg.bucket
                          AND firsts.tenant_id IS NOT DISTINCT FROM agg.tenant_id), 0)
       AS first_time
FROM agg ORDER BY number, bucket"""
    rows = await db.fetch(sql, *p.values)
    return [
        NumberPeriod(
            r["number"],
            r["tenant_id"],
            _period(r["bucket"], by, r["tz"]),
            r["calls"],
            r["offered"],
            r["answered"],
            r["closed"],
            r["blocked"],
            r["ring_count"],
            float(r["ring_sum"]),
            float(r["talk_sum"]),
            r["unique_callers"],
            r["first_time"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class QueueFacts:
    """The finished stays of one queue in one day or hour."""

    tenant_id: str
    queue_id: str
    period: date | datetime
    facts: list[QueueCallFact]


async def queue_facts(
    db: Executor,
    reach: Reach,
    *,
    by: str,
    start: datetime,
    end: datetime,
    queue: str | None = None,
    tenant_id: str | None = None,
    default_zone: str = "Asia/Seoul",
) -> list[QueueFacts]:
    """Finished queue stays of [start, end) (by entry), grouped per tenant, queue and day
    (or hour), in that order."""
    if by not in BUCKETS:
        raise ValueError(f"by must be day or hour, not {by!r}")
    p = Params()
    conds = _base(reach, p, "q", "entered_at", start, end)
    conds.append("q.outcome IS NOT NULL AND q.left_at IS NOT NULL")
    if queue is not None:
        conds.append(f"q.queue_id = {p(queue)}")
    if tenant_id is not None:
        conds.append(f"q.tenant_id = {p(tenant_id)}")
    zone, unit = p(default_zone), p(by)
    sql = (
        f"SELECT q.tenant_id, q.queue_id, q.outcome, coalesce(t.timezone, {zone}) AS tz, "
        f"date_trunc({unit}, q.entered_at AT TIME ZONE coalesce(t.timezone, {zone})) AS bucket, "
        "extract(epoch FROM q.left_at - q.entered_at)::float8 AS wait, "
        "coalesce(extract(epoch FROM q.ended_at - q.answered_at), 0)::float8 AS talk "
        f"FROM queue_calls q LEFT JOIN tenants t ON t.id = q.tenant_id WHERE {' AND '.join(conds)} "
        "ORDER BY q.tenant_id, q.queue_id, bucket"
    )
    groups: dict[tuple[str, str, Any], QueueFacts] = {}
    for r in await db.fetch(sql, *p.values):
        key = (r["tenant_id"], r["queue_id"], r["bucket"])
        if key not in groups:
            groups[key] = QueueFacts(key[0], key[1], _period(r["bucket"], by, r["tz"]), [])
        groups[key].facts.append(QueueCallFact(CallOutcome(r["outcome"]), r["wait"], r["talk"]))
    return list(groups.values())

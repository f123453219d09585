"""Callback texts decided and written with their call records, in the same transaction.

``SmsOutbox`` is a CDR writer companion: ``writer.add_companion(SmsOutbox(...))``. For each
batch of newly stored records it loads the numbers' policies, locks those numbers (so caps
and duplicates count right across engine instances), reads what was texted before, runs the
pure ``domain.sms_rules.decide`` per record (counting the batch's own texts as it goes) and
inserts one outbox row per text due or suppressed. The row's idempotency key is
``cb:<call_id>``, so a batch written again never adds a second text.

The work runs in a savepoint: a fault in it is logged and counted but never costs the call
records; a lost connection still fails the whole transaction (records and texts together).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import asyncpg

from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.records import CallRecord
from ivr_engine.domain.sms_rules import Action, CallFacts, Decision, HistoryFacts, decide
from ivr_engine.sms.stats import COUNTERS, SmsCounters, utc_now
from ivr_engine.store.config_repo import fetch_number_config
from ivr_engine.store.queries import queries

log = logging.getLogger(__name__)

TRANSIENT = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


class ConfigLookup(Protocol):
    """Where resolved number configurations come from (e.g. the ConfigCache)."""

    async def get(self, number: str) -> NumberConfig | None:
        """The number's configuration, None when unknown."""
        ...


def idempotency_key(call_id: str) -> str:
    """The key of a call's callback text (one per call)."""
    return f"cb:{call_id}"


def call_facts(record: CallRecord) -> CallFacts:
    """What the rules need from a call record."""
    return CallFacts(
        call_id=record.call_id,
        number=record.number,
        caller=party(record),
        disposition=record.disposition.value,
        started=record.start_time,
        ended=record.end_time,
        duration=float(record.duration),
        outbound=record.direction == "outbound",
    )


def party(record: CallRecord) -> str:
    """Whom a callback text goes to: the caller, or the customer an outbound call reached."""
    if record.direction == "outbound":
        return record.destination or ""
    return record.caller


@dataclass
class _Batch:
    """History facts of one batch, updated as its texts are decided."""

    pairs: dict[tuple[str, str], HistoryFacts]
    per_number: dict[str, dict[date, int]]

    def facts(self, number: str, caller: str) -> HistoryFacts:
        return replace(
            self.pairs.get((number, caller), HistoryFacts()),
            number_counts=self.per_number.get(number, {}),
        )

    def count(self, number: str, caller: str, decision: Decision, when: datetime) -> None:
        after = self.facts(number, caller).counted(decision, when)
        self.pairs[(number, caller)] = after
        self.per_number[number] = dict(after.number_counts)


def outbox_row(record: CallRecord, config: NumberConfig, decision: Decision) -> tuple[Any, ...]:
    """The ``sms_insert`` values of one decision (a text due, held or suppressed)."""
    message = decision.message
    state = "suppressed"
    if decision.queued:
        state = "held" if decision.needs_approval else "queued"
    send_at = decision.send_at or record.end_time
    day = decision.send_day or send_at.astimezone(ZoneInfo(config.timezone)).date()
    return (
        idempotency_key(record.call_id),
        config.tenant_id,
        config.number,
        party(record),
        record.call_id,
        decision.trigger.value if decision.trigger else "",
        state,
        None if decision.queued else str(decision.reason),
        message.kind.value if message else None,
        message.subject if message else None,
        message.body if message else None,
        message.image if message else None,
        decision.advertising,
        send_at,
        day,
    )


class SmsOutbox:
    """The CDR writer companion that writes callback texts (see the module docstring)."""

    def __init__(
        self,
        configs: ConfigLookup | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        counters: SmsCounters = COUNTERS,
    ) -> None:
        self.configs = configs
        self.clock = clock
        self.counters = counters
        self.decisions: Counter[str] = Counter()  # action -> count, for tests and logs

    async def __call__(self, conn: asyncpg.Connection, records: Sequence[CallRecord]) -> None:
        """Decide and write the texts of a batch of newly stored call records."""
        try:
            configs = await self._configs(conn, records)
            todo = [(r, configs[r.number]) for r in records if r.number in configs]
            if todo:
                async with conn.transaction():
                    await self._write(conn, todo)
        except TRANSIENT:
            raise
        except Exception:
            self.counters.errors += 1
            log.exception(
                "callback texts of %d call record(s) could not be decided; "
                "the records are stored without texts",
                len(records),
            )

    async def _configs(
        self, conn: asyncpg.Connection, records: Sequence[CallRecord]
    ) -> dict[str, NumberConfig]:
        """The configurations of the batch's numbers that have a callback policy."""
        # ``is not None``: an empty ConfigCache is falsy (it has ``__len__``), and it is
        # empty right after a change drops its entries; it must still be asked.
        get: Callable[[str], Awaitable[NumberConfig | None]]
        get = (lambda n: fetch_number_config(conn, n)) if self.configs is None else self.configs.get
        out = {}
        for number in {r.number for r in records if r.tenant_id}:
            config = await get(number)
            if config is not None and config.callback_sms is not None:
                out[number] = config
        return out

    async def _history(
        self, conn: asyncpg.Connection, todo: list[tuple[CallRecord, NumberConfig]], since: date
    ) -> _Batch:
        """What was texted before, for every (number, caller) of the batch."""
        q = queries()
        rows = await conn.fetch(
            q["sms_caller_history"],
            [c.tenant_id for _, c in todo],
            [c.number for _, c in todo],
            [party(r) for r, _ in todo],
            since,
        )
        pairs: dict[tuple[str, str], HistoryFacts] = {}
        for row in rows:
            record, _ = todo[row["idx"] - 1]
            days = Counter(date.fromisoformat(d) for d in row["days"])
            pairs[(record.number, party(record))] = HistoryFacts(
                opted_out=row["opted_out"],
                excluded=row["excluded"],
                last_texted=row["last_texted"],
                caller_counts=dict(days),
            )
        per_number: dict[str, dict[date, int]] = {}
        numbers = sorted({c.number for _, c in todo})
        for row in await conn.fetch(q["sms_number_counts"], numbers, since):
            per_number.setdefault(row["number"], {})[row["send_day"]] = int(row["n"])
        return _Batch(pairs, per_number)

    async def _write(
        self, conn: asyncpg.Connection, todo: list[tuple[CallRecord, NumberConfig]]
    ) -> None:
        """Lock the numbers, decide every text, insert the rows."""
        now = self.clock()
        await conn.execute(queries()["sms_lock_numbers"], sorted({c.number for _, c in todo}))
        batch = await self._history(conn, todo, (now - timedelta(days=2)).date())
        rows = []
        for record, config in todo:
            decision = decide(
                config, call_facts(record), batch.facts(record.number, party(record)), now
            )
            self.decisions[decision.action.value] += 1
            if decision.action is Action.DROP:
                continue
            batch.count(record.number, party(record), decision, decision.send_at or now)
            if decision.action is Action.SUPPRESS:
                self.counters.suppressed[str(decision.reason)] += 1
                log.info(
                    "callback text for call %s to %s suppressed: %s",
                    record.call_id,
                    mask(party(record)),
                    decision.reason,
                )
            rows.append(outbox_row(record, config, decision))
        if rows:
            await conn.execute(
                queries()["sms_insert"], *(list(col) for col in zip(*rows, strict=True))
            )

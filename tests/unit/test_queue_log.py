"""queue_log lines in Asterisk's format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr_engine.domain.queue_log import (
    QueueEvent,
    QueueLogEntry,
    data_fields,
    event_data,
    format_line,
    parse_line,
)


def test_lines_like_asterisk_writes_them() -> None:
    assert format_line(
        1740000000,
        "1740000000.17",
        "support",
        "PJSIP/kim",
        QueueEvent.CONNECT,
        ("12", "1740000000.18", "3"),
    ) == ("1740000000|1740000000.17|support|PJSIP/kim|CONNECT|12|1740000000.18|3")
    assert format_line(1740000000, "NONE", "NONE", "PJSIP/kim", QueueEvent.ADDMEMBER) == (
        "1740000000|NONE|NONE|PJSIP/kim|ADDMEMBER|"
    )


def test_separator_and_newlines_cannot_break_a_line() -> None:
    line = format_line(1, "c", "q|x", "a", QueueEvent.PAUSE, ("lunch|break\nnow",))
    assert line == "1|c|q_x|a|PAUSE|lunch_break now"
    assert len(line.splitlines()) == 1


def test_event_data_arity_is_checked() -> None:
    assert event_data(QueueEvent.EXITWITHKEY, "1", 2, 3, 40) == ("1", "2", "3", "40")
    with pytest.raises(ValueError, match="ABANDON takes 3"):
        event_data(QueueEvent.ABANDON, 1, 2)
    assert data_fields("RINGNOANSWER") == 1 and data_fields("SOMETHINGELSE") is None


def test_entry_round_trip() -> None:
    when = datetime(2026, 3, 2, 1, 0, 5, tzinfo=UTC)
    entry = QueueLogEntry(
        when,
        "c1",
        "support",
        "kim",
        QueueEvent.ENTERQUEUE,
        event_data(QueueEvent.ENTERQUEUE, "", "01011112222", 1),
    )
    parsed = parse_line(entry.line())
    assert parsed.epoch == int(when.timestamp())
    assert (parsed.callid, parsed.queue, parsed.agent, parsed.event) == (
        "c1",
        "support",
        "kim",
        "ENTERQUEUE",
    )
    assert parsed.data == ("", "01011112222", "1")
    assert parse_line("5|NONE|NONE|kim|REMOVEMEMBER|").data == ()
    with pytest.raises(ValueError):
        parse_line("not|a|line")

"""The configuration YAML reader keeps dates and times as text for the field parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr_engine.commands.db import read_document
from ivr_engine.config_yaml import load_yaml
from ivr_engine.errors import ValidationError


def test_dates_and_timestamps_stay_text() -> None:
    data = load_yaml("a: 2026-12-31\nb: 2026-02-30\nc: 2026-11-20T12:00:00\nd: 3\ne: true\n")
    assert data == {
        "a": "2026-12-31",
        "b": "2026-02-30",
        "c": "2026-11-20T12:00:00",
        "d": 3,
        "e": True,
    }


def test_an_impossible_holiday_names_file_path_and_value(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(
        "tenants:\n"
        "  - id: t\n"
        "    numbers:\n"
        "      - number: 0505-123-4567\n"
        "        targets: [010-1111-2222]\n"
        "        holidays:\n"
        "          - {date: 2026-12-31, name: ok}\n"
        "          - {date: 2026-02-30, name: impossible}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as raised:
        read_document(path)
    assert str(raised.value).startswith(
        f'{path}: tenants[0].numbers[0].holidays[1].date: "2026-02-30" is not a date'
    )

"""The AMI event narrowing: eventmask by class, the Filter pattern, manager.conf's lines."""

from __future__ import annotations

import re
from pathlib import Path

from ivr_engine.asterisk.ami import events as ev
from ivr_engine.sim.ami_filter import parse_filter, should_send

CONF = Path(__file__).resolve().parents[2] / "asterisk_conf" / "manager.conf"
WATCHED = ("DeviceStateChange", "PeerStatus", "QueueMemberStatus")  # agent_state.py


def payload(name: str) -> str:
    return f"Event: {name}\r\nPrivilege: call,all\r\nChannel: PJSIP/x-1\r\n\r\n"


def test_mask_is_the_classes_or_on() -> None:
    assert ev.event_mask([*ev.CLIENT_EVENTS, *WATCHED]) == "agent,call,system"
    assert ev.event_mask(["OriginateResponse", "SomethingNew"]) == "on"


def test_pattern_matches_whole_names_only() -> None:
    entry = parse_filter("", ev.filter_pattern(["Hangup", "OriginateResponse"]))
    assert should_send([entry], "Hangup", payload("Hangup"))
    assert should_send([entry], "OriginateResponse", payload("OriginateResponse"))
    assert not should_send([entry], "HangupRequest", payload("HangupRequest"))
    assert not should_send([entry], "Newchannel", payload("Newchannel") + "Event: Hangup\r\n")


def test_manager_conf_filters_cover_the_handlers() -> None:
    text = CONF.read_text(encoding="utf-8")
    lines = re.findall(r"^eventfilter\((.*)\) =(.*)$", text, re.M)
    entries = [parse_filter(criteria, value.strip()) for criteria, value in lines]
    assert {e.name for e in entries} == {*ev.CLIENT_EVENTS, *WATCHED}
    assert not should_send(entries, "Newchannel", payload("Newchannel"))
    read = re.search(r"^read\s*=\s*(.+)$", text, re.M)
    assert read and set(read.group(1).split(",")) == {"system", "call", "agent"}

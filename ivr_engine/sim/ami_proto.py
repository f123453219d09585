"""AMI message framing: reading ``Key: value`` blocks and writing responses and events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr_engine.sim.model import Channel

MAX_LINE = 64 * 1024
# ast_state2str order: the numeric ChannelState of the AMI channel block.
STATE_NUMBERS = {
    "Down": 0,
    "Rsrvd": 1,
    "OffHook": 2,
    "Dialing": 3,
    "Ring": 4,
    "Ringing": 5,
    "Up": 6,
    "Busy": 7,
    "Dialing Offhook": 8,
    "Pre-ring": 9,
}


@dataclass
class Message:
    """One received AMI message; header names are case-insensitive, repeats are kept."""

    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        """The first value of a header."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return default

    def all(self, name: str) -> list[str]:
        """Every value of a repeatable header (``Variable``)."""
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def action_id_header(self) -> list[tuple[str, str]]:
        """``[("ActionID", id)]`` when the action carried one."""
        aid = self.get("actionid")
        return [("ActionID", aid)] if aid else []


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """Read lines until a blank line; None at EOF. Lines without a colon are ignored."""
    msg = Message()
    while True:
        raw = await reader.readline()
        if not raw:
            return None if not msg.headers else msg
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line.strip():
            if msg.headers:
                return msg
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip():
            msg.headers.append((key.strip(), value.strip()))


def format_message(fields: list[tuple[str, str]]) -> str:
    """``Key: value\\r\\n`` lines and the closing blank line."""
    return "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"


def response(
    msg: Message,
    status: str,
    message: str | None,
    extra: list[tuple[str, str]] | None = None,
    list_flag: str = "",
) -> str:
    """``Response:``, ``ActionID``, optional ``EventList``, ``Message`` (astman_send_response)."""
    fields = [("Response", status), *msg.action_id_header()]
    if list_flag:
        fields.append(("EventList", list_flag))
    if message is not None:
        fields.append(("Message", message))
    fields.extend(extra or [])
    return format_message(fields)


def channel_block(ch: Channel, prefix: str = "") -> list[tuple[str, str]]:
    """The channel snapshot block of AMI events (``Dest`` prefix for the second channel)."""

    def unknown(value: str) -> str:
        return value or "<unknown>"

    return [
        (prefix + k, v)
        for k, v in (
            ("Channel", ch.name),
            ("ChannelState", str(STATE_NUMBERS.get(ch.state, 0))),
            ("ChannelStateDesc", ch.state),
            ("CallerIDNum", unknown(ch.caller_number)),
            ("CallerIDName", unknown(ch.caller_name)),
            ("ConnectedLineNum", unknown(ch.connected_number)),
            ("ConnectedLineName", unknown(ch.connected_name)),
            ("Language", ch.language),
            ("AccountCode", ch.accountcode),
            ("Context", ch.context),
            ("Exten", ch.exten),
            ("Priority", str(ch.priority)),
            ("Uniqueid", ch.id),
            ("Linkedid", ch.linkedid or ch.id),
        )
    ]

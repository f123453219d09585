"""AMI wire framing: reading messages off a stream and writing actions.

Parsing of a message block is panoramisk's (``panoramisk.message.Message``: a
case-insensitive mapping with ``.success``, ``.event``, ``.actionid`` ...). Framing is ours:
panoramisk only splits on ``\\r\\n\\r\\n``, while Asterisk may end lines with a bare
``\\n`` (asterisk-protocol.md B), and the banner line has no blank line after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from panoramisk.message import Message

from ivr_engine.errors import IvrError

log = logging.getLogger("ivr_engine.asterisk.ami")

BANNER_PREFIX = "Asterisk Call Manager/"
EOL = "\r\n"
MAX_LINES = 10_000  # a runaway message (no blank line ever) must not eat memory forever

ActionValue = str | int | bool | Sequence[str]


class AmiError(IvrError):
    """Base of AMI failures."""

    code = "ami-error"


class AmiAuthError(AmiError):
    """Login refused ("Authentication failed"): wrong user or secret."""

    code = "ami-auth"


class AmiConnectionError(AmiError):
    """Not connected, the connection dropped before a reply, or the reply timed out."""

    code = "ami-connection"


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error``; ``response`` holds the whole reply."""

    code = "ami-action"

    def __init__(self, action: str, response: Message) -> None:
        self.response = response
        super().__init__(f"AMI {action} failed: {response.get('Message', '')}")


def encode_action(action: Mapping[str, ActionValue]) -> bytes:
    """One action as bytes: ``Key: value`` lines (sequences repeat the key), blank line."""
    lines = []
    for key, value in action.items():
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, str | int):
            lines.append(f"{key}: {value}")
        else:
            lines.extend(f"{key}: {item}" for item in value)
    return (EOL.join(lines) + EOL + EOL).encode()


async def read_banner(reader: asyncio.StreamReader) -> str:
    """Read the greeting line; returns the protocol version (e.g. ``11.0.0``)."""
    line = (await reader.readline()).decode(errors="replace").strip()
    if not line.startswith(BANNER_PREFIX):
        raise AmiConnectionError(f"not an AMI server (greeting {line[:60]!r})")
    return line[len(BANNER_PREFIX) :]


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message, or None at end of stream. Blocks without Event/Response are skipped."""
    while True:
        lines: list[str] = []
        while True:
            raw = await reader.readline()
            if not raw:
                return None
            line = raw.decode(errors="replace").rstrip("\r\n")
            if not line:
                if lines:
                    break
                continue
            lines.append(line)
            if len(lines) > MAX_LINES:
                raise AmiConnectionError("AMI message without end")
        message = Message.from_line(EOL.join(lines))
        if message is not None:
            return message
        log.warning(
            "AMI: skipped a block that is neither a response nor an event: %.80r", " | ".join(lines)
        )

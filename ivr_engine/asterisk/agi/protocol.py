"""FastAGI wire format, pure: the ``agi_*`` environment block, commands, replies.

What Asterisk does (``res/res_agi.c``, asterisk-protocol.md C):

* on connect it sends ``agi_<key>: <value>`` lines, then an empty line;
* each command is one line; Asterisk splits it into words on spaces and tabs, a pair of
  double quotes groups words, and a backslash makes the next character literal;
* each command gets ``200 result=<x>[ (<data>)][ endpos=<n>]``, or an error: ``510`` (unknown
  command), ``511`` (not permitted on a dead channel) or ``520`` (bad syntax; the usage text
  comes as ``520-...`` lines ended by a ``520 ...`` line);
* ``HANGUP`` on a line of its own says the channel hung up (sent while Asterisk waits for the
  next command, so it may come before the reply to the command just sent).

No sockets here: ``server.py`` reads lines and feeds them to these functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ivr_engine.errors import IvrError

ENV_PREFIX = "agi_"
HANGUP_LINE = "HANGUP"
MAX_ENV_LINES = 256  # more than Asterisk ever sends (about 22 keys plus the arguments)
MAX_USAGE_LINES = 200  # a 520 usage text longer than this is not Asterisk talking

_ENV_LINE = re.compile(r"^(agi_[A-Za-z0-9_]+):(?: (.*)|)$")
_SUCCESS = re.compile(
    r"^200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?: endpos=(?P<endpos>-?\d+))?\s*$"
)
_NEEDS_QUOTES = re.compile(r'[\s"\\]')


# -- errors --------------------------------------------------------------------------------


class AgiError(IvrError):
    """Base of FastAGI failures."""

    code = "agi-error"


class AgiProtocolError(AgiError):
    """The peer does not speak FastAGI: a malformed environment block or reply line."""

    code = "agi-protocol"


class AgiConnectionLost(AgiError):
    """The connection closed (or broke) before the expected line arrived."""

    code = "agi-connection-lost"


class AgiHangup(AgiError):
    """The channel hung up: Asterisk sent ``HANGUP``. Only a few commands (variables,
    verbose, noop, database, exec) are still allowed; the dialplan will not continue."""

    code = "agi-hangup"


class AgiCommandError(AgiError):
    """Asterisk refused a command: ``status`` is 510, 511 or 520, ``lines`` its reply."""

    code = "agi-command"

    def __init__(self, status: int, lines: tuple[str, ...]) -> None:
        self.status = status
        self.lines = lines
        super().__init__(f"AGI {status}: {lines[0][4:] if lines else ''}".rstrip())


class AgiInvalidCommand(AgiCommandError):
    """``510 Invalid or unknown command``."""

    code = "agi-invalid-command"


class AgiDeadChannel(AgiCommandError):
    """``511 Command Not Permitted on a dead channel or intercept routine``."""

    code = "agi-dead-channel"


class AgiUsageError(AgiCommandError):
    """``520``: invalid command syntax; ``usage`` holds the usage text Asterisk sent."""

    code = "agi-usage"

    @property
    def usage(self) -> str:
        """The usage text between the first and the last 520 line ('' when none)."""
        return "\n".join(self.lines[1:-1])


_ERRORS: dict[int, type[AgiCommandError]] = {
    510: AgiInvalidCommand,
    511: AgiDeadChannel,
    520: AgiUsageError,
}


# -- the environment block -----------------------------------------------------------------


@dataclass(frozen=True)
class AgiRequest:
    """The ``agi_*`` environment Asterisk sends when a FastAGI connection opens.

    Values are as sent (``unknown`` for a missing caller ID name, ``''`` when a key was
    absent). ``env`` keeps every key without its ``agi_`` prefix.
    """

    network_script: str = ""
    request: str = ""
    channel: str = ""
    uniqueid: str = ""
    callerid: str = ""
    calleridname: str = ""
    dnid: str = ""
    rdnis: str = ""
    extension: str = ""
    context: str = ""
    priority: str = ""
    language: str = ""
    type: str = ""
    version: str = ""
    accountcode: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def script(self) -> str:
        """The script name the dialplan asked for: ``route`` for ``agi://host/route?x=1``."""
        path = self.network_script
        if not path and self.request:
            path = urlsplit(self.request).path
        return path.split("?", 1)[0].strip("/")


def parse_env_line(line: str) -> tuple[str, str]:
    """One ``agi_key: value`` line as (key without ``agi_``, value); raises AgiProtocolError
    for anything else."""
    m = _ENV_LINE.match(line.rstrip("\r\n"))
    if m is None:
        raise AgiProtocolError(f"not an AGI environment line: {line[:40]!r}")
    return m.group(1)[len(ENV_PREFIX) :], m.group(2) or ""


def parse_environment(lines: Iterable[str]) -> AgiRequest:
    """The request from the environment lines (without the empty line that ends the block)."""
    env: dict[str, str] = {}
    for count, line in enumerate(lines, 1):
        if count > MAX_ENV_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        key, value = parse_env_line(line)
        env[key] = value
    return request_from_env(env)


def request_from_env(env: Mapping[str, str]) -> AgiRequest:
    """Build the typed request from the environment keys (``agi_`` prefix removed)."""
    if not env:
        raise AgiProtocolError("empty AGI environment")
    numbered = sorted(
        (int(k[4:]), v) for k, v in env.items() if k.startswith("arg_") and k[4:].isdigit()
    )
    plain = {
        name: env.get(name, "")
        for name in (
            "network_script",
            "request",
            "channel",
            "uniqueid",
            "callerid",
            "calleridname",
            "dnid",
            "rdnis",
            "extension",
            "context",
            "priority",
            "language",
            "type",
            "version",
            "accountcode",
        )
    }
    return AgiRequest(**plain, args=tuple(v for _, v in numbered), env=dict(env))


# -- commands ------------------------------------------------------------------------------


def quote_argument(value: str) -> str:
    """One argument as Asterisk's ``parse_args`` reads it back unchanged: bare when it has
    no space, tab, quote or backslash, else in double quotes with ``"`` and ``\\`` escaped.
    Newlines cannot be sent (a line ends the command): ValueError."""
    if "\n" in value or "\r" in value:
        raise ValueError("an AGI argument cannot contain a line break")
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(command: str, *args: str | int) -> str:
    """A command line, newline included: ``format_command("SET VARIABLE", "X", "a b")`` is
    ``SET VARIABLE X "a b"\\n``. ``command`` holds the command words, sent as they are."""
    if not command.strip() or "\n" in command or "\r" in command:
        raise ValueError(f"not an AGI command: {command!r}")
    words = [command.strip(), *(quote_argument(str(a)) for a in args)]
    return " ".join(words) + "\n"


def split_command(line: str) -> list[str]:
    """Split a command line into words exactly as Asterisk's ``parse_args`` does (the other
    side of ``format_command``, for simulators and tests)."""
    words: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    in_word = False
    for ch in line.rstrip("\r\n"):
        if ch == '"' and not escaped:
            quoted = not quoted
            in_word = True
        elif ch in " \t" and not quoted and not escaped:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        elif ch == "\\" and not escaped:
            escaped = True
            continue
        else:
            current.append(ch)
            in_word = True
        escaped = False
    if in_word:
        words.append("".join(current))
    return words


# -- replies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgiReply:
    """A ``200`` reply: ``result`` as sent (may be empty, e.g. GET DATA on a timeout),
    the text in brackets and ``endpos`` when present."""

    result: str
    data: str | None = None
    endpos: int | None = None

    @property
    def value(self) -> int | None:
        """``result`` as an integer, None when it is not one."""
        try:
            return int(self.result)
        except ValueError:
            return None


@dataclass(frozen=True)
class HangupNotice:
    """Asterisk's ``HANGUP`` line: the channel hung up while the script was running."""


def parse_success(line: str) -> AgiReply:
    """A ``200 result=...`` line as an AgiReply; AgiProtocolError for anything else."""
    m = _SUCCESS.match(line.rstrip("\r\n"))
    if m is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:60]!r}")
    endpos = m.group("endpos")
    return AgiReply(m.group("result"), m.group("data"), None if endpos is None else int(endpos))


class ReplyParser:
    """Assembles the reply to one command from the lines that follow it.

    ``feed(line)`` returns the AgiReply when complete, a HangupNotice for ``HANGUP``, None
    while a multi-line ``520`` block is still open; it raises the AgiCommandError subclass of
    a 510/511/520 reply, and AgiProtocolError for a line Asterisk would never send.
    """

    def __init__(self) -> None:
        self._usage: list[str] = []

    def feed(self, line: str) -> AgiReply | HangupNotice | None:
        """Take the next line (without its line end)."""
        line = line.rstrip("\r\n")
        if self._usage:
            self._usage.append(line)
            if line.startswith("520 "):
                raise AgiUsageError(520, tuple(self._usage))
            if len(self._usage) > MAX_USAGE_LINES:
                raise AgiProtocolError("520 usage text does not end")
            return None
        if line.strip() == HANGUP_LINE:
            return HangupNotice()
        if line.startswith("200"):
            return parse_success(line)
        if line.startswith("520-"):
            self._usage.append(line)
            return None
        status = line[:3]
        if status.isdigit() and int(status) in _ERRORS and line[3:4] in ("", " "):
            raise _ERRORS[int(status)](int(status), (line,))
        raise AgiProtocolError(f"not an AGI reply: {line[:60]!r}")

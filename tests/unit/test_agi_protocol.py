"""FastAGI wire format: the environment block, Asterisk's quoting rules, replies and errors."""

from __future__ import annotations

import pytest

from ivr_engine.asterisk.agi.protocol import (
    AgiDeadChannel,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiReply,
    AgiUsageError,
    HangupNotice,
    ReplyParser,
    format_command,
    parse_env_line,
    parse_environment,
    quote_argument,
    split_command,
)

# What Asterisk 22 sends for AGI(agi://127.0.0.1:4573/route,first,"second arg").
ENV_BLOCK = [
    "agi_network: yes",
    "agi_network_script: route",
    "agi_request: agi://127.0.0.1:4573/route",
    "agi_channel: PJSIP/carrier-00000007",
    "agi_language: ko",
    "agi_type: PJSIP",
    "agi_uniqueid: 1763607600.14",
    "agi_version: 22.10.1",
    "agi_callerid: 01020003000",
    "agi_calleridname: unknown",
    "agi_callingpres: 0",
    "agi_callingani2: 0",
    "agi_callington: 0",
    "agi_callingtns: 0",
    "agi_dnid: 05051234567",
    "agi_rdnis: unknown",
    "agi_context: from-carrier-agi",
    "agi_extension: 05051234567",
    "agi_priority: 2",
    "agi_enhanced: 0.0",
    "agi_accountcode: ",
    "agi_threadid: 140245119469248",
    "agi_arg_1: first",
    "agi_arg_2: second arg",
]


def test_environment_block_becomes_a_typed_request() -> None:
    req = parse_environment(ENV_BLOCK)
    assert req.script == "route"
    assert req.request == "agi://127.0.0.1:4573/route"
    assert req.channel == "PJSIP/carrier-00000007"
    assert req.uniqueid == "1763607600.14"
    assert (req.callerid, req.calleridname) == ("01020003000", "unknown")
    assert (req.dnid, req.extension) == ("05051234567", "05051234567")
    assert (req.context, req.priority, req.language) == ("from-carrier-agi", "2", "ko")
    assert req.accountcode == ""
    assert req.args == ("first", "second arg")
    assert req.env["threadid"] == "140245119469248"


def test_arguments_are_ordered_by_number_not_by_arrival() -> None:
    lines = ["agi_network: yes", "agi_arg_10: j", "agi_arg_2: b", "agi_arg_1: a"]
    assert parse_environment(lines).args == ("a", "b", "j")


@pytest.mark.parametrize(
    ("env", "script"),
    [
        ({"agi_network_script": "route"}, "route"),
        ({"agi_network_script": "route?tenant=x"}, "route"),
        ({"agi_network_script": "/route/"}, "route"),
        ({"agi_request": "agi://10.0.0.5:4573/route?x=1"}, "route"),  # no network_script line
        ({"agi_request": "agi://10.0.0.5"}, ""),
    ],
)
def test_script_name(env: dict[str, str], script: str) -> None:
    assert parse_environment(f"{k}: {v}" for k, v in env.items()).script == script


@pytest.mark.parametrize(
    ("line", "pair"),
    [
        ("agi_callerid: 01020003000", ("callerid", "01020003000")),
        ("agi_accountcode: ", ("accountcode", "")),
        ("agi_accountcode:", ("accountcode", "")),
        ("agi_calleridname: Kim: the boss", ("calleridname", "Kim: the boss")),
        ("agi_extension: 05051234567\r", ("extension", "05051234567")),
    ],
)
def test_environment_lines(line: str, pair: tuple[str, str]) -> None:
    assert parse_env_line(line) == pair


@pytest.mark.parametrize(
    "line",
    [
        "GET / HTTP/1.1",
        "Host: 127.0.0.1",
        "callerid: 0102000300",
        "agi_callerid 010",
        "\x16\x03\x01\x02\x00",
        "agi callerid: x",
    ],
)
def test_garbage_is_not_an_environment(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_env_line(line)
    with pytest.raises(AgiProtocolError):
        parse_environment([line])


def test_an_empty_environment_is_refused() -> None:
    with pytest.raises(AgiProtocolError):
        parse_environment([])


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("forward", "forward"),
        ("05051234567&023334444", "05051234567&023334444"),
        ("ivr/system/after-hours", "ivr/system/after-hours"),
        ("", '""'),
        ("two words", '"two words"'),
        ("tab\there", '"tab\there"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("A(ivr/tts-0123)", "A(ivr/tts-0123)"),
        ("배달앱 주문", '"배달앱 주문"'),
    ],
)
def test_quoting(value: str, wire: str) -> None:
    assert quote_argument(value) == wire
    assert split_command(f"SET VARIABLE X {wire}") == ["SET", "VARIABLE", "X", value]


@pytest.mark.parametrize("value", ["line\nbreak", "cr\r"])
def test_line_breaks_cannot_be_sent(value: str) -> None:
    with pytest.raises(ValueError):
        quote_argument(value)


def test_format_command() -> None:
    assert (
        format_command("SET VARIABLE", "IVR_ACTION", "forward")
        == "SET VARIABLE IVR_ACTION forward\n"
    )
    assert format_command("SET VARIABLE", "IVR_CAUSE", "") == 'SET VARIABLE IVR_CAUSE ""\n'
    assert format_command("VERBOSE", "engine says hi", 3) == 'VERBOSE "engine says hi" 3\n'
    assert format_command("ANSWER") == "ANSWER\n"
    with pytest.raises(ValueError):
        format_command("")
    with pytest.raises(ValueError):
        format_command("NOOP\nHANGUP")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('STREAM FILE beep ""', ["STREAM", "FILE", "beep", ""]),
        ('EXEC Dial "PJSIP/010@carrier,20"', ["EXEC", "Dial", "PJSIP/010@carrier,20"]),
        ("  NOOP   spaced\t out ", ["NOOP", "spaced", "out"]),
        ('VERBOSE ab"c d"e 1', ["VERBOSE", "abc de", "1"]),  # quotes group inside a word
        ("VERBOSE a\\ b", ["VERBOSE", "a b"]),  # escaped space outside quotes
    ],
)
def test_split_command_follows_parse_args(line: str, words: list[str]) -> None:
    assert split_command(line) == words


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=1", AgiReply("1")),
        ("200 result=0", AgiReply("0")),
        ("200 result=-1", AgiReply("-1")),
        ("200 result=1 (forward)", AgiReply("1", "forward")),
        ("200 result=1 (a (nested) value)", AgiReply("1", "a (nested) value")),
        ("200 result=1 ()", AgiReply("1", "")),
        ("200 result=0 endpos=16000", AgiReply("0", None, 16000)),
        ("200 result=-1 endpos=0", AgiReply("-1", None, 0)),
        ("200 result=49 endpos=8160", AgiReply("49", None, 8160)),
        ("200 result=123 (timeout)", AgiReply("123", "timeout")),
        ("200 result= (timeout)", AgiReply("", "timeout")),
        ("200 result=1 (speech) endpos=42", AgiReply("1", "speech", 42)),
        ("200 result=1\r", AgiReply("1")),
    ],
)
def test_success_replies(line: str, reply: AgiReply) -> None:
    assert ReplyParser().feed(line) == reply


def test_reply_values() -> None:
    assert AgiReply("-1").value == -1
    assert AgiReply("").value is None


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("510 Invalid or unknown command", AgiInvalidCommand),
        ("511 Command Not Permitted on a dead channel or intercept routine", AgiDeadChannel),
        ("520 Invalid command syntax.  Proper usage not available.", AgiUsageError),
    ],
)
def test_single_line_errors(line: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        ReplyParser().feed(line)
    assert info.value.status == int(line[:3])  # type: ignore[attr-defined]


def test_usage_error_collects_the_usage_text() -> None:
    parser = ReplyParser()
    assert parser.feed("520-Invalid command syntax.  Proper usage follows:") is None
    assert parser.feed(" Usage: SET VARIABLE <variablename> <value>") is None
    assert parser.feed("") is None  # blank lines inside the usage are part of it
    with pytest.raises(AgiUsageError) as info:
        parser.feed("520 End of proper usage.")
    assert "Usage: SET VARIABLE" in info.value.usage
    assert info.value.status == 520


def test_hangup_line_is_a_notice() -> None:
    assert ReplyParser().feed("HANGUP") == HangupNotice()
    assert ReplyParser().feed("HANGUP\r") == HangupNotice()


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello",
        "200",
        "200 ok",
        "300 result=1",
        "5100 x",
        "HTTP/1.1 200 OK",
        "200 result",
    ],
)
def test_garbage_replies(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        ReplyParser().feed(line)

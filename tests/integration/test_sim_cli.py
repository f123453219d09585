"""``ivr-engine sim`` on a port that is taken: one line naming the port and the option to
change, exit code 1, no traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ivr_engine.cli import main


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(("kind", "option"), [("ARI", "--ari-port"), ("AMI", "--ami-port")])
def test_a_taken_port_is_a_one_line_error(
    taken: int, kind: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = {"--ari-port": "0", "--ami-port": "0", option: str(taken)}
    argv = ["sim", *(x for pair in ports.items() for x in pair)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: the simulator cannot listen on {kind} 127.0.0.1:{taken}: address already in "
        f"use (stop what uses it, or choose another port with {option})"
    ]
    assert "Traceback" not in captured.err and "Asterisk simulator" not in captured.out

"""The SIPp scenarios ``python -m bench calls --sipp`` plays on a real Asterisk, run against
each other on loopback: the callers' INVITE is answered by the targets, who hang up with a
BYE in the caller's dialog, which the caller accepts. (On a real box Asterisk sits between
the two; here each side checks the other's messages.)"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from bench.sipp import Scenarios, SippDriver, free_udp_port, write_scenarios

SIPP = shutil.which("sipp")


def sipp() -> str:
    """The sipp binary (Debian's sip-tester, installed by the test command)."""
    if SIPP is None:
        pytest.fail("sipp is not installed (scripts/bootstrap.sh installs sip-tester)")
    return SIPP


async def run(cmd: list[str], cwd: Path) -> int:
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 60)


def test_callers_and_targets_complete_every_call(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path, ring_ms=50, talk_ms=100, bye_timeout_ms=5000)
    port = free_udp_port()
    targets = SippDriver(sipp(), scenarios, uas_port=port)
    callers = SippDriver(sipp(), scenarios, server=f"127.0.0.1:{port}")
    calls = 10

    async def both() -> tuple[int, int]:
        uas = asyncio.create_task(
            run(targets.targets_command(calls=calls, extra=["-trace_msg"]), tmp_path)
        )
        # The targets listen once SIPp has bound its port; a caller's INVITE before that is
        # retransmitted (every 500 ms), so no wait is needed for them to meet.
        uac = await run(callers.callers_command(20, calls, extra=["-trace_msg"]), tmp_path)
        return uac, await uas

    uac_status, uas_status = asyncio.run(both())
    assert uac_status == 0, (tmp_path / "bench-uac.errors.log").read_text(errors="replace")
    assert uas_status == 0, (tmp_path / "bench-uas.errors.log").read_text(errors="replace")

    # Each target's BYE is in the caller's dialog: From carries the target's tag, To the
    # caller's own, the caller's number on To (the injection file: 010-2000-0000 on).
    log = next(tmp_path.glob("bench-uac*_messages.log")).read_text(errors="replace")
    byes = re.findall(r"^BYE sip:\S+ SIP/2\.0$.*?(?=^\s*$)", log, re.M | re.S)
    assert len(byes) == calls
    for bye in byes:
        assert re.search(r"^From:.*;tag=\d+SIPpTag01\d+", bye, re.M), bye
        assert re.search(r"^To:\s*<sip:0102000\d{4}@.*;tag=\d+SIPpTag00\d+", bye, re.M), bye
    callers_seen = re.findall(r"^From: <sip:(0102000\d{4})@", log, re.M)
    assert sorted(set(callers_seen)) == [f"0102000{n:04d}" for n in range(calls)]


def test_a_call_without_the_bye_fails(tmp_path: Path) -> None:
    """A caller whose BYE never comes is a failed call (SIPp exits 1), so a real-box level
    whose engine does not hang the caller up cannot pass as complete."""
    scenarios = write_scenarios(tmp_path, ring_ms=50, talk_ms=5000, bye_timeout_ms=300)
    port = free_udp_port()
    targets = SippDriver(sipp(), scenarios, uas_port=port)
    callers = SippDriver(sipp(), scenarios, server=f"127.0.0.1:{port}")

    async def both() -> int:
        uas = await asyncio.create_subprocess_exec(
            *targets.targets_command(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            return await run(callers.callers_command(10, 2), tmp_path)
        finally:
            uas.terminate()
            await uas.wait()

    assert asyncio.run(both()) == 1


def test_callers_take_provisional_responses_in_any_number_and_order(tmp_path: Path) -> None:
    """Asterisk answers a caller with 100, then the coloring's 183, and a 180 when the
    engine falls back to ringing, in any order and more than once: none fails the call."""
    scenarios = write_scenarios(tmp_path, ring_ms=20, talk_ms=50, bye_timeout_ms=5000)
    uas = scenarios.uas.read_text(encoding="ascii")
    ringing = re.search(r"  <send>\s*<!\[CDATA\[\s*SIP/2\.0 180 Ringing.*?</send>\n", uas, re.S)
    assert ringing is not None
    block = ringing.group(0)
    progress = block.replace("180 Ringing", "183 Session Progress")
    uas = uas.replace(block, progress + block + progress + block)
    scenarios.uas.write_text(uas, encoding="ascii")
    port = free_udp_port()
    targets = SippDriver(sipp(), scenarios, uas_port=port)
    callers = SippDriver(sipp(), scenarios, server=f"127.0.0.1:{port}")

    async def both() -> tuple[int, int]:
        answered = asyncio.create_task(run(targets.targets_command(calls=3), tmp_path))
        return await run(callers.callers_command(10, 3), tmp_path), await answered

    assert asyncio.run(both()) == (0, 0)


# A re-INVITE in the dialog of the scenario that sends it, as Asterisk sends one to each
# party with the connected line when it bridges them ([$ours] / [$their]: the target's
# own headers; the caller's are its From and To as sent).
def reinvite(from_: str, to: str, contact: str) -> str:
    return f"""  <send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:{from_}
      To:{to}
      Call-ID: [call_id]
      CSeq: 5 INVITE
      Contact: <sip:{contact}@[local_ip]:[local_port]>
      P-Asserted-Identity: <sip:01099998888@[local_ip]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=pbx 1 2 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]>
  </send>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:{from_}
      To:{to}
      Call-ID: [call_id]
      CSeq: 5 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""


def run_pair(tmp_path: Path, scenarios: Scenarios, calls: int) -> tuple[int, int]:
    port = free_udp_port()
    targets = SippDriver(sipp(), scenarios, uas_port=port)
    callers = SippDriver(sipp(), scenarios, server=f"127.0.0.1:{port}")

    async def both() -> tuple[int, int]:
        answered = asyncio.create_task(run(targets.targets_command(calls=calls), tmp_path))
        return await run(callers.callers_command(10, calls), tmp_path), await answered

    return asyncio.run(both())


def test_callers_answer_a_reinvite_while_they_wait_for_the_bye(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path, ring_ms=20, talk_ms=50, bye_timeout_ms=5000)
    uas = scenarios.uas.read_text(encoding="ascii")
    # The target re-INVITEs the caller right after the ACK, then talks and hangs up.
    talk = uas.index('  <label id="talk"/>')
    uas = uas[:talk] + reinvite("[$ours];tag=[pid]SIPpTag01[call_number]", "[$their]", "target")
    uas += scenarios.uas.read_text(encoding="ascii")[talk:]
    scenarios.uas.write_text(uas, encoding="ascii")
    assert run_pair(tmp_path, scenarios, 3) == (0, 0)


def test_targets_answer_a_reinvite_while_they_talk(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path, ring_ms=20, talk_ms=300, bye_timeout_ms=5000)
    uac = scenarios.uac.read_text(encoding="ascii")
    # The caller re-INVITEs the target right after its ACK, then waits for the BYE.
    talk = uac.index('  <label id="talk"/>')
    caller = "<sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
    callee = "<sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]"
    uac = uac[:talk] + reinvite(caller, callee, "[field0]") + uac[talk:]
    scenarios.uac.write_text(uac, encoding="ascii")
    assert run_pair(tmp_path, scenarios, 3) == (0, 0)

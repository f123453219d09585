"""SIPp callers and targets for ``python -m bench calls`` against a real Asterisk.

Two SIPp processes on loopback play the carrier of ``asterisk_conf/pjsip.conf``:

- the **targets** (a UAS on ``uas_port``): every INVITE Asterisk sends for a forward target
  rings for ``ring_ms``, is answered with SDP, hears the whisper and the conversation for
  ``talk_ms`` and then hangs up (BYE), as the simulator's ``answer:1:6`` behaviour does;
- the **callers** (a UAC per load level): ``count`` INVITEs to the 050 number at ``rate`` per
  second, each from its own caller number (an injection file), taking the early media
  (183) and the answer, acknowledging it and waiting for Asterisk's BYE (the engine hangs
  the caller up once the callee has).

The lab Asterisk sends the trunk's calls to the targets' port and takes the callers' as the
trunk's: in ``pjsip.conf``, the ``carrier`` AOR's ``contact = sip:127.0.0.1:5070`` and the
``carrier-identify`` ``match = 127.0.0.1`` (the README's "Benchmarks" shows the lines).
The scenarios are written to a directory at run time; nothing of Asterisk is built here.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The headers of a response, copied from the request it answers (SIPp's [last_*]): in a
# dialog, and the target's first answers to the INVITE (its tag added, the route kept).
ANSWER_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]"""
FIRST_ANSWER_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Record-Route:]
      [last_Call-ID:]
      [last_CSeq:]"""

SDP = """v=0
o=bench 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
"""

# The answer to an in-dialog re-INVITE: Asterisk sends one to each party when it updates
# the connected line as the two are bridged (observed on Asterisk 22.10.1: a re-INVITE
# with P-Asserted-Identity right after the bridge); SIPp would abort the call on it. It
# sits after the scenario's last step, reached only by a jump: a message that arrives
# while a call stands at a <nop> or <pause> is unexpected to SIPp, so the waits are
# <recv> steps only.
REINVITE_OK = """  <label id="reinvite"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      ANSWER_HEADERS
      Contact: <sip:PARTY@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

SDP_BODY
    ]]>
  </send>
  <recv request="ACK" next="WAIT"/>
"""

# The caller: INVITE, any number of provisional responses in any order (100, the 183 of
# the coloring's early media, a 180 when the engine falls back to ringing), the answer,
# ACK, then the BYE from Asterisk (answering re-INVITEs meanwhile).
UAC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="050 caller: INVITE, early media, answer, waits for the BYE">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Subject: bench
      Content-Type: application/sdp
      Content-Length: [len]

SDP_BODY
    ]]>
  </send>
  <label id="provisional"/>
  <recv response="100" optional="true" next="provisional"/>
  <recv response="180" optional="true" next="provisional"/>
  <recv response="183" optional="true" next="provisional"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <label id="talk"/>
  <!-- SIPp times out the step it waits at, the first of the alternatives: a call whose
       BYE does not come within the timeout fails -->
  <recv request="INVITE" optional="true" timeout="BYE_TIMEOUT_MS" next="reinvite"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      ANSWER_HEADERS
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <nop next="done"/>
REINVITE_CALLER  <label id="done"/>
  <ResponseTimeRepartition value="50, 100, 200, 500, 1000, 2000"/>
</scenario>
"""

# A target: rings, answers, talks (answering re-INVITEs, each starting the talk time over),
# hangs up; or takes the BYE when the engine hangs it up first.
UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="forward target: rings, answers, talks, hangs up">
  <recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="their"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="ours"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      FIRST_ANSWER_HEADERS
      Contact: <sip:target@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="RING_MS"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      FIRST_ANSWER_HEADERS
      Contact: <sip:target@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

SDP_BODY
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <label id="talk"/>
  <!-- the talk time runs on the first alternative (SIPp times out the step it waits at) -->
  <recv request="BYE" optional="true" timeout="TALK_MS" ontimeout="hangup" next="caller_left"/>
  <recv request="INVITE" next="reinvite"/>
  <label id="hangup"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:[$ours];tag=[pid]SIPpTag01[call_number]
      To:[$their]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:target@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true" next="done"/>
  <label id="caller_left"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      ANSWER_HEADERS
      Content-Length: 0

    ]]>
  </send>
  <nop next="done"/>
REINVITE_TARGET  <label id="done"/>
</scenario>
"""


_EVENT = re.compile(r"^\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: (.*)$")
_VARYING = re.compile(r"\b[\w.-]*\d[\w.@-]*")  # call ids, numbers, ports, branches


def error_kinds(log: str) -> list[tuple[str, int]]:
    """SIPp's error log summed up: each kind of event (its text up to the first line of the
    message it names, call ids and numbers blanked) with how often it came, most first."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        match = _EVENT.match(line)
        if match:
            kind = _VARYING.sub("#", match.group(1).split(" SIP/2.0", 1)[0])[:160]
            counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def free_udp_port() -> int:
    """A UDP port nobody has bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Scenarios:
    """The scenario and injection files in one directory."""

    uac: Path
    uas: Path
    callers: Path


def write_scenarios(
    directory: Path,
    *,
    ring_ms: int = 1000,
    talk_ms: int = 3000,
    bye_timeout_ms: int = 60000,
    callers: int = 10000,
) -> Scenarios:
    """Write the caller and target scenarios and the callers' numbers (010-2000-0000 on)."""
    sdp = "\n".join("      " + line for line in SDP.strip().splitlines())
    uac = directory / "bench-uac.xml"

    def reinvite(party: str) -> str:
        return REINVITE_OK.replace("PARTY", party).replace("WAIT", "talk")

    def headers(text: str) -> str:
        return text.replace("FIRST_ANSWER_HEADERS", FIRST_ANSWER_HEADERS).replace(
            "ANSWER_HEADERS", ANSWER_HEADERS
        )

    uac.write_text(
        headers(UAC.replace("REINVITE_CALLER", reinvite("[field0]")))
        .replace("SDP_BODY", sdp)
        .replace("BYE_TIMEOUT_MS", str(bye_timeout_ms)),
        encoding="ascii",
    )
    # The target's "From:" header is its own "To:" value with its tag; the ereg keeps the
    # header value as received, which has the far end's tag on "From:" and none on "To:".
    uas = directory / "bench-uas.xml"
    uas.write_text(
        headers(UAS.replace("REINVITE_TARGET", reinvite("target")))
        .replace("SDP_BODY", sdp)
        .replace("RING_MS", str(ring_ms))
        .replace("TALK_MS", str(talk_ms)),
        encoding="ascii",
    )
    inf = directory / "bench-callers.csv"
    inf.write_text(
        "SEQUENTIAL\n" + "".join(f"0102000{n:04d};\n" for n in range(callers)),
        encoding="ascii",
    )
    return Scenarios(uac, uas, inf)


@dataclass(frozen=True)
class SippDriver:
    """Command lines for the two SIPp processes (``sipp`` is the binary's path)."""

    sipp: str
    scenarios: Scenarios
    server: str = "127.0.0.1:5060"  # Asterisk's SIP address
    service: str = "05050000001"  # the 050 number the callers dial
    uas_port: int = 5070  # where the lab Asterisk's carrier contact points
    local_ip: str = "127.0.0.1"

    def _common(self, port: int, errors: Path) -> list[str]:
        """Both sides: loopback signalling and media, no keyboard, failed calls logged."""
        return [
            "-i",
            self.local_ip,
            "-p",
            str(port),
            "-mi",
            self.local_ip,
            "-mp",
            str(free_udp_port()),
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(errors),
        ]

    def targets_command(self, calls: int | None = None, extra: Sequence[str] = ()) -> list[str]:
        """The targets: a UAS answering every call until stopped (or ``calls`` of them)."""
        uas = self.scenarios.uas
        return [
            self.sipp,
            "-sf",
            str(uas),
            *self._common(self.uas_port, uas.with_suffix(".errors.log")),
            *(("-m", str(calls)) if calls is not None else ()),
            *extra,
        ]

    def callers_command(
        self, rate: int, count: int, limit: int = 5000, extra: Sequence[str] = ()
    ) -> list[str]:
        """``count`` callers at ``rate`` per second, at most ``limit`` at once; SIPp exits
        when all are done (status 0 when every call succeeded, 1 when some failed)."""
        uac = self.scenarios.uac
        return [
            self.sipp,
            self.server,
            "-sf",
            str(uac),
            "-inf",
            str(self.scenarios.callers),
            "-s",
            self.service,
            *self._common(free_udp_port(), uac.with_suffix(".errors.log")),
            "-r",
            str(rate),
            "-m",
            str(count),
            "-l",
            str(limit),
            *extra,
        ]

    async def start_targets(self) -> asyncio.subprocess.Process:
        """The targets' SIPp, running until terminated."""
        return await asyncio.create_subprocess_exec(
            *self.targets_command(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def place(self, rate: int, count: int) -> int:
        """Run one level's callers to their end; SIPp's exit status. When calls failed, the
        end of SIPp's error log is printed (what was unexpected, where)."""
        errors = self.scenarios.uac.with_suffix(".errors.log")
        errors.unlink(missing_ok=True)
        proc = await asyncio.create_subprocess_exec(
            *self.callers_command(rate, count),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        status = await proc.wait()
        if status != 0 and errors.exists():
            kinds = error_kinds(errors.read_text(errors="replace"))
            print("    SIPp callers' errors: " + "; ".join(f"{n} x {k}" for k, n in kinds[:8]))
        return status

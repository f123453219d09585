"""The shared ARI probe (measured on a real Asterisk 22.10.1) must pass against the simulator."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parents[2].parent / "shared" / "asterisk-facts" / "ari_probe.py"


@pytest.mark.slow
@pytest.mark.skipif(not PROBE.exists(), reason="../shared/asterisk-facts is not present")
async def test_ari_probe_passes_against_the_simulator(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = await sim_factory(speed=1.0, default_app="probe")
    cfg = sim.config
    call_cmd = " ".join(
        shlex.quote(part)
        for part in (
            sys.executable,
            "-m",
            "ivr_engine.cli",
            "call",
            "--to",
            "05051234567",
            "--from",
            "01020003000",
            "--app",
            "probe",
            "--sim-url",
            sim.control_url,
            "--timeout",
            "8",
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        "--ari-url",
        sim.ari_url,
        "--user",
        cfg.ari_user,
        "--password",
        cfg.ari_password,
        "--app",
        "probe",
        "--outbound-endpoint",
        f"PJSIP/01011112222@{cfg.trunk}",
        "--inbound-cmd",
        call_cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    text = out.decode()
    last = text.strip().splitlines()[-1]
    assert proc.returncode == 0, text
    done, total = last.split()[0].split("/")
    assert done == total and int(total) >= 55, last

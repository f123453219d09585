"""The fidelity suite's target: the in-process simulator, or a real Asterisk.

Set ``IVR_FIDELITY_ARI_URL`` (e.g. ``http://127.0.0.1:8088/ari``), ``IVR_FIDELITY_ARI_USER``,
``IVR_FIDELITY_ARI_PASSWORD`` and ``IVR_FIDELITY_ENDPOINT`` (an endpoint for
``/channels/create``) to run the same tests against a real Asterisk; tests that need the
simulator's scripted world (``target.sim``) are skipped then. AMI tests use
``IVR_FIDELITY_AMI_HOST`` / ``_PORT`` / ``_USER`` / ``_SECRET`` the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ivr_engine.sim import Simulator
from tests.fidelity.wire import AriWire, EventStream


@dataclass
class Target:
    """Where the suite points: URL, credentials, an outbound endpoint, the simulator if local."""

    url: str
    user: str
    password: str
    endpoint: str
    sim: Simulator | None
    ami: tuple[str, int, str, str] | None = None

    def need_sim(self) -> Simulator:
        """The simulator, or skip (the test scripts the world around Asterisk)."""
        if self.sim is None:
            pytest.skip("needs the simulator's scripted world")
        return self.sim


@pytest.fixture
async def target(sim_factory) -> Target:  # type: ignore[no-untyped-def]
    """The system under test."""
    url = os.environ.get("IVR_FIDELITY_ARI_URL")
    ami_host = os.environ.get("IVR_FIDELITY_AMI_HOST")
    ami = None
    if ami_host:
        ami = (
            ami_host,
            int(os.environ.get("IVR_FIDELITY_AMI_PORT", "5038")),
            os.environ.get("IVR_FIDELITY_AMI_USER", ""),
            os.environ.get("IVR_FIDELITY_AMI_SECRET", ""),
        )
    if url:
        return Target(
            url.rstrip("/"),
            os.environ.get("IVR_FIDELITY_ARI_USER", ""),
            os.environ.get("IVR_FIDELITY_ARI_PASSWORD", ""),
            os.environ.get("IVR_FIDELITY_ENDPOINT", "PJSIP/01011112222@carrier"),
            None,
            ami,
        )
    sim = await sim_factory()
    cfg = sim.config
    return Target(
        sim.ari_url,
        cfg.ari_user,
        cfg.ari_password,
        f"PJSIP/01011112222@{cfg.trunk}",
        sim,
        (cfg.host, sim.ami_port, cfg.ami_user, cfg.ami_secret),
    )


@pytest.fixture
async def ari(target: Target) -> AsyncIterator[AriWire]:
    """A raw HTTP client for the target's ARI."""
    wire = AriWire(target.url, target.user, target.password)
    yield wire
    await wire.close()


@pytest.fixture
async def events(target: Target, ari: AriWire) -> AsyncIterator[EventStream]:
    """An events WebSocket for a fresh application name."""
    stream = EventStream(ari, f"fid-{uuid.uuid4().hex[:8]}")
    await stream.connect()
    yield stream
    await stream.close()

"""The Asterisk simulator: ARI and AMI over real sockets around a scripted carrier trunk."""

from ivr_engine.sim.behaviour import Behaviour
from ivr_engine.sim.server import SimCall, SimConfig, Simulator
from ivr_engine.sim.timeline import MediaEvent

__all__ = ["Behaviour", "MediaEvent", "SimCall", "SimConfig", "Simulator"]

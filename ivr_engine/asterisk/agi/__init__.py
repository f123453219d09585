"""FastAGI: Asterisk's ``AGI(agi://host:port/script)`` served over TCP by the engine.

``protocol`` is the pure wire format (environment block, command quoting, replies);
``server`` the asyncio server and the per-connection AgiChannel handlers talk through.
"""

from ivr_engine.asterisk.agi.protocol import (
    AgiCommandError,
    AgiConnectionLost,
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiReply,
    AgiRequest,
    AgiUsageError,
)
from ivr_engine.asterisk.agi.server import AgiChannel, AgiHandler, AgiServer, start_agi_server

__all__ = [
    "AgiChannel",
    "AgiCommandError",
    "AgiConnectionLost",
    "AgiDeadChannel",
    "AgiError",
    "AgiHandler",
    "AgiHangup",
    "AgiInvalidCommand",
    "AgiProtocolError",
    "AgiReply",
    "AgiRequest",
    "AgiServer",
    "AgiUsageError",
    "start_agi_server",
]

"""The engine's AMI client: login, reconnect, actions with replies, event callbacks."""

from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.asterisk.ami.connection import AmiHealth, AmiState
from ivr_engine.asterisk.ami.protocol import (
    AmiActionError,
    AmiAuthError,
    AmiConnectionError,
    AmiError,
)

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectionError",
    "AmiError",
    "AmiHealth",
    "AmiState",
]

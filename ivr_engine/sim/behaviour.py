"""Scripted far ends behind the carrier trunk: how a dialled number responds.

A behaviour is chosen by the number part of ``PJSIP/<number>@<trunk>``. Times are simulated
seconds. SIP codes map to Q.850 causes as chan_pjsip maps them (section E).
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr_engine.asterisk.constants import CAUSE_TO_SIP, sip_to_cause

ANSWER = "answer"
BUSY = "busy"
NO_ANSWER = "no_answer"
FAIL = "fail"


@dataclass(frozen=True)
class Behaviour:
    """How a scripted far end answers an INVITE."""

    kind: str = ANSWER
    ring: float = 1.0  # seconds of ringing before the answer (or before the final failure)
    talk: float | None = None  # seconds after answer until the far end hangs up (None: never)
    dtmf: tuple[tuple[float, str], ...] = ()  # (seconds after answer, digits)
    sip: int = 200  # final SIP response
    cause: int = 16
    rings: bool = True  # sends 180 Ringing first

    @classmethod
    def answer_after(
        cls,
        seconds: float = 1.0,
        talk: float | None = None,
        dtmf: tuple[tuple[float, str], ...] = (),
    ) -> Behaviour:
        """Rings ``seconds``, answers, optionally hangs up after ``talk`` and sends DTMF."""
        return cls(ANSWER, seconds, talk, tuple(dtmf))

    @classmethod
    def busy(cls, after: float = 0.3) -> Behaviour:
        """Answers 486 Busy Here (cause 17) after ``after`` seconds, without ringing."""
        return cls(BUSY, after, sip=486, cause=17, rings=False)

    @classmethod
    def no_answer(cls) -> Behaviour:
        """Rings forever; only a dial timeout (cause 19) or a hangup ends it."""
        return cls(NO_ANSWER, 0.0)

    @classmethod
    def unreachable(cls, cause: int = 20, after: float = 0.5) -> Behaviour:
        """Fails without ringing: cause 20 (480 Temporarily Unavailable) or 18 (408 timeout)."""
        sip = 408 if cause == 18 else CAUSE_TO_SIP.get(cause, 480)
        return cls(FAIL, after, sip=sip, cause=cause, rings=False)

    @classmethod
    def reject(cls, after: float = 0.2) -> Behaviour:
        """Rejects with 403 Forbidden (cause 21)."""
        return cls(FAIL, after, sip=403, cause=21, rings=False)

    @classmethod
    def sip_response(cls, code: int, after: float = 0.3, rings: bool = False) -> Behaviour:
        """Fails with any SIP final response; the cause follows chan_pjsip's mapping."""
        return cls(FAIL, after, sip=code, cause=sip_to_cause(code), rings=rings)

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        """Parse the CLI form: ``busy``, ``no-answer``, ``reject``, ``unreachable[:cause]``,
        ``answer[:ring[:talk]]``, ``sip:<code>``."""
        name, _, arg = text.strip().partition(":")
        name = name.replace("-", "_").lower()
        if name == "busy":
            return cls.busy()
        if name == "no_answer":
            return cls.no_answer()
        if name == "reject":
            return cls.reject()
        if name == "unreachable":
            return cls.unreachable(int(arg) if arg else 20)
        if name == "sip":
            return cls.sip_response(int(arg))
        if name == "answer":
            ring, _, talk = arg.partition(":")
            return cls.answer_after(
                float(ring.rstrip("s")) if ring else 1.0, float(talk.rstrip("s")) if talk else None
            )
        raise ValueError(f"unknown behaviour {text!r}")

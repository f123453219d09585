"""Call queues in the declarative configuration: the ``queues:`` key of a tenant or a number.

Pure. ``parse_queues(data, path)`` validates the YAML data into QueueConfig objects and
raises ``QueueConfigInvalid`` (a ValidationError with ``path`` and ``message``) naming the
place inside the data; ``queues_to_data`` is its exact, JSON-serialisable inverse.
``merge_queues`` combines a tenant's and a number's queues by id (the number's wins).

The format (every key but ``id`` optional)::

    queues:
      - id: support                     # referenced by menus: {action: queue, queue: support}
        name: 고객 상담
        strategy: longest_idle          # ring_all | longest_idle | round_robin |
                                        # fewest_calls | weighted | sticky
        ring_seconds: 15                # how long one agent rings (agents may override)
        max_wait_seconds: 300           # then the overflow
        overflow: {forward: "010-1234-5678", ring_seconds: 20}   # or {announce: PROMPT}
        holding: {moh: default}         # or {coloring: PROMPT}
        announcement: {text: "모든 상담원이 통화중입니다. 잠시만 기다려 주십시오."}
        announce_every_seconds: 30      # 0: no periodic announcement
        announce_position: true
        announce_wait: true
        callback_key: "1"               # a key to leave a callback request instead of waiting
        auto_pause_after: 3             # missed offers in a row before an agent is paused
        wrapup_seconds: 10              # after-call work before the next call
        after_call: ready               # ready | rest: the state after the wrap-up
        service_level_seconds: 20
        service_level: answered         # answered | answered_and_abandoned
        short_abandon_seconds: 5
        agents:                         # members (agents may also be added with the CLI)
          - {id: kim, endpoint: PJSIP/kim, priority: 0, weight: 50, ring_seconds: 20}
          - {id: lee, endpoint: "010-2222-3333"}   # an outside phone via the trunk
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ivr_engine.domain.model import Prompt
from ivr_engine.domain.numbers import NumberKind, format_number, parse_number
from ivr_engine.errors import ValidationError

__all__ = [
    "AfterCall",
    "Overflow",
    "QueueAgent",
    "QueueConfig",
    "QueueConfigInvalid",
    "QueueStrategy",
    "ServiceLevelMode",
    "find_queue",
    "merge_queues",
    "parse_endpoint",
    "parse_queues",
    "queues_to_data",
]

DTMF_KEYS = "0123456789*#"


class QueueStrategy(StrEnum):
    """How a queue picks the agent(s) to offer a call to."""

    RING_ALL = "ring_all"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    WEIGHTED = "weighted"
    STICKY = "sticky"


class ServiceLevelMode(StrEnum):
    """Which definition of the service level a queue reports."""

    ANSWERED = "answered"  # answered within T / answered
    ANSWERED_AND_ABANDONED = "answered_and_abandoned"  # (ans. + aband. within T) / (ans. + aband.)


class AfterCall(StrEnum):
    """The state an agent takes when the wrap-up after a call ends."""

    READY = "ready"
    REST = "rest"


@dataclass(frozen=True)
class Overflow:
    """Where a caller goes after the maximum wait or when no agent is logged in: a forward
    number (rung for ``ring_seconds``), else an announcement and hang-up (``prompt`` None:
    the system prompt "cannot-be-reached")."""

    forward: str | None = None
    ring_seconds: int = 20
    prompt: Prompt | None = None


@dataclass(frozen=True)
class QueueAgent:
    """An agent declared as a member of a queue. ``endpoint`` is ``PJSIP/<name>`` (a SIP
    phone) or a normalised phone number (reached through the trunk)."""

    id: str
    endpoint: str
    name: str = ""
    priority: int = 0  # lower is offered first
    weight: int = 1  # share of calls under the weighted strategy
    ring_seconds: int | None = None  # None: the queue's


@dataclass(frozen=True)
class QueueConfig:
    """One call queue."""

    id: str
    name: str = ""
    strategy: QueueStrategy = QueueStrategy.LONGEST_IDLE
    ring_seconds: int = 15
    max_wait_seconds: int = 300
    overflow: Overflow = Overflow()
    moh_class: str | None = "default"
    coloring: Prompt | None = None  # looped instead of music on hold when set
    announcement: Prompt | None = None  # None: the system prompt "queue-wait"
    announce_every_seconds: int = 30
    announce_position: bool = False
    announce_wait: bool = False
    callback_key: str | None = None
    auto_pause_after: int = 0  # 0: never
    wrapup_seconds: int = 0
    after_call: AfterCall = AfterCall.READY
    service_level_seconds: int = 20
    service_level: ServiceLevelMode = ServiceLevelMode.ANSWERED
    short_abandon_seconds: int = 5
    agents: tuple[QueueAgent, ...] = ()

    @property
    def label(self) -> str:
        """The queue's name, else its id."""
        return self.name or self.id


class QueueConfigInvalid(ValidationError):
    """A queue definition is invalid at ``path``; ``message`` says what is wrong."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message, path)
        self.message = message


QUEUE_KEYS = (
    "id",
    "name",
    "strategy",
    "ring_seconds",
    "max_wait_seconds",
    "overflow",
    "holding",
    "announcement",
    "announce_every_seconds",
    "announce_position",
    "announce_wait",
    "callback_key",
    "auto_pause_after",
    "wrapup_seconds",
    "after_call",
    "service_level_seconds",
    "service_level",
    "short_abandon_seconds",
    "agents",
)
AGENT_KEYS = ("id", "endpoint", "name", "priority", "weight", "ring_seconds")
_DEFAULT = QueueConfig("_")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _mapping(value: object, path: str, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise QueueConfigInvalid(f"expected a mapping, got {type(value).__name__}", path)
    for key in value:
        if key not in known:
            raise QueueConfigInvalid(
                f"unknown key {str(key)!r} (known keys: {', '.join(known)})", _at(path, str(key))
            )
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QueueConfigInvalid(f"expected non-empty text, got {value!r}", path)
    return value


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueueConfigInvalid(
            f"expected a whole number from {low} to {high}, got {value!r}", path
        )
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise QueueConfigInvalid(f"expected true or false, got {value!r}", path)
    return value


def _enum(value: object, enum: type[StrEnum], path: str) -> Any:
    allowed = [e.value for e in enum]
    if value not in allowed:
        raise QueueConfigInvalid(f"{value!r} is not one of {', '.join(allowed)}", path)
    return enum(value)


def _prompt(value: object, path: str) -> Prompt:
    if isinstance(value, str):
        value = {"text": value}
    mapping = _mapping(value, path, ("text", "audio"))
    if len(mapping) != 1:
        raise QueueConfigInvalid("a prompt needs exactly one of text or audio", path)
    key, content = next(iter(mapping.items()))
    content = _text(content, _at(path, key))
    return Prompt(text=content) if key == "text" else Prompt(audio=content)


def _prompt_data(prompt: Prompt) -> dict[str, str]:
    return {"text": prompt.text} if prompt.text is not None else {"audio": prompt.audio or ""}


def _phone(value: object, path: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise QueueConfigInvalid(f"{value!r}: write phone numbers as quoted text", path)
    try:
        parsed = parse_number(_text(value, path))
    except ValidationError as exc:
        raise QueueConfigInvalid(str(exc), path) from None
    if parsed.kind is NumberKind.ANONYMOUS or not parsed.digits:
        raise QueueConfigInvalid(f"{value!r} is not a phone number", path)
    return parsed.digits


def parse_endpoint(value: object, path: str = "endpoint") -> str:
    """An agent endpoint: ``PJSIP/<name>`` as is, anything else as a phone number."""
    text = _text(value, path) if not isinstance(value, int) else value
    if isinstance(text, str) and text.upper().startswith("PJSIP/"):
        name = text[6:]
        if not name or any(c in name for c in "/@, "):
            raise QueueConfigInvalid(f"{text!r} is not a SIP endpoint PJSIP/<name>", path)
        return f"PJSIP/{name}"
    return _phone(text, path)


def _overflow(value: object, path: str) -> Overflow:
    mapping = _mapping(value, path, ("forward", "ring_seconds", "announce"))
    if ("forward" in mapping) == ("announce" in mapping):
        raise QueueConfigInvalid("an overflow needs exactly one of forward or announce", path)
    if "forward" in mapping:
        ring = _int(mapping.get("ring_seconds", 20), _at(path, "ring_seconds"), 1, 600)
        return Overflow(forward=_phone(mapping["forward"], _at(path, "forward")), ring_seconds=ring)
    return Overflow(prompt=_prompt(mapping["announce"], _at(path, "announce")))


def _holding(value: object, path: str) -> tuple[str | None, Prompt | None]:
    mapping = _mapping(value, path, ("moh", "coloring"))
    if len(mapping) != 1:
        raise QueueConfigInvalid("holding needs exactly one of moh or coloring", path)
    if "moh" in mapping:
        return _text(mapping["moh"], _at(path, "moh")), None
    return None, _prompt(mapping["coloring"], _at(path, "coloring"))


def _agent(value: object, path: str) -> QueueAgent:
    mapping = _mapping(value, path, AGENT_KEYS)
    for key in ("id", "endpoint"):
        if key not in mapping:
            raise QueueConfigInvalid(f"missing key {key!r}", path)
    ring = mapping.get("ring_seconds")
    return QueueAgent(
        id=_text(mapping["id"], _at(path, "id")),
        endpoint=parse_endpoint(mapping["endpoint"], _at(path, "endpoint")),
        name=str(mapping.get("name") or ""),
        priority=_int(mapping.get("priority", 0), _at(path, "priority"), 0, 100),
        weight=_int(mapping.get("weight", 1), _at(path, "weight"), 1, 1000),
        ring_seconds=None if ring is None else _int(ring, _at(path, "ring_seconds"), 1, 600),
    )


_INTS = {
    "ring_seconds": (1, 600),
    "max_wait_seconds": (0, 86400),
    "announce_every_seconds": (0, 3600),
    "auto_pause_after": (0, 100),
    "wrapup_seconds": (0, 3600),
    "service_level_seconds": (1, 3600),
    "short_abandon_seconds": (0, 3600),
}
_BOOLS = ("announce_position", "announce_wait")
_ENUMS: dict[str, type[StrEnum]] = {
    "strategy": QueueStrategy,
    "after_call": AfterCall,
    "service_level": ServiceLevelMode,
}


def _queue(value: object, path: str) -> QueueConfig:
    mapping = _mapping(value, path, QUEUE_KEYS)
    if "id" not in mapping:
        raise QueueConfigInvalid("missing key 'id'", path)
    values: dict[str, Any] = {"id": _text(mapping["id"], _at(path, "id"))}
    for key, raw in mapping.items():
        where = _at(path, key)
        if raw is None or key == "id":
            continue
        if key in _INTS:
            values[key] = _int(raw, where, *_INTS[key])
        elif key in _BOOLS:
            values[key] = _bool(raw, where)
        elif key in _ENUMS:
            values[key] = _enum(raw, _ENUMS[key], where)
        elif key == "name":
            values["name"] = _text(raw, where)
        elif key == "overflow":
            values["overflow"] = _overflow(raw, where)
        elif key == "holding":
            values["moh_class"], values["coloring"] = _holding(raw, where)
        elif key == "announcement":
            values["announcement"] = _prompt(raw, where)
        elif key == "callback_key":
            key_text = str(raw)
            if len(key_text) != 1 or key_text not in DTMF_KEYS:
                raise QueueConfigInvalid(f"{raw!r} is not one DTMF key (0-9, * or #)", where)
            values["callback_key"] = key_text
        elif key == "agents":
            if not isinstance(raw, list):
                raise QueueConfigInvalid("expected a list of agents", where)
            agents = tuple(_agent(a, f"{where}[{i}]") for i, a in enumerate(raw))
            ids = [a.id for a in agents]
            dup = next((a for a in ids if ids.count(a) > 1), None)
            if dup is not None:
                raise QueueConfigInvalid(f"agent {dup!r} is listed twice", where)
            values["agents"] = agents
    return QueueConfig(**values)


def parse_queues(data: object, path: str = "queues") -> tuple[QueueConfig, ...]:
    """The ``queues`` list as QueueConfigs; raises QueueConfigInvalid (path + message) on
    the first problem, including a queue id used twice."""
    if not isinstance(data, list | tuple):
        raise QueueConfigInvalid(f"expected a list of queues, got {type(data).__name__}", path)
    queues = tuple(_queue(item, f"{path}[{i}]") for i, item in enumerate(data))
    seen: set[str] = set()
    for i, queue in enumerate(queues):
        if queue.id in seen:
            raise QueueConfigInvalid(f"queue id {queue.id!r} is used twice", f"{path}[{i}].id")
        seen.add(queue.id)
    return queues


def _agent_data(agent: QueueAgent) -> dict[str, Any]:
    endpoint = (
        agent.endpoint if agent.endpoint.startswith("PJSIP/") else format_number(agent.endpoint)
    )
    out: dict[str, Any] = {"id": agent.id, "endpoint": endpoint}
    if agent.name:
        out["name"] = agent.name
    if agent.priority:
        out["priority"] = agent.priority
    if agent.weight != 1:
        out["weight"] = agent.weight
    if agent.ring_seconds is not None:
        out["ring_seconds"] = agent.ring_seconds
    return out


def _queue_data(q: QueueConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.id}
    if q.name:
        out["name"] = q.name
    for key in (*_INTS, *_BOOLS, *_ENUMS):
        value = getattr(q, key)
        if value != getattr(_DEFAULT, key):
            out[key] = value.value if isinstance(value, StrEnum) else value
    if q.overflow != _DEFAULT.overflow:
        if q.overflow.forward is not None:
            out["overflow"] = {
                "forward": format_number(q.overflow.forward),
                "ring_seconds": q.overflow.ring_seconds,
            }
        elif q.overflow.prompt is not None:
            out["overflow"] = {"announce": _prompt_data(q.overflow.prompt)}
    if q.coloring is not None:
        out["holding"] = {"coloring": _prompt_data(q.coloring)}
    elif q.moh_class != _DEFAULT.moh_class and q.moh_class is not None:
        out["holding"] = {"moh": q.moh_class}
    if q.announcement is not None:
        out["announcement"] = _prompt_data(q.announcement)
    if q.callback_key is not None:
        out["callback_key"] = q.callback_key
    if q.agents:
        out["agents"] = [_agent_data(a) for a in q.agents]
    return out


def queues_to_data(queues: tuple[QueueConfig, ...] | list[QueueConfig]) -> list[dict[str, Any]]:
    """The inverse of ``parse_queues``: JSON-serialisable data that parses back equal."""
    return [_queue_data(q) for q in queues]


def merge_queues(
    tenant: tuple[QueueConfig, ...] | None, own: tuple[QueueConfig, ...] | None
) -> tuple[QueueConfig, ...] | None:
    """A number's queues merged with its tenant's by id (the number's definition wins),
    tenant order first; None when neither layer sets any."""
    if tenant is None and own is None:
        return None
    merged = {q.id: q for q in tenant or ()}
    merged.update({q.id: q for q in own or ()})
    return tuple(merged.values())


def find_queue(queues: tuple[QueueConfig, ...] | None, queue_id: str) -> QueueConfig | None:
    """The queue with that id, or None."""
    return next((q for q in queues or () if q.id == queue_id), None)

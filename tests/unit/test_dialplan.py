"""The shipped dialplan and Asterisk configuration, checked by parsing them."""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr_engine.settings import AgiSettings, AriSettings

REPO = Path(__file__).resolve().parents[2]
DIALPLAN = REPO / "dialplan" / "ivr-engine.conf"
CONF = REPO / "asterisk_conf"


@dataclass(frozen=True)
class Step:
    """One dialplan priority."""

    exten: str
    priority: int
    label: str
    app: str
    args: str


def parse_dialplan(text: str) -> dict[str, list[Step]]:
    """Contexts -> steps, from `exten =>` / `same =>` lines (comments dropped)."""
    contexts: dict[str, list[Step]] = {}
    current: list[Step] = []
    exten, prio = "", 0
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if m := re.fullmatch(r"\[([\w-]+)\]", line):
            current = contexts.setdefault(m.group(1), [])
            continue
        m = re.fullmatch(
            r"(exten|same)\s*=>\s*(?:([^,]+),)?(\d+|n)(?:\((\w+)\))?,(\w+)\((.*)\)", line
        )
        assert m, f"unparsed dialplan line: {raw!r}"
        kind, ext, p, label, app, args = m.groups()
        if kind == "exten":
            exten, prio = ext, int(p)
        else:
            prio += 1
        current.append(Step(exten, prio, label or "", app, args))
    return contexts


def pattern_matches(pattern: str, number: str) -> bool:
    """Asterisk extension matching for the pattern characters this dialplan uses."""
    if not pattern.startswith("_"):
        return pattern == number
    rx = ""
    for ch in pattern[1:]:
        rx += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
            ch, re.escape(ch)
        )
    return re.fullmatch(rx, number) is not None


def specificity(pattern: str) -> tuple[int, ...]:
    """Sort key: literal characters beat classes, which beat `.` (earlier positions first)."""
    return tuple(0 if ch not in "XZN." else (1 if ch != "." else 2) for ch in pattern[1:])


def route(contexts: dict[str, list[Step]], context: str, number: str) -> tuple[str, str]:
    """Follow the DID normalisation Gotos; returns the (context, exten) that handles it."""
    for _ in range(5):
        candidates = {s.exten for s in contexts[context] if pattern_matches(s.exten, number)}
        assert candidates, f"{number} matches nothing in {context}"
        exten = min(candidates, key=specificity)
        first = next(s for s in contexts[context] if s.exten == exten)
        if first.app != "Goto" or "${EXTEN:" not in first.args:
            return context, number
        ctx, target, _ = first.args.split(",")
        offset = int(re.search(r"\$\{EXTEN:(\d+)\}", target).group(1))  # type: ignore[union-attr]
        number = re.sub(r"\$\{EXTEN:\d+\}", number[offset:], target)
        context = context if ctx == "${CONTEXT}" else ctx
    raise AssertionError("normalisation loops")


@pytest.fixture(scope="module")
def plan() -> dict[str, list[Step]]:
    """The parsed dialplan."""
    return parse_dialplan(DIALPLAN.read_text(encoding="utf-8"))


def steps(plan: dict[str, list[Step]], context: str, exten: str = "_0X.") -> list[Step]:
    """The priorities of one extension, in order."""
    return [s for s in plan[context] if s.exten == exten]


def test_contexts_exist(plan: dict[str, list[Step]]) -> None:
    assert {"from-carrier", "from-carrier-agi", "ivr-fallback"} <= set(plan)


def test_fallback_follows_stasis_right_away(plan: dict[str, list[Step]]) -> None:
    inbound = steps(plan, "from-carrier")
    i = next(i for i, s in enumerate(inbound) if s.app == "Stasis")
    assert inbound[i].args == f"{AriSettings().app},inbound"
    assert inbound[i + 1].app == "Goto"
    assert inbound[i + 1].args == "ivr-fallback,${EXTEN},1"


def test_fallback_dials_the_astdb_target_else_announces(plan: dict[str, list[Step]]) -> None:
    fb = steps(plan, "ivr-fallback")
    args = [f"{s.app}({s.args})" for s in fb]
    lookup = next(i for i, a in enumerate(args) if "${DB(ivr-fallback/${EXTEN})}" in a)
    dial = next(i for i, a in enumerate(args) if a.startswith("Dial("))
    assert lookup < dial
    assert f"PJSIP/${{IVR_FB_TARGET}}@{AriSettings().trunk}" in fb[dial].args
    play = next(i for i, s in enumerate(fb) if s.app == "Playback")
    assert fb[play].args == "ivr/system/cannot-be-reached,noanswer"
    assert fb[play - 1].app == "Progress"  # early media: the caller is not charged
    assert fb[play + 1].app == "Hangup" and fb[-1].app == "Hangup"


def test_agi_context_calls_the_engine_then_falls_back(plan: dict[str, list[Step]]) -> None:
    agi = steps(plan, "from-carrier-agi")
    i = next(i for i, s in enumerate(agi) if s.app == "AGI")
    agi_settings = AgiSettings()
    assert agi[i].args == f"agi://{agi_settings.host}:{agi_settings.port}/route"
    assert agi[i + 1].app == "GotoIf" and "ivr-fallback,${EXTEN},1" in agi[i + 1].args
    actions = {re.search(r'= "(\w+)"', s.args).group(1) for s in agi[i + 2 : i + 5]}  # type: ignore[union-attr]
    assert actions == {"forward", "announce", "hangup"}
    text = DIALPLAN.read_text(encoding="utf-8")
    for var in ("IVR_ACTION", "IVR_TARGETS", "IVR_RING", "IVR_PROMPT", "IVR_CAUSE", "IVR_CALLERID"):
        assert re.search(rf"^;\s+{var}\s", text, re.M), f"{var} is not documented"


def test_every_jump_lands_on_something(plan: dict[str, list[Step]]) -> None:
    for context, ctx_steps in plan.items():
        for step in ctx_steps:
            if step.app not in {"Goto", "GotoIf"}:
                continue
            targets = step.args.split("?", 1)[1].split(":") if step.app == "GotoIf" else [step.args]
            for target in filter(None, targets):
                parts = target.split(",")
                if len(parts) == 3:
                    ctx = context if parts[0] == "${CONTEXT}" else parts[0]
                    assert ctx in plan, f"{context}: jump to unknown context {ctx}"
                else:
                    labels = {s.label for s in ctx_steps if s.exten == step.exten}
                    assert parts[0] in labels, f"{context}: unknown label {parts[0]}"


def test_every_played_sound_is_shipped(plan: dict[str, list[Step]]) -> None:
    played = [
        s.args.split(",")[0]
        for ctx in plan.values()
        for s in ctx
        if s.app in {"Playback", "Background"} and "${" not in s.args
    ]
    assert played
    for name in played:
        for sound in name.split("&"):
            assert (REPO / "sounds" / f"{sound}.wav").is_file(), f"{sound} is not in sounds/"


@pytest.mark.parametrize("did", ["05051234567", "+825051234567", "825051234567", "+8205051234567"])
@pytest.mark.parametrize("context", ["from-carrier", "from-carrier-agi"])
def test_dids_are_normalised_to_national_digits(
    plan: dict[str, list[Step]], did: str, context: str
) -> None:
    assert route(plan, context, did) == (context, "05051234567")


def test_extensions_conf_includes_the_dialplan() -> None:
    text = (CONF / "extensions.conf").read_text(encoding="utf-8")
    include = re.search(r"^#include\s+(\S+)", text, re.M)
    assert include and DIALPLAN in set(REPO.glob(include.group(1)))


def test_asterisk_conf_matches_the_engine_defaults() -> None:
    ari, modules = AriSettings(), (CONF / "modules.conf").read_text(encoding="utf-8")
    for module in (
        "res_ari.so",
        "res_stasis.so",
        "res_http_websocket.so",
        "chan_pjsip.so",
        "res_agi.so",
        "app_stasis.so",
        "func_db.so",
        "res_ari_channels.so",
    ):
        assert re.search(rf"^require\s*=\s*{re.escape(module)}$", modules, re.M), module
    assert f"[{ari.user}]" in (CONF / "ari.conf").read_text(encoding="utf-8")
    assert "bindport = 8088" in (CONF / "http.conf").read_text(encoding="utf-8")
    manager = (CONF / "manager.conf").read_text(encoding="utf-8")
    write = re.search(r"^write\s*=\s*(.+)$", manager, re.M)
    assert write and {"originate", "system", "call", "agent", "reporting"} <= {
        p.strip() for p in write.group(1).split(",")
    }
    pjsip = (CONF / "pjsip.conf").read_text(encoding="utf-8")
    for kind in ("registration", "identify", "aor", "endpoint"):
        assert re.search(rf"^\[{ari.trunk}(-\w+)?\]\ntype = {kind}$", pjsip, re.M), kind
    assert "context = from-carrier\n" in pjsip

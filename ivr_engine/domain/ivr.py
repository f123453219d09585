"""IVR menus: the menu model, the DTMF matcher and menu prompts generated from item labels.

A menu maps digits to actions: forward (to the item's own targets or the number's), queue,
sub-menu, announcement then hang up, callback request, repeat, go back. The caller hears the
menu prompt (written by hand, or generated from the labels: "회원 문의는 1번, 결제 문의는
2번을 눌러주세요"), presses keys, and ``match_digits`` says whether the keys so far are
INCOMPLETE, COMPLETE or INVALID. The state machine that drives a menu call is in
``domain.menu_machine``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ivr_engine.domain.model import ForwardTarget, Prompt
from ivr_engine.domain.numbers import mask

DTMF_KEYS = "0123456789*#"
DEFAULT_TIMEOUT = 5.0  # seconds to wait for the first key after the prompt
DEFAULT_DIGIT_TIMEOUT = 3.0  # seconds to wait for the next key of a longer choice
DEFAULT_TRIES = 3  # times the caller is asked before the destination after the last try


class ActionKind(StrEnum):
    """What pressing a menu item does."""

    FORWARD = "forward"  # ring forward targets (the item's own, else the number's)
    QUEUE = "queue"  # wait in a queue for an agent
    MENU = "menu"  # go to a sub-menu
    ANNOUNCE = "announce"  # play an announcement, then hang up
    CALLBACK = "callback"  # leave a callback request with the caller's number, then hang up
    REPEAT = "repeat"  # hear the menu again
    BACK = "back"  # return to the menu before this one


# Actions that end the menu part of the call (the others stay in a menu).
LEAVING = frozenset(
    {ActionKind.FORWARD, ActionKind.QUEUE, ActionKind.ANNOUNCE, ActionKind.CALLBACK}
)
DEFAULT_LABELS = {ActionKind.REPEAT: "다시 듣기", ActionKind.BACK: "이전 메뉴"}


@dataclass(frozen=True)
class MenuAction:
    """The action of a menu item (or of a menu after its last try)."""

    kind: ActionKind
    targets: tuple[ForwardTarget, ...] = ()  # forward: () = the number's own targets
    queue: str | None = None  # queue: the queue id
    menu: str | None = None  # menu: the sub-menu id
    prompt: Prompt | None = None  # announce: the announcement; callback: the confirmation

    def describe(self) -> str:
        """Where the action leads, in words, numbers masked."""
        if self.kind is ActionKind.FORWARD:
            if not self.targets:
                return "forward to the number's targets"
            return "forward to " + " then ".join(
                f"{mask(t.number)} {t.ring_seconds}s" for t in self.targets
            )
        if self.kind is ActionKind.QUEUE:
            return f"queue {self.queue}"
        if self.kind is ActionKind.MENU:
            return f"menu {self.menu}"
        if self.kind is ActionKind.ANNOUNCE:
            what = self.prompt.describe() if self.prompt else "system prompt goodbye"
            return f"announce {what}, then hang up"
        if self.kind is ActionKind.CALLBACK:
            return "leave a callback request, then hang up"
        return "repeat the menu" if self.kind is ActionKind.REPEAT else "go back"


HANG_UP = MenuAction(ActionKind.ANNOUNCE)  # goodbye and hang up: the default after the last try


@dataclass(frozen=True)
class MenuItem:
    """One choice of a menu: the keys to press, a label for the generated prompt, an action."""

    digits: str
    action: MenuAction
    label: str = ""

    @property
    def spoken_label(self) -> str:
        """The label used in a generated prompt (repeat and back have default labels)."""
        return self.label or DEFAULT_LABELS.get(self.action.kind, "")


@dataclass(frozen=True)
class Menu:
    """A menu: its prompt, its items, its timeouts and what happens when the caller never
    makes a valid choice."""

    id: str
    items: tuple[MenuItem, ...]
    prompt: Prompt | None = None  # None: generated from the item labels
    greeting: Prompt | None = None  # played once when the menu is entered
    timeout: float = DEFAULT_TIMEOUT
    digit_timeout: float = DEFAULT_DIGIT_TIMEOUT
    tries: int = DEFAULT_TRIES
    invalid_prompt: Prompt | None = None  # None: the system prompt invalid-choice
    timeout_prompt: Prompt | None = None  # None: the menu prompt is simply played again
    after_last: MenuAction | None = None  # None: goodbye, then hang up

    @property
    def single(self) -> MenuItem | None:
        """The only item of a one-item menu (which connects without prompting)."""
        return self.items[0] if len(self.items) == 1 else None

    def menu_prompt(self) -> Prompt | None:
        """The prompt the caller hears: the written one, else one generated from labels."""
        if self.prompt is not None:
            return self.prompt
        text = menu_prompt_text(self.items)
        return Prompt(text=text) if text else None

    @property
    def destination(self) -> MenuAction:
        """Where the caller goes after the last try."""
        return self.after_last or HANG_UP


class Match(StrEnum):
    """What the keys pressed so far amount to."""

    INCOMPLETE = "incomplete"  # a longer choice may follow
    COMPLETE = "complete"  # exactly one item, and no longer one starts with these keys
    INVALID = "invalid"  # no item is or starts with these keys


@dataclass(frozen=True)
class MatchResult:
    """The matcher's answer; ``item`` is the exact match (also when INCOMPLETE: a longer
    choice is possible, and the exact one wins when the inter-digit timeout passes)."""

    status: Match
    item: MenuItem | None = None


def match_digits(items: Iterable[MenuItem], digits: str) -> MatchResult:
    """Match the keys pressed so far against a menu's items."""
    exact: MenuItem | None = None
    longer = False
    for item in items:
        if item.digits == digits:
            exact = exact or item
        elif item.digits.startswith(digits):
            longer = True
    if longer:
        return MatchResult(Match.INCOMPLETE, exact)
    if exact is not None:
        return MatchResult(Match.COMPLETE, exact)
    return MatchResult(Match.INVALID)


# -- generated prompts ------------------------------------------------------------------
_KEY_WORDS = {"*": "별표", "#": "우물 정자"}
# How digits are read in Korean, and whether that reading ends with a final consonant.
_DIGIT_BATCHIM = {
    "0": True,
    "1": True,
    "2": False,
    "3": True,
    "4": False,
    "5": False,
    "6": True,
    "7": True,
    "8": True,
    "9": False,
}


def _has_batchim(word: str) -> bool:
    """True when the word's last sound ends in a consonant (picks 은/는, 을/를)."""
    last = word.rstrip()[-1:] or "a"
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28 != 0
    return _DIGIT_BATCHIM.get(last, False)


def key_words(digits: str) -> str:
    """How a choice's keys are spoken: ``1번``, ``별표``, ``우물 정자``, ``12번``."""
    return _KEY_WORDS.get(digits, f"{digits}번")


def menu_prompt_text(items: Iterable[MenuItem]) -> str:
    """``회원 문의는 1번, 결제 문의는 2번을 눌러주세요`` from the items' labels (items
    without a label are left out; '' when none has one)."""
    parts = []
    for item in items:
        label = item.spoken_label.strip()
        if not label:
            continue
        topic = "은" if _has_batchim(label) else "는"
        parts.append(f"{label}{topic} {key_words(item.digits)}")
    if not parts:
        return ""
    last = parts[-1]
    obj = "을" if _has_batchim(last) else "를"
    return f"{', '.join(parts)}{obj} 눌러주세요"


# -- a set of menus ------------------------------------------------------------------------
def menus_by_id(menus: Iterable[Menu]) -> dict[str, Menu]:
    """Menus by id (the last one with an id wins)."""
    return {m.id: m for m in menus}


def next_menus(menu: Menu) -> list[str]:
    """Ids of the menus a menu leads to (sub-menu items and the destination)."""
    out = [i.action.menu for i in menu.items if i.action.kind is ActionKind.MENU and i.action.menu]
    if (
        menu.after_last is not None
        and menu.after_last.kind is ActionKind.MENU
        and menu.after_last.menu
    ):
        out.append(menu.after_last.menu)
    return out


def reachable(menus: Mapping[str, Menu], entry: str) -> list[str]:
    """Ids of the menus reachable from ``entry`` (entry first, breadth first; unknown ids
    are left out)."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        current = todo.pop(0)
        if current in seen or current not in menus:
            continue
        seen.append(current)
        todo.extend(next_menus(menus[current]))
    return seen


def menu_prompts(menus: Iterable[Menu]) -> Iterator[tuple[str, Prompt]]:
    """Every prompt a set of menus plays (generated menu prompts included), with where it
    is used: ``menus[main].prompt``. The prompt builder makes sounds from these."""

    def of_action(where: str, action: MenuAction | None) -> Iterator[tuple[str, Prompt]]:
        if action is not None and action.prompt is not None:
            yield f"{where}.prompt", action.prompt

    for menu in menus:
        where = f"menus[{menu.id}]"
        for name in ("greeting", "invalid_prompt", "timeout_prompt"):
            prompt = getattr(menu, name)
            if prompt is not None:
                yield f"{where}.{name}", prompt
        spoken = menu.menu_prompt()
        if spoken is not None:
            yield f"{where}.prompt", spoken
        for item in menu.items:
            yield from of_action(f"{where}.items[{item.digits}]", item.action)
        yield from of_action(f"{where}.after_last", menu.after_last)


def describe_menu(menu: Menu) -> list[str]:
    """A menu in words for dry runs: its prompt, then where each key leads."""
    prompt = menu.menu_prompt()
    lines = [f"menu {menu.id}: " + (prompt.describe() if prompt else "no prompt")]
    if menu.single is not None:
        lines[0] += " (single item: connects without prompting)"
    lines += [
        f"  {i.digits}"
        + (f" {i.spoken_label}" if i.spoken_label else "")
        + f" -> {i.action.describe()}"
        for i in menu.items
    ]
    lines.append(f"  after {menu.tries} tries -> {menu.destination.describe()}")
    return lines

"""The ``menus`` key of the configuration format: parsing and its exact inverse.

::

    menus:
      - id: main
        greeting: {text: ...}            # optional, played once on entering the menu
        prompt: {text: ...}              # optional: generated from the item labels
        timeout: 5                       # seconds for the first key (0.5-60)
        digit_timeout: 3                 # seconds between the keys of a longer choice
        tries: 3                         # times the caller is asked (1-10)
        invalid_prompt: {text: ...}      # default: the system prompt invalid-choice
        timeout_prompt: {text: ...}      # default: none (the menu plays again)
        items:
          - {key: "1", label: 회원 문의, forward: [{number: ..., ring_seconds: 20}]}
          - {key: "2", label: 결제 문의, queue: support}
          - {key: "3", label: 매장 안내, menu: stores}
          - {key: "4", label: 영업시간 안내, announce: {text: ...}}
          - {key: "5", label: 상담 예약, callback: {text: ...}}   # or callback: true
          - {key: "*", repeat: true}
          - {key: "0", back: true}
        after_last: {queue: support}     # default: goodbye, then hang up
    menu: main                           # the number's entry menu

``forward: true`` rings the number's own targets. An ``announce`` or ``callback`` without a
prompt plays the system prompt goodbye. Used through ``config_doc``.
"""

from __future__ import annotations

from typing import Any

from ivr_engine.domain.config_fields import (
    Invalid,
    _at,
    _expect_keys,
    _expect_list,
    _expect_mapping,
    _expect_str,
    _int,
    _prompt,
    _prompt_data,
    _targets,
)
from ivr_engine.domain.ivr import DTMF_KEYS, ActionKind, Menu, MenuAction, MenuItem
from ivr_engine.domain.numbers import format_number

ACTION_KEYS = tuple(kind.value for kind in ActionKind)
AFTER_LAST_KEYS = ("forward", "queue", "menu", "announce", "callback")
ITEM_KEYS = ("key", "label", *ACTION_KEYS)
MENU_KEYS = (
    "id",
    "greeting",
    "prompt",
    "timeout",
    "digit_timeout",
    "tries",
    "invalid_prompt",
    "timeout_prompt",
    "items",
    "after_last",
)


def _name(value: object, path: str) -> str:
    """A menu or queue id: non-empty text."""
    text = _expect_str(value, path).strip()
    if not text:
        raise Invalid(path, "must not be empty")
    return text


def _key(value: object, path: str) -> str:
    """The keys of an item: one or more of 0-9 * # (a YAML number is read as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    text = _expect_str(value, path).strip()
    if not text or any(c not in DTMF_KEYS for c in text):
        raise Invalid(path, f'"{text}" is not a key sequence (use 0-9, * and #)')
    return text


def _seconds(value: object, path: str) -> float:
    """A timeout in seconds, 0.5 to 60 (decimals allowed)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value <= 60:
        raise Invalid(path, f"expected seconds from 0.5 to 60, got {value!r}")
    return float(value)


def _flag(value: object, path: str) -> None:
    """``true`` for actions without a value (repeat, back)."""
    if value is not True:
        raise Invalid(path, f"expected true, got {value!r}")


def _optional_prompt(value: object, path: str) -> Any:
    """A prompt, or ``true`` for the default one."""
    return None if value is True else _prompt(value, path)


def _action(mapping: dict[str, Any], path: str, allowed: tuple[str, ...]) -> MenuAction:
    """The one action key of an item (or of ``after_last``)."""
    present = [k for k in allowed if k in mapping]
    if len(present) != 1:
        raise Invalid(
            path,
            f"needs exactly one action of {', '.join(allowed)}"
            + (f" (found {', '.join(present)})" if present else ""),
        )
    key = present[0]
    value, where = mapping[key], _at(path, key)
    kind = ActionKind(key)
    if kind is ActionKind.FORWARD:
        return MenuAction(kind, targets=() if value is True else _targets(value, where))
    if kind is ActionKind.QUEUE:
        return MenuAction(kind, queue=_name(value, where))
    if kind is ActionKind.MENU:
        return MenuAction(kind, menu=_name(value, where))
    if kind in (ActionKind.ANNOUNCE, ActionKind.CALLBACK):
        return MenuAction(kind, prompt=_optional_prompt(value, where))
    _flag(value, where)
    return MenuAction(kind)


def _item(value: object, path: str) -> MenuItem:
    """One menu item."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ITEM_KEYS, path)
    if "key" not in mapping:
        raise Invalid(path, "missing key 'key'")
    label = mapping.get("label") or ""
    return MenuItem(
        digits=_key(mapping["key"], _at(path, "key")),
        action=_action(mapping, path, ACTION_KEYS),
        label=_expect_str(label, _at(path, "label")).strip(),
    )


def _menu(value: object, path: str) -> Menu:
    """One menu."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, MENU_KEYS, path)
    for key in ("id", "items"):
        if key not in mapping:
            raise Invalid(path, f"missing key {key!r}")
    items_path = _at(path, "items")
    items = tuple(
        _item(v, f"{items_path}[{i}]")
        for i, v in enumerate(_expect_list(mapping["items"], items_path))
    )
    if not items:
        raise Invalid(items_path, "a menu needs at least one item")

    def prompt(key: str) -> Any:
        raw = mapping.get(key)
        return None if raw is None else _prompt(raw, _at(path, key))

    after = mapping.get("after_last")
    after_path = _at(path, "after_last")
    return Menu(
        id=_name(mapping["id"], _at(path, "id")),
        items=items,
        prompt=prompt("prompt"),
        greeting=prompt("greeting"),
        timeout=_seconds(mapping.get("timeout", 5), _at(path, "timeout")),
        digit_timeout=_seconds(mapping.get("digit_timeout", 3), _at(path, "digit_timeout")),
        tries=_int(mapping.get("tries", 3), _at(path, "tries"), 1, 10),
        invalid_prompt=prompt("invalid_prompt"),
        timeout_prompt=prompt("timeout_prompt"),
        after_last=None
        if after is None
        else _action(_expect_keys_of(after, after_path), after_path, AFTER_LAST_KEYS),
    )


def _expect_keys_of(value: object, path: str) -> dict[str, Any]:
    """``after_last``: a mapping with one action key."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, AFTER_LAST_KEYS, path)
    return mapping


def parse_menus(value: object, path: str) -> tuple[Menu, ...]:
    """The ``menus`` list; menu ids must be unique within one layer."""
    menus = tuple(_menu(v, f"{path}[{i}]") for i, v in enumerate(_expect_list(value, path)))
    seen: set[str] = set()
    for i, menu in enumerate(menus):
        if menu.id in seen:
            raise Invalid(f"{path}[{i}].id", f'menu "{menu.id}" is defined twice')
        seen.add(menu.id)
    return menus


def parse_menu_id(value: object, path: str) -> str:
    """The ``menu`` key (the entry menu's id)."""
    return _name(value, path)


def _number(seconds: float) -> int | float:
    """Seconds as written: whole numbers without a decimal point."""
    return int(seconds) if float(seconds).is_integer() else seconds


def action_data(action: MenuAction) -> dict[str, Any]:
    """An action as data (its one key)."""
    kind = action.kind
    if kind is ActionKind.FORWARD:
        value: Any = [
            {"number": format_number(t.number), "ring_seconds": t.ring_seconds}
            for t in action.targets
        ] or True
    elif kind is ActionKind.QUEUE:
        value = action.queue
    elif kind is ActionKind.MENU:
        value = action.menu
    elif kind in (ActionKind.ANNOUNCE, ActionKind.CALLBACK):
        value = True if action.prompt is None else _prompt_data(action.prompt)
    else:
        value = True
    return {kind.value: value}


def menus_to_data(menus: tuple[Menu, ...]) -> list[dict[str, Any]]:
    """The inverse of ``parse_menus``: JSON-serialisable data that parses back equal."""
    out = []
    for menu in menus:
        data: dict[str, Any] = {"id": menu.id}
        for key in ("greeting", "prompt"):
            prompt = getattr(menu, key)
            if prompt is not None:
                data[key] = _prompt_data(prompt)
        data.update(
            timeout=_number(menu.timeout),
            digit_timeout=_number(menu.digit_timeout),
            tries=menu.tries,
        )
        for key in ("invalid_prompt", "timeout_prompt"):
            prompt = getattr(menu, key)
            if prompt is not None:
                data[key] = _prompt_data(prompt)
        data["items"] = [
            {"key": i.digits, **({"label": i.label} if i.label else {}), **action_data(i.action)}
            for i in menu.items
        ]
        if menu.after_last is not None:
            data["after_last"] = action_data(menu.after_last)
        out.append(data)
    return out

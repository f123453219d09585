"""Static checks of IVR menus (part of ``ivr-engine check``).

Per menu as written: duplicate keys, keys that start a longer choice, missing prompts
(no prompt and an item without a label to generate it from), prompts that cannot be
played. Per number, with its tenant's menus and queues merged in: an entry menu or a
sub-menu that does not exist, an unknown queue, a forward item with no target to ring,
loops (menus that lead to each other without the caller choosing: single-item menus and
destinations after the last try) and menus no caller can reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr_engine.domain.checks import ERROR, WARNING, Finding
from ivr_engine.domain.config_doc import resolve
from ivr_engine.domain.ivr import ActionKind, Menu, MenuAction, menus_by_id, reachable
from ivr_engine.domain.model import ConfigDocument, NumberConfig, NumberSettings, Prompt

PromptCheck = Callable[[Prompt | None, str], list[Finding]]


def _items(menu: Menu, path: str) -> list[Finding]:
    """Duplicate keys and keys that start a longer choice."""
    found: list[Finding] = []
    first: dict[str, int] = {}
    for n, item in enumerate(menu.items):
        where = f"{path}.items[{n}].key"
        if item.digits in first:
            found.append(
                Finding(
                    ERROR,
                    where,
                    f"key {item.digits} is already used by items[{first[item.digits]}]",
                )
            )
            continue
        first[item.digits] = n
    for item_key, n in first.items():
        item = menu.items[n]
        longer = [
            o.digits
            for o in menu.items
            if o.digits != item_key and o.digits.startswith(item.digits)
        ]
        if longer:
            found.append(
                Finding(
                    WARNING,
                    f"{path}.items[{n}].key",
                    f"key {item.digits} is also the start of {', '.join(longer)}: "
                    "callers choosing it wait for the inter-digit timeout",
                )
            )
    return found


def _prompts(menu: Menu, path: str, check_prompt: PromptCheck) -> list[Finding]:
    """Missing prompts, and prompts too long or whose audio is missing."""
    found: list[Finding] = []
    if menu.prompt is None and menu.single is None:
        unlabelled = [i for i in menu.items if not i.spoken_label]
        if len(unlabelled) == len(menu.items):
            found.append(
                Finding(
                    ERROR,
                    path,
                    "menu has no prompt and no item labels to "
                    "generate one from (callers would hear nothing)",
                )
            )
        for item in unlabelled if len(unlabelled) < len(menu.items) else ():
            n = menu.items.index(item)
            found.append(
                Finding(
                    ERROR,
                    f"{path}.items[{n}].label",
                    f"key {item.digits} has no label and the menu no prompt: "
                    "the generated prompt would not mention it",
                )
            )
    spoken = menu.menu_prompt()
    found += check_prompt(spoken, f"{path}.prompt")
    for name in ("greeting", "invalid_prompt", "timeout_prompt"):
        found += check_prompt(getattr(menu, name), f"{path}.{name}")
    for n, item in enumerate(menu.items):
        found += check_prompt(item.action.prompt, f"{path}.items[{n}].prompt")
        if item.action.kind is ActionKind.MENU and item.action.menu == menu.id:
            found.append(
                Finding(
                    WARNING,
                    f"{path}.items[{n}]",
                    f"key {item.digits} leads to this same menu (use repeat)",
                )
            )
    if menu.after_last is not None:
        found += check_prompt(menu.after_last.prompt, f"{path}.after_last.prompt")
    return found


def _layer(settings: NumberSettings, path: str, check_prompt: PromptCheck) -> list[Finding]:
    """Checks of the menus as written in one layer."""
    found: list[Finding] = []
    for m, menu in enumerate(settings.menus or ()):
        where = f"{path}.menus[{m}]"
        found += _items(menu, where) + _prompts(menu, where, check_prompt)
    return found


def _automatic(menu: Menu) -> list[str]:
    """Menus entered from this one without the caller choosing anything."""
    out = []
    single = menu.single
    if single is not None and single.action.kind is ActionKind.MENU and single.action.menu:
        out.append(single.action.menu)
    dest = menu.after_last
    if dest is not None and dest.kind is ActionKind.MENU and dest.menu:
        out.append(dest.menu)
    return out


def _loops(by_id: dict[str, Menu]) -> list[list[str]]:
    """Cycles of automatic transitions, each once (starting at its smallest id)."""
    cycles: list[list[str]] = []

    def walk(current: str, trail: list[str]) -> None:
        for nxt in _automatic(by_id[current]) if current in by_id else ():
            if nxt in trail:
                cycle = trail[trail.index(nxt) :]
                if min(cycle) == cycle[0] and cycle not in cycles:
                    cycles.append(cycle)
            else:
                walk(nxt, [*trail, nxt])

    for menu_id in sorted(by_id):
        walk(menu_id, [menu_id])
    return cycles


def _actions(menu: Menu) -> list[tuple[str, MenuAction]]:
    """Each action of a menu with its place inside the menu."""
    out = [(f".items[{n}]", item.action) for n, item in enumerate(menu.items)]
    if menu.after_last is not None:
        out.append((".after_last", menu.after_last))
    return out


def _resolved(config: NumberConfig, path: str, where: dict[str, str]) -> list[Finding]:
    """Checks of a number's merged menus: references, targets, loops."""
    found: list[Finding] = []
    by_id = menus_by_id(config.menus)
    queues = {q.id for q in config.queues}
    if config.menu is not None and config.menu not in by_id:
        found.append(
            Finding(
                ERROR,
                f"{path}.menu",
                f'entry menu "{config.menu}" is not defined (calls ring the targets instead)',
            )
        )
    used = reachable(by_id, config.menu) if config.menu else list(by_id)
    for menu_id in used:
        for place, action in _actions(by_id[menu_id]):
            at = f"{where[menu_id]}{place}"
            if action.kind is ActionKind.MENU and action.menu not in by_id:
                found.append(
                    Finding(ERROR, at, f'leads to menu "{action.menu}", which is not defined')
                )
            elif action.kind is ActionKind.QUEUE and action.queue not in queues:
                found.append(
                    Finding(ERROR, at, f'leads to queue "{action.queue}", which is not defined')
                )
            elif (
                action.kind is ActionKind.FORWARD
                and not action.targets
                and not config.targets
                and config.menu
            ):
                found.append(
                    Finding(ERROR, at, "forwards to the number's targets, but the number has none")
                )
    for cycle in _loops(by_id):
        if set(cycle) & set(used):
            found.append(
                Finding(
                    ERROR,
                    where[cycle[0]],
                    "menus lead to each other without a choice: " + " -> ".join([*cycle, cycle[0]]),
                )
            )
    return found


def check_menus(doc: ConfigDocument, check_prompt: PromptCheck) -> list[Finding]:
    """Every menu finding of a document, tenant by tenant, in document order."""
    found: list[Finding] = []
    for ti, tenant in enumerate(doc.tenants):
        tpath = f"tenants[{ti}]"
        found += _layer(tenant.defaults, tpath, check_prompt)
        tenant_where = {
            m.id: f"{tpath}.menus[{k}]" for k, m in enumerate(tenant.defaults.menus or ())
        }
        used_tenant_menus: set[str] = set()
        for ni, entry in enumerate(tenant.numbers):
            npath = f"{tpath}.numbers[{ni}]"
            found += _layer(entry.settings, npath, check_prompt)
            own_where = {
                m.id: f"{npath}.menus[{k}]" for k, m in enumerate(entry.settings.menus or ())
            }
            config = resolve(tenant, entry)
            found += _resolved(config, npath, {**tenant_where, **own_where})
            used = set(reachable(menus_by_id(config.menus), config.menu)) if config.menu else set()
            used_tenant_menus |= used - set(own_where)
            found += _unreachable(own_where, used, "this number's entry menu")
        found += _unreachable(tenant_where, used_tenant_menus, "any number's entry menu")
    return found


def _unreachable(where: dict[str, Any], used: set[str], source: str) -> list[Finding]:
    """Menus defined in a layer that no caller can reach."""
    return [
        Finding(WARNING, path, f'menu "{menu_id}" cannot be reached from {source}')
        for menu_id, path in where.items()
        if menu_id not in used
    ]

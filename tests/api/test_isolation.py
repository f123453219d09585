"""Every endpoint of the API, tried as the wrong tenant and as every role.

- As the owner of another tenant, every endpoint naming a resource of gangnam-pizza answers
  404 (or 403 where the role lacks the permission anyway), and no list answers with a trace
  of gangnam-pizza's data.
- As each role, every endpoint whose permission the role lacks answers 403 inside its own
  tenant.

A new endpoint with a new path parameter needs its value here (``PATH_VALUES``).
"""

from __future__ import annotations

import re
from typing import Any

from ivr_engine.api.app import all_routes
from ivr_engine.api.registry import Endpoint
from ivr_engine.commands.users import create_token
from ivr_engine.domain.access import allows

from .conftest import ACCOUNTS, PIZZA, PIZZA_AGENT, ApiServer
from .records import at, record, store

# Path parameter -> a resource of gangnam-pizza (the tenant "other" must not reach).
PATH_VALUES: dict[str, str] = {
    "number": PIZZA,
    "tenant": "gangnam-pizza",
    "agent": PIZZA_AGENT,
    "recipient": "010-7391-2468",
    "member": "010-7777-8888",
    "call_id": "pizza-call-1",  # stored by _values
}
# Endpoints whose parameter means something else than PATH_VALUES says.
OVERRIDES: dict[str, dict[str, str]] = {}
# Endpoints about the caller's own account: nothing of another tenant to reach.
OWN = {
    ("POST", "/session"),
    ("DELETE", "/session"),
    ("GET", "/me"),
    ("GET", "/tokens"),
    ("POST", "/prompts/preview"),  # speaks the given text; reads no tenant data
    ("POST", "/prompts/upload"),  # stores into the caller's own tenant only
    ("POST", "/tokens"),
}
# Traces of gangnam-pizza that must never appear in another tenant's answers.
TRACES = (
    "gangnam-pizza",
    PIZZA,
    "0505-123-4567",
    "owner@pizza.kr",
    "강남피자",
    PIZZA_AGENT,
    "김배달",
    "7391-2468",
    "73912468",
    "김민수",
    "7777-8888",
    "77778888",
)
BODY = {
    "tenant_id": "gangnam-pizza",
    "config": {"number": "0505-999-0000", "label": "x"},
    "name": "x",
    "email": "new@pizza.kr",
    "password": "long enough password",
    "role": "staff",
    "numbers": ["010-2580-1470"],
    "agent": "pizza-kim",
    "text": "안녕하세요",
}
_PARAM = re.compile(r"{([a-z_]+)}")


async def _values(api: ApiServer) -> dict[str, str]:
    values = dict(PATH_VALUES)
    values["id"] = str(api.users["owner"])
    values["callback"] = str(api.users["callback"])
    BODY["ids"] = [api.users["sms"]]
    await store(api.pool, record(PATH_VALUES["call_id"], PIZZA, "01020003000", at(12)))
    _, token = await create_token(api.pool, ACCOUNTS["owner"]["email"], "pizza-sync", ("read",))
    OVERRIDES["/tokens/{id}"] = {"id": str(token.id)}
    return values


def _path(e: Endpoint, values: dict[str, str]) -> str:
    local = dict(values, **OVERRIDES.get(e.path, {}))

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in local, f"{e.method} {e.path}: add a value for {{{name}}} to PATH_VALUES"
        return local[name]

    return _PARAM.sub(sub, e.path)


def _headers(e: Endpoint) -> dict[str, str]:
    return {"If-Match": '"1"'} if e.method in ("PUT", "PATCH", "DELETE") else {}


async def test_another_tenant_reaches_nothing_of_gangnam_pizza(api: ApiServer) -> None:
    values = await _values(api)
    other = await api.as_role("other")
    principal_role = ACCOUNTS["other"]["role"]
    tried = 0
    for e in all_routes().endpoints:
        if (e.method, e.path) in OWN:
            continue
        path = _path(e, values)
        body: Any = BODY if e.method in ("POST", "PUT", "PATCH") else None
        status, answer, _ = await other.call(
            e.method, "/api/v1" + path, json=body, headers=_headers(e)
        )
        tried += 1
        text = str(answer)
        named = "{" in e.path or (e.method == "POST" and "tenant_id" in BODY)
        if named:
            assert status in (403, 404), f"{e.method} {path}: {status} {text[:300]}"
            if status == 403:
                assert e.permission is not None
                assert not allows_role(principal_role, e.permission), f"{e.method} {path}"
        else:
            assert status in (200, 403), f"{e.method} {path}: {status} {text[:300]}"
        for trace in TRACES:
            asked = path + str(body)
            if status == 404 and (trace in asked or trace.replace("-", "") in asked):
                continue  # a 404 may name what was asked for
            assert trace not in text, f"{e.method} {path} leaks {trace}: {text[:300]}"
    assert tried >= 10


def allows_role(role: str, permission: str) -> bool:
    from ivr_engine.domain.access import Principal

    return allows(Principal(0, "x@y", role, "t"), permission)


async def test_every_role_is_refused_what_it_may_not_do(api: ApiServer) -> None:
    values = await _values(api)
    for role in ("owner", "manager", "staff"):
        client = await api.as_role(role)
        for e in all_routes().endpoints:
            if e.permission is None or allows_role(ACCOUNTS[role]["role"], e.permission):
                continue
            path = _path(e, values)
            body: Any = BODY if e.method in ("POST", "PUT", "PATCH") else None
            status, answer, _ = await client.call(
                e.method, "/api/v1" + path, json=body, headers=_headers(e)
            )
            assert status == 403, f"{role}: {e.method} {path}: {status} {str(answer)[:200]}"
            assert answer["error"]["code"] == "forbidden"

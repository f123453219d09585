"""Common HTTP helpers of the API: JSON bodies, ETags and If-Match, pagination, times.

data = await json_body(req)                        # 400 invalid_input when not JSON
require_version(req, current_version)              # 428 / 409 version_mismatch
page = Page.of(req)                                # ?limit=&cursor=
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from ivr_engine.api.errors import ApiError, bad_input
from ivr_engine.api.registry import ApiRequest

MAX_BODY = 1 << 20
MAX_LIMIT = 500


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def respond(
    data: Any,
    *,
    status: int = 200,
    version: int | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A JSON answer; with ``version`` it carries ``ETag: "<version>"``."""
    out = dict(headers or {})
    if version is not None:
        out["ETag"] = etag(version)
    body = orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return web.Response(body=body, status=status, content_type="application/json", headers=out)


def etag(version: int) -> str:
    """The strong ETag of a resource version."""
    return f'"{version}"'


def if_match(req: ApiRequest) -> int | None:
    """The version named by ``If-Match`` (None when absent); 400 when unreadable."""
    raw = req.request.headers.get("If-Match", "").strip()
    if not raw:
        return None
    raw = raw.removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise bad_input(f"If-Match {raw!r} is not a version this API gave", "If-Match") from None


def require_version(req: ApiRequest, current: int) -> None:
    """A write must name the version it changes: 428 without If-Match, 409 with the current
    version when someone else changed the resource first."""
    wanted = if_match(req)
    if wanted is None:
        raise ApiError(
            428,
            "precondition_required",
            "send If-Match with the ETag you read, so no one else's change is overwritten",
            "If-Match",
            current_version=current,
        )
    if wanted != current:
        raise ApiError(
            409,
            "version_mismatch",
            f"changed meanwhile: you have version {wanted}, the current one is {current}",
            "If-Match",
            current_version=current,
        )


async def json_body(req: ApiRequest) -> Any:
    """The request's JSON body; 400 when it is missing, too large or not JSON."""
    request = req.request
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    if not raw.strip():
        raise bad_input("a JSON body is required")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_input(f"the body is not JSON: {exc}") from None


def json_object(data: Any, field: str | None = None) -> dict[str, Any]:
    """``data`` when it is a JSON object, else 400."""
    if not isinstance(data, dict):
        raise bad_input("expected a JSON object", field)
    return data


def flag(req: ApiRequest, name: str) -> bool:
    """A boolean query parameter (true/1/yes)."""
    return (req.query(name) or "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Page:
    """``?limit=`` (1..500, default 50) and an opaque ``?cursor=``."""

    limit: int
    cursor: dict[str, Any] | None

    @classmethod
    def of(cls, req: ApiRequest, default: int = 50) -> Page:
        """Read the page parameters of a request (400 when malformed)."""
        raw = req.query("limit")
        try:
            limit = int(raw) if raw else default
        except ValueError:
            raise bad_input("limit must be a whole number", "limit") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise bad_input(f"limit is 1 to {MAX_LIMIT}", "limit")
        cursor = req.query("cursor")
        return cls(limit, decode_cursor(cursor) if cursor else None)


def encode_cursor(data: dict[str, Any]) -> str:
    """An opaque cursor for the next page."""
    return base64.urlsafe_b64encode(orjson.dumps(data, default=_default)).decode().rstrip("=")


def decode_cursor(text: str) -> dict[str, Any]:
    """The data of a cursor this API gave; 400 otherwise."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise bad_input("cursor is not one this API gave", "cursor") from None
    if not isinstance(data, dict):
        raise bad_input("cursor is not one this API gave", "cursor")
    return data


def page_body(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """The body of a page of a list."""
    return {"items": items, "next_cursor": next_cursor}

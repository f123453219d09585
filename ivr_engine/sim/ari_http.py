"""HTTP plumbing of the simulated ARI: replies, parameters and Asterisk's exact error texts."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# Request key: the JSON body of a request that came on the events WebSocket.
WS_BODY = web.RequestKey("ivr_sim.ws_body", bytes)
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

HTML_TEMPLATE = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n'
    "<title>{code} {title}</title>\r\n</head><body>\r\n<h1>{title}</h1>\r\n"
    "<p>{text}</p>\r\n<hr />\r\n<address>{server}</address>\r\n</body></html>\r\n"
)


class AriError(Exception):
    """An ARI error reply: status plus ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply as ARI sends it (compact)."""
    return web.Response(
        status=status, text=_DUMPS(body), content_type="application/json", headers=headers
    )


def error(status: int, message: str) -> web.Response:
    """An ARI error reply."""
    return json_reply({"message": message}, status)


def no_content() -> web.Response:
    """204 with no body."""
    return web.Response(status=204)


def created(location: str, body: Any) -> web.Response:
    """201 with a Location header (``/ari/playbacks/{id}``...)."""
    return json_reply(body, 201, {"Location": location})


def html_error(code: int, title: str, text: str, server: str) -> web.Response:
    """Asterisk's HTML error page (used by the events endpoint before the upgrade)."""
    body = HTML_TEMPLATE.format(code=code, title=title, text=text, server=server)
    resp = web.Response(status=code, body=body.encode())
    resp.headers["Content-Type"] = "text/html"
    return resp


class Params:
    """Query parameters merged with the keys of a JSON body (section A.0)."""

    def __init__(self, values: dict[str, Any], body: dict[str, Any] | None) -> None:
        self.values = values
        self.body = body or {}

    @classmethod
    async def read(cls, request: web.Request) -> Params:
        """Read the query string and, when present, a JSON object body."""
        values: dict[str, Any] = dict(request.query)
        body: dict[str, Any] | None = None
        raw = request.get(WS_BODY)  # a request that came on the events WebSocket
        if raw is None and request.can_read_body:
            raw = await request.read()
        if raw is not None and raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise AriError(400, "Failed to parse body") from None
            if isinstance(parsed, dict):
                body = parsed
                for key, value in parsed.items():
                    if key != "variables" and key not in values:
                        values[key] = value
        return cls(values, body)

    def text(self, name: str, default: str = "") -> str:
        """A string parameter."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    def integer(self, name: str, default: int = 0) -> int:
        """An integer parameter (400 when not a number)."""
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(str(value))
        except ValueError:
            raise AriError(400, f"Invalid value for {name}") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter (``true``/``false``)."""
        value = self.values.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "yes", "1", "on")

    def items(self, name: str) -> list[str]:
        """A comma-separated list parameter."""
        value = self.text(name)
        return [part.strip() for part in value.split(",") if part.strip()] if value else []

    def variables(self) -> dict[str, str]:
        """The ``variables`` object of the JSON body (string values only)."""
        raw = self.body.get("variables") or {}
        if not isinstance(raw, dict) or any(not isinstance(v, str) for v in raw.values()):
            raise AriError(400, "Only string values in the 'variables' object allowed")
        return dict(raw)

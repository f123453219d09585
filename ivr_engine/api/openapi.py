"""The OpenAPI 3 document of the admin API, made from the routes table, served at
``/api/openapi.json``."""

from __future__ import annotations

import re
from typing import Any

from ivr_engine.api.registry import PREFIX, ApiRoutes, Endpoint
from ivr_engine.domain.access import PERMISSIONS

_PATH_PARAM = re.compile(r"{([a-z_]+)}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "target_change_locked"},
                "message": {"type": "string"},
                "field": {"type": "string", "nullable": True},
                "current_version": {"type": "integer"},
            },
        }
    },
}


def _roles(permission: str | None) -> str:
    if permission is None:
        return "No sign-in needed."
    roles = ", ".join(sorted(PERMISSIONS[permission]))
    return f"Permission `{permission}` (roles: {roles})."


def _operation(e: Endpoint) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(e.path)
    ]
    for p in e.params:
        schema: dict[str, Any] = {"type": p.type}
        if p.enum:
            schema["enum"] = list(p.enum)
        params.append(
            {"name": p.name, "in": "query", "description": p.description, "schema": schema}
        )
    if e.etag and e.method in ("PUT", "PATCH", "DELETE"):
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "the ETag of the version you read",
                "schema": {"type": "string"},
            }
        )
    ok: dict[str, Any] = {
        "description": "success",
        "content": {ctype: {"schema": {"type": "object"}} for ctype in e.produces},
    }
    if e.etag:
        ok["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "the version"}}
    responses: dict[str, Any] = {"200": ok}
    err = {"$ref": "#/components/responses/Error"}
    for code in ("400", "401", "403", "404") if e.permission else ("400", "401"):
        responses[code] = err
    if e.method in ("PUT", "PATCH", "POST", "DELETE"):
        responses["409"] = err
    if e.etag and e.method != "GET":
        responses["428"] = err
    op: dict[str, Any] = {
        "summary": e.summary,
        "description": _roles(e.permission),
        "operationId": e.handler.__name__,
        "tags": [e.tag],
        "parameters": params,
        "responses": responses,
    }
    if e.body:
        op["requestBody"] = {
            "required": True,
            "description": e.body,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if e.permission is None:
        op["security"] = []
    return op


def openapi_document(routes: ApiRoutes, version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.0 document of every endpoint in ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for e in routes.endpoints:
        paths.setdefault(PREFIX + e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ivr-engine admin API",
            "version": version,
            "description": (
                "Numbers, menus, queues, agents, call records, statistics, SMS and accounts "
                'of the ivr-engine 050 platform. Errors: {"error": {code, message, field}}. '
                "Writes need If-Match with the ETag read; ?dry_run=true reports without "
                "changing. Another tenant's resource answers 404."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "ivr_session"},
            },
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {
                "Error": {
                    "description": "a typed error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }

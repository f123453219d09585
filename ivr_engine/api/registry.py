"""The API's routes table: each endpoint declared once with its permission and its
documentation, from which both the aiohttp routes and the OpenAPI 3 document are made.

    routes = ApiRoutes()

    @routes.get("/numbers/{number}", "numbers.read", "One number", tag="numbers")
    async def get_number(req: ApiRequest) -> web.StreamResponse:
        ...

The wrapper resolves the principal (set by the auth middleware), refuses a role without the
permission with 403, and hands the handler an ``ApiRequest``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ivr_engine.api.context import CONTEXT_KEY, PRINCIPAL_KEY, ApiContext
from ivr_engine.api.errors import forbidden, unauthenticated
from ivr_engine.domain.access import Principal, allows, reach_of

PREFIX = "/api/v1"  # where the API is served
MOUNT = "/api"  # the sub-application's prefix


@dataclass(frozen=True)
class Param:
    """A documented query parameter."""

    name: str
    description: str
    type: str = "string"
    enum: tuple[str, ...] = ()


@dataclass
class ApiRequest:
    """What a handler works with: the request, its principal and the API's context."""

    request: web.Request
    maybe_principal: Principal | None
    ctx: ApiContext

    @property
    def principal(self) -> Principal:
        """Who is asking (401 when no one signed in)."""
        if self.maybe_principal is None:
            raise unauthenticated()
        return self.maybe_principal

    @property
    def reach(self) -> Any:
        """The principal's SQL filters."""
        return reach_of(self.principal)

    def match(self, name: str) -> str:
        """A path parameter."""
        return self.request.match_info[name]

    def query(self, name: str, default: str | None = None) -> str | None:
        """A query parameter (stripped; empty counts as absent)."""
        value = self.request.query.get(name, "").strip()
        return value or default

    @property
    def address(self) -> str:
        """The client's address (as the server saw it)."""
        return self.request.remote or ""


ApiHandler = Callable[[ApiRequest], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    """One declared endpoint."""

    method: str
    path: str  # below PREFIX
    permission: str | None  # None: no sign-in needed
    summary: str
    tag: str
    handler: ApiHandler
    params: tuple[Param, ...] = ()
    body: str = ""  # a description of the JSON body, when it takes one
    etag: bool = False  # answers with an ETag / needs If-Match on writes
    produces: tuple[str, ...] = ("application/json",)


@dataclass
class ApiRoutes:
    """The table of endpoints."""

    endpoints: list[Endpoint] = field(default_factory=list)

    def add(
        self,
        method: str,
        path: str,
        permission: str | None,
        summary: str,
        *,
        tag: str,
        params: tuple[Param, ...] = (),
        body: str = "",
        etag: bool = False,
        produces: tuple[str, ...] = ("application/json",),
    ) -> Callable[[ApiHandler], ApiHandler]:
        """Declare an endpoint (a decorator)."""

        def deco(handler: ApiHandler) -> ApiHandler:
            self.endpoints.append(
                Endpoint(
                    method, path, permission, summary, tag, handler, params, body, etag, produces
                )
            )
            return handler

        return deco

    def get(self, path: str, permission: str | None, summary: str, **kw: Any) -> Any:
        """Declare a GET endpoint."""
        return self.add("GET", path, permission, summary, **kw)

    def post(self, path: str, permission: str | None, summary: str, **kw: Any) -> Any:
        """Declare a POST endpoint."""
        return self.add("POST", path, permission, summary, **kw)

    def put(self, path: str, permission: str | None, summary: str, **kw: Any) -> Any:
        """Declare a PUT endpoint."""
        return self.add("PUT", path, permission, summary, **kw)

    def patch(self, path: str, permission: str | None, summary: str, **kw: Any) -> Any:
        """Declare a PATCH endpoint."""
        return self.add("PATCH", path, permission, summary, **kw)

    def delete(self, path: str, permission: str | None, summary: str, **kw: Any) -> Any:
        """Declare a DELETE endpoint."""
        return self.add("DELETE", path, permission, summary, **kw)

    def extend(self, other: ApiRoutes) -> None:
        """Take every endpoint of another table."""
        self.endpoints.extend(other.endpoints)

    def route_defs(self) -> list[web.RouteDef]:
        """The routes of the API's sub-application (mounted at ``MOUNT``), each wrapped with
        its permission check."""
        below = PREFIX.removeprefix(MOUNT)
        return [web.route(e.method, below + e.path, _wrap(e)) for e in self.endpoints]


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT_KEY]
        principal = request.get(PRINCIPAL_KEY)
        if endpoint.permission is not None:
            if principal is None:
                raise unauthenticated()
            if not allows(principal, endpoint.permission):
                raise forbidden(f"your role ({principal.role}) may not {endpoint.permission}")
        return await endpoint.handler(ApiRequest(request, principal, ctx))

    handle.__name__ = endpoint.handler.__name__
    handle.__doc__ = endpoint.summary
    return handle

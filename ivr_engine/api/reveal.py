"""Showing callers' full numbers: asked for with ``?reveal=true``, allowed for the role
(``calls.reveal``; a token needs the ``reveal`` scope), and audited before the answer goes
out. The records search (``api/calls.py``) audits per tenant of the rows it reveals."""

from __future__ import annotations

from ivr_engine.api.common import flag
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import forbidden
from ivr_engine.api.registry import ApiRequest
from ivr_engine.domain.access import allows
from ivr_engine.store import audit


async def audited_reveal(req: ApiRequest, resource: str, ids: list[str]) -> bool:
    """Whether to show full numbers of the rows ``ids`` of ``resource``: False when not
    asked for; 403 when the role may not; else one audit row (``<resource>.reveal``)."""
    if not flag(req, "reveal"):
        return False
    if not allows(req.principal, "calls.reveal"):
        raise forbidden("your role may not see full phone numbers")
    async with req.ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action=f"{resource}.reveal",
            resource=resource,
            tenant_id=req.principal.tenant_id,
            detail={"ids": ids[:500], "count": len(ids), "query": dict(req.request.query)},
        )
    return True

"""Who may do what: the roles of the console and the API, as one table.

A ``Principal`` is who is asking (a signed-in user or a machine token) with what they may
reach: every tenant (platform admin), one tenant, one branch of it, one number, or one
agent. ``allows(principal, permission)`` answers for an action; the reach becomes SQL
filters in ``store/`` (``Reach``), so another tenant's rows are never read at all.

    p = Principal(user_id=7, email="kim@example.kr", role=TENANT_OWNER, tenant_id="acme")
    allows(p, "numbers.write")      # True
    allows(p, "tenants.create")     # False: platform admins only
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr_engine.domain.numbers import format_number, mask

PLATFORM_ADMIN = "platform-admin"
TENANT_OWNER = "tenant-owner"
BRANCH_MANAGER = "branch-manager"
STAFF = "staff"
AGENT = "agent"
ROLES: tuple[str, ...] = (PLATFORM_ADMIN, TENANT_OWNER, BRANCH_MANAGER, STAFF, AGENT)

ROLE_LABELS: dict[str, tuple[str, str]] = {  # (Korean, English)
    PLATFORM_ADMIN: ("플랫폼 관리자", "Platform admin"),
    TENANT_OWNER: ("고객사 관리자", "Tenant owner"),
    BRANCH_MANAGER: ("지점 관리자", "Branch manager"),
    STAFF: ("직원 (조회)", "Staff (read-only)"),
    AGENT: ("상담원", "Agent"),
}

_ALL = frozenset(ROLES)
_MANAGERS = frozenset({PLATFORM_ADMIN, TENANT_OWNER, BRANCH_MANAGER})
_OWNERS = frozenset({PLATFORM_ADMIN, TENANT_OWNER})
_READERS = frozenset({PLATFORM_ADMIN, TENANT_OWNER, BRANCH_MANAGER, STAFF})

# permission -> roles that hold it. Reads are further narrowed by the principal's reach.
PERMISSIONS: dict[str, frozenset[str]] = {
    "tenants.read": _ALL,
    "tenants.create": frozenset({PLATFORM_ADMIN}),
    "tenants.write": _OWNERS,
    "numbers.read": _READERS,
    "numbers.write": _MANAGERS,
    "numbers.create": _OWNERS,
    "calls.read": _ALL,
    "calls.reveal": _MANAGERS,
    "calls.export": _READERS,
    "stats.read": _READERS,
    "agents.read": _ALL,
    "agents.write": _MANAGERS,
    "agents.state": _ALL,  # an agent: only their own state
    "callbacks.read": _ALL,
    "callbacks.write": _MANAGERS,
    "sms.read": _READERS,
    "sms.write": _MANAGERS,
    "prompts.write": _MANAGERS,
    "users.read": _OWNERS,
    "users.write": _OWNERS,
    "audit.read": _OWNERS,
    "tokens.write": _ALL,  # one's own tokens
    "outbound.dial": _MANAGERS,  # click-to-call and call-backs for the tenant's members
    "members.read": _READERS,
    "members.write": _MANAGERS,
    "minutes.read": _READERS,
    "minutes.write": _MANAGERS,  # allocate the pool's minutes to members
    "minutes.charge": frozenset({PLATFORM_ADMIN}),  # charge a tenant's pool, coupons
}

# Token scopes: which permissions a machine token may use (intersected with its user's).
SCOPES: dict[str, str] = {"read": ".read", "write": ".write", "reveal": ".reveal"}
_WRITE_SUFFIXES = (".write", ".create", ".state")
_READ_SUFFIXES = (".read", ".export")

# Roles a role may give to the users it manages.
GRANTABLE: dict[str, frozenset[str]] = {
    PLATFORM_ADMIN: _ALL,
    TENANT_OWNER: frozenset({TENANT_OWNER, BRANCH_MANAGER, STAFF, AGENT}),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking, and how far they reach."""

    user_id: int
    email: str
    role: str
    tenant_id: str | None = None  # None: every tenant (platform admin)
    branch_id: str | None = None  # branch managers: their branch's numbers only
    number: str | None = None  # staff limited to one number
    agent_id: str | None = None  # agents: their own state and calls
    scopes: frozenset[str] | None = None  # a machine token's scopes; None: a person
    token_name: str = ""
    language: str = "ko"
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def via(self) -> str:
        """``api`` for a machine token, ``console`` for a signed-in person."""
        return "api" if self.scopes is not None else "console"

    @property
    def actor(self) -> str:
        """How the audit log names them: the e-mail, with the token's name for a machine."""
        return f"{self.email} (token {self.token_name})" if self.scopes is not None else self.email


def _scope_allows(scopes: frozenset[str], permission: str) -> bool:
    if permission.endswith(".reveal"):
        return "reveal" in scopes
    if permission.endswith(_WRITE_SUFFIXES):
        return "write" in scopes
    if permission.endswith(_READ_SUFFIXES):
        return "read" in scopes or "write" in scopes
    return "write" in scopes


def allows(principal: Principal, permission: str) -> bool:
    """May ``principal`` perform ``permission`` at all (inside its reach)?"""
    roles = PERMISSIONS.get(permission)
    if roles is None:
        raise KeyError(f"unknown permission {permission!r}")
    if principal.role not in roles:
        return False
    return principal.scopes is None or _scope_allows(principal.scopes, permission)


def may_grant(principal: Principal, role: str, tenant_id: str | None) -> bool:
    """May ``principal`` create or change a user with ``role`` in ``tenant_id``?"""
    if role not in GRANTABLE.get(principal.role, frozenset()):
        return False
    if principal.tenant_id is None:
        return True
    return tenant_id == principal.tenant_id


@dataclass(frozen=True)
class Reach:
    """The SQL filters of a principal: each None means "no limit on this column"."""

    tenants: tuple[str, ...] | None
    branch: str | None
    number: str | None
    agent: str | None

    def sees_tenant(self, tenant_id: str | None) -> bool:
        """Whether rows of ``tenant_id`` are inside the reach."""
        return self.tenants is None or tenant_id in self.tenants


def reach_of(principal: Principal) -> Reach:
    """The principal's reach as filters on tenant, branch, number and agent."""
    tenants = None if principal.tenant_id is None else (principal.tenant_id,)
    if principal.role == PLATFORM_ADMIN:
        return Reach(None, None, None, None)
    if principal.role == BRANCH_MANAGER:
        return Reach(tenants, principal.branch_id, None, None)
    if principal.role == STAFF:
        return Reach(tenants, None, principal.number, None)
    if principal.role == AGENT:
        return Reach(tenants, None, None, principal.agent_id)
    return Reach(tenants, None, None, None)


def sees_full_numbers(principal: Principal) -> bool:
    """Whether the principal may ask for callers' full numbers (each reveal is audited)."""
    return allows(principal, "calls.reveal")


def shown_number(principal: Principal, number: str, *, reveal: bool = False) -> str:
    """A caller's number as ``principal`` sees it: formatted in full when revealed by a role
    that may, else masked (``010-12**-56**``)."""
    if reveal and sees_full_numbers(principal):
        return format_number(number)
    return mask(number) if number else number

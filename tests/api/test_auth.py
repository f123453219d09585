"""Signing in, sessions and CSRF, tokens and scopes, lock-out, the address allowlist and
the OpenAPI document, over a real socket."""

from __future__ import annotations

from ivr_engine.api.app import all_routes
from ivr_engine.store.accounts import MAX_FAILED_LOGINS

from .conftest import ACCOUNTS, PASSWORD, ApiServer


async def test_unauthenticated_request_is_401_with_a_typed_error(api: ApiServer) -> None:
    status, body, _ = await api.anonymous().get("numbers")
    assert status == 401
    assert body["error"]["code"] == "unauthenticated"
    status, body, _ = await api.anonymous().get(
        "numbers", headers={"Authorization": "Bearer ivrt_nosuchtoken"}
    )
    assert status == 401 and "unknown" in body["error"]["message"]


async def test_sign_in_sets_an_httponly_samesite_cookie_and_returns_csrf(api: ApiServer) -> None:
    client = api.anonymous()
    resp = await client.login(ACCOUNTS["owner"]["email"])
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    status, me, _ = await client.get("me")
    assert status == 200
    assert me["role"] == "tenant-owner" and me["tenant_id"] == "gangnam-pizza"
    assert "numbers.write" in me["permissions"] and "tenants.create" not in me["permissions"]
    assert me["csrf_token"] == client.csrf


async def test_a_browser_write_without_the_csrf_token_is_refused(api: ApiServer) -> None:
    client = await api.as_role("owner")
    csrf, client.csrf = client.csrf, None
    status, body, _ = await client.call("POST", "tokens", json={"name": "x"})
    assert status == 403 and body["error"]["code"] == "csrf_failed"
    status, body, _ = await client.call(
        "POST", "tokens", json={"name": "x"}, headers={"X-CSRF-Token": "forged"}
    )
    assert status == 403 and body["error"]["code"] == "csrf_failed"
    client.csrf = csrf
    status, body, _ = await client.call("POST", "tokens", json={"name": "x"})
    assert status == 201 and body["token"].startswith("ivrt_")


async def test_sign_out_ends_the_session(api: ApiServer) -> None:
    client = await api.as_role("owner")
    status, _, _ = await client.call("DELETE", "session")
    assert status == 204
    status, _, _ = await client.get("me")
    assert status == 401


async def test_wrong_passwords_lock_the_account_and_are_audited(api: ApiServer) -> None:
    client = api.anonymous()
    email = ACCOUNTS["staff"]["email"]
    for _ in range(MAX_FAILED_LOGINS):
        resp = await client.login(email, "not the password")
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "invalid_credentials"
    resp = await client.login(email, PASSWORD)  # right password, but locked now
    assert resp.status == 423
    assert (await resp.json())["error"]["code"] == "locked_out"
    unknown = await client.login("nobody@nowhere.kr", "whatever")
    assert unknown.status == 401  # the same answer as a wrong password
    rows = await api.pool.fetch("SELECT action FROM audit_log WHERE actor = $1 ORDER BY id", email)
    assert [r["action"] for r in rows] == ["login.failed"] * MAX_FAILED_LOGINS + ["login.locked"]


async def test_a_token_acts_within_its_scopes_and_stops_when_revoked(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, made, _ = await owner.call("POST", "tokens", json={"name": "ro", "scopes": ["read"]})
    assert status == 201
    machine = api.anonymous()
    machine.token = made["token"]
    status, page, _ = await machine.get("numbers")
    assert status == 200 and page["items"]
    status, _, resp = await machine.get("numbers/05051234567")
    assert status == 200
    status, body, _ = await machine.call(
        "PATCH",
        "numbers/05051234567",
        json={"config": {"label": "x"}},
        headers={"If-Match": resp.headers["ETag"]},
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    stored = await api.pool.fetchval("SELECT token_hash FROM api_tokens WHERE id = $1", made["id"])
    assert made["token"].encode() not in bytes(stored)  # only a digest is kept
    status, _, _ = await owner.call("DELETE", f"tokens/{made['id']}")
    assert status == 204
    status, body, _ = await machine.get("numbers")
    assert status == 401


async def test_the_tenant_allowlist_refuses_other_addresses(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    admin = await api.as_role("admin")
    status, _, resp = await admin.get("tenants/gangnam-pizza")
    assert status == 200
    status, _, _ = await admin.call(
        "PATCH",
        "tenants/gangnam-pizza",
        json={"ip_allowlist": ["10.20.0.0/16"]},
        headers={"If-Match": resp.headers["ETag"]},
    )
    assert status == 200
    status, body, _ = await owner.get("numbers")
    assert status == 403 and body["error"]["code"] == "address_not_allowed"
    fresh = await api.anonymous().login(ACCOUNTS["owner"]["email"])
    assert fresh.status == 403
    status, _, _ = await (await api.as_role("other")).get("numbers")
    assert status == 200  # another tenant without a list is unaffected
    status, _, _ = await admin.get("numbers")
    assert status == 200  # platform admins belong to no tenant


async def test_openapi_document_lists_every_endpoint(api: ApiServer) -> None:
    status, doc, _ = await api.anonymous().get("/api/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    for e in all_routes().endpoints:
        op = doc["paths"]["/api/v1" + e.path][e.method.lower()]
        assert op["summary"] == e.summary
    numbers = doc["paths"]["/api/v1/numbers/{number}"]
    assert {"get", "put", "patch"} <= set(numbers)
    assert any(p["name"] == "If-Match" for p in numbers["patch"]["parameters"])


async def test_an_unknown_path_is_a_typed_404(api: ApiServer) -> None:
    client = await api.as_role("owner")
    status, body, _ = await client.get("nosuch")
    assert status == 404 and body["error"]["code"] == "not_found"

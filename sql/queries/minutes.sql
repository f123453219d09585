-- name: lock_tenant
-- The tenant's row, locked: operations on its pool take turns.
SELECT id, timezone FROM tenants WHERE id = $1 FOR UPDATE;

-- name: ledger_insert
INSERT INTO minute_ledger (tenant_id, member, kind, seconds, call_id, reason)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, tenant_id, member, kind, seconds, call_id, reason, created_at;

-- name: ledger_insert_call
-- A call's row (reserve, release, use): once per call and kind.
INSERT INTO minute_ledger (tenant_id, member, kind, seconds, call_id, reason)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (call_id, kind) WHERE call_id IS NOT NULL DO NOTHING;

-- name: ledger_balance
-- An account's balance ($2 null: the tenant's pool): the sum of its rows.
SELECT coalesce(sum(seconds), 0)::bigint FROM minute_ledger
WHERE tenant_id = $1 AND member IS NOT DISTINCT FROM $2;

-- name: ledger_period
-- Before a period starting at $3: the account's balance, and whether it was expired since.
SELECT coalesce(sum(seconds) FILTER (WHERE created_at < $3), 0)::bigint AS before,
       coalesce(bool_or(kind = 'expire' AND created_at >= $3), false) AS expired
FROM minute_ledger
WHERE tenant_id = $1 AND member IS NOT DISTINCT FROM $2;

-- name: ledger_rows
-- An account's rows, newest first ($3 limit).
SELECT id, tenant_id, member, kind, seconds, call_id, reason, created_at FROM minute_ledger
WHERE tenant_id = $1 AND member IS NOT DISTINCT FROM $2
ORDER BY id DESC LIMIT $3;

-- name: ledger_call
-- A call's rows: its reservation, release and use.
SELECT kind, seconds FROM minute_ledger WHERE call_id = $1;

-- name: ledger_member_balances
-- Every member's balance of a tenant (pool excluded), by member.
SELECT member, sum(seconds)::bigint AS seconds FROM minute_ledger
WHERE tenant_id = $1 AND member IS NOT NULL GROUP BY member ORDER BY member;

-- name: stale_reservations
-- Reservations with no release whose talk limit plus $2 seconds had passed at $1.
SELECT r.tenant_id, r.member, r.call_id, -r.seconds AS reserved, r.created_at
FROM minute_ledger r
WHERE r.kind = 'reserve'
  AND r.created_at < $1::timestamptz - make_interval(secs => $2::int)
  AND r.created_at + make_interval(secs => $2::int - r.seconds) < $1::timestamptz
  AND NOT EXISTS (SELECT 1 FROM minute_ledger x WHERE x.call_id = r.call_id AND x.kind = 'release')
ORDER BY r.id
LIMIT $3;

-- name: tenant_caller_ids
SELECT number, verified, evidence FROM caller_ids WHERE tenant_id = $1 ORDER BY position, number;

-- name: delete_tenant_caller_ids
DELETE FROM caller_ids WHERE tenant_id = $1;

-- name: insert_caller_ids
-- $2, $3, $4: parallel arrays of numbers, verified flags and evidence, in order.
INSERT INTO caller_ids (tenant_id, number, verified, evidence, position)
SELECT $1, c.number, c.verified, c.evidence, c.ord - 1
FROM unnest($2::text[], $3::boolean[], $4::text[]) WITH ORDINALITY AS c(number, verified, evidence, ord);

-- name: tenant_members
SELECT tenant_id, mobile, name, role, caller_ids FROM members
WHERE tenant_id = $1 ORDER BY position, mobile;

-- name: all_members
SELECT tenant_id, mobile, name, role, caller_ids FROM members
WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, position, mobile;

-- name: member_by_mobile
SELECT tenant_id, mobile, name, role, caller_ids FROM members WHERE mobile = $1;

-- name: member_for_update
-- The member's row, locked: reservations and allocations of one member take turns.
SELECT tenant_id, mobile, name, role, caller_ids FROM members
WHERE tenant_id = $1 AND mobile = $2 FOR UPDATE;

-- name: delete_tenant_members
DELETE FROM members WHERE tenant_id = $1;

-- name: insert_member
INSERT INTO members (tenant_id, mobile, name, role, caller_ids, position)
VALUES ($1, $2, $3, $4, $5,
        coalesce($6, (SELECT coalesce(max(position) + 1, 0) FROM members WHERE tenant_id = $1)));

-- name: delete_member
DELETE FROM members WHERE tenant_id = $1 AND mobile = $2;

-- name: tenant_outbound_settings
SELECT settings FROM outbound_settings WHERE tenant_id = $1;

-- name: upsert_outbound_settings
INSERT INTO outbound_settings (tenant_id, settings) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings;

-- name: tenant_row
SELECT id, name, timezone FROM tenants WHERE id = $1;

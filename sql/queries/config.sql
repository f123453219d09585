-- name: now
-- The time every rule acts at (now(), or the transaction's ivr.now).
SELECT ivr_now();

-- name: set_now
-- Make ivr_now() return this time until the end of the transaction.
SELECT set_config('ivr.now', $1::timestamptz::text, true);

-- name: lock_config
-- Serialise configuration imports for the length of the transaction.
SELECT pg_advisory_xact_lock(1263353601);

-- name: number_config
-- Everything one number's resolved configuration is built from.
SELECT * FROM number_config_sources WHERE number = $1;

-- name: all_number_configs
-- The same for every number (of one tenant when $1 is not null).
SELECT * FROM number_config_sources
WHERE $1::text IS NULL OR tenant_id = $1
ORDER BY number;

-- name: all_virtual_numbers
SELECT number FROM virtual_numbers ORDER BY number;

-- name: tenants
SELECT id, name, timezone, settings, version FROM tenants ORDER BY id;

-- name: tenant_for_update
SELECT id, name, timezone, settings, version FROM tenants WHERE id = $1 FOR UPDATE;

-- name: insert_tenant
INSERT INTO tenants (id, name, timezone, settings) VALUES ($1, $2, $3, $4);

-- name: update_tenant
UPDATE tenants
SET name = $2, timezone = $3, settings = $4,
    version = nextval('config_version_seq'), updated_at = now()
WHERE id = $1;

-- name: bump_tenant_version
UPDATE tenants SET version = nextval('config_version_seq'), updated_at = now() WHERE id = $1;

-- name: tenant_numbers
SELECT number FROM virtual_numbers WHERE tenant_id = $1 ORDER BY number;

-- name: number_for_update
SELECT number, tenant_id, label, status, settings, terminated_at
FROM virtual_numbers WHERE number = $1 FOR UPDATE;

-- name: insert_number
INSERT INTO virtual_numbers (number, tenant_id, label, status, settings)
VALUES ($1, $2, $3, $4, $5);

-- name: update_number
UPDATE virtual_numbers
SET tenant_id = $2, label = $3, status = $4, settings = $5,
    version = nextval('config_version_seq')
WHERE number = $1;

-- name: bump_number_version
UPDATE virtual_numbers SET version = nextval('config_version_seq') WHERE number = $1;

-- name: forward_targets
SELECT target, ring_seconds FROM forward_targets WHERE number = $1 ORDER BY position;

-- name: delete_forward_targets
DELETE FROM forward_targets WHERE number = $1;

-- name: insert_forward_targets
-- $2, $3: parallel arrays of targets and ring seconds, in order.
INSERT INTO forward_targets (number, position, target, ring_seconds)
SELECT $1, t.ord - 1, t.target, t.ring_seconds
FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS t(target, ring_seconds, ord);

-- name: last_target_change
-- When the number's targets last had a change subject to the 24-hour rule.
SELECT max(changed_at) FROM target_changes WHERE number = $1 AND kind = 'change';

-- name: insert_target_change
INSERT INTO target_changes (number, old_targets, new_targets, kind, forced, source)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: target_history
SELECT old_targets, new_targets, kind, changed_at, forced, source
FROM target_changes WHERE number = $1 ORDER BY changed_at, id;

-- name: number_caller_lists
SELECT list, caller FROM caller_list_entries WHERE number = $1;

-- name: tenant_caller_lists
SELECT list, caller FROM caller_list_entries WHERE tenant_id = $1;

-- name: delete_number_caller_entries
-- $2, $3: parallel arrays of list names and callers to remove.
DELETE FROM caller_list_entries e
USING unnest($2::text[], $3::text[]) AS d(list, caller)
WHERE e.number = $1 AND e.list = d.list AND e.caller = d.caller;

-- name: insert_number_caller_entries
INSERT INTO caller_list_entries (number, list, caller)
SELECT $1, d.list, d.caller FROM unnest($2::text[], $3::text[]) AS d(list, caller);

-- name: delete_tenant_caller_entries
DELETE FROM caller_list_entries e
USING unnest($2::text[], $3::text[]) AS d(list, caller)
WHERE e.tenant_id = $1 AND e.list = d.list AND e.caller = d.caller;

-- name: insert_tenant_caller_entries
INSERT INTO caller_list_entries (tenant_id, list, caller)
SELECT $1, d.list, d.caller FROM unnest($2::text[], $3::text[]) AS d(list, caller);

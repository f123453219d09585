-- name: create_cdr_staging
-- The CDR writer's per-connection staging table: COPY lands here, then one INSERT moves
-- new records into call_records. ``detail`` is one JSON array [attempts, prompts, reasons]
-- as text, parsed once on the way.
CREATE TEMP TABLE IF NOT EXISTS cdr_staging (
    call_id text, uniqueid text, linkedid text, tenant_id text, number text, caller text,
    caller_raw text, start_time timestamptz, ring_time timestamptz, answer_time timestamptz,
    connect_time timestamptz, end_time timestamptz, ring_seconds double precision,
    billsec integer, duration integer, disposition text, closed_state text,
    asterisk_disposition text, answered_target text, hangup_by text, hangup_cause integer,
    plan_state text, config_version bigint, node text, detail text, channel text,
    dstchannel text, direction text, member text, caller_id_shown text, destination text,
    charged_seconds integer
) ON COMMIT DELETE ROWS;

-- name: insert_from_staging
-- Move the staged batch into call_records; records already there are left alone.
INSERT INTO call_records (
    call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
    ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
    disposition, closed_state, asterisk_disposition, attempts, answered_target, prompts,
    hangup_by, hangup_cause, plan_state, reasons, config_version, node, channel, dstchannel,
    direction, member, caller_id_shown, destination, charged_seconds)
SELECT call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
       ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
       disposition, closed_state, asterisk_disposition, d -> 0, answered_target, d -> 1,
       hangup_by, hangup_cause, plan_state, d -> 2, config_version, node, channel, dstchannel,
       coalesce(direction, 'inbound'), member, caller_id_shown, destination, charged_seconds
FROM (SELECT s.*, s.detail::jsonb AS d FROM cdr_staging s) staged
ON CONFLICT (call_id) DO NOTHING;

-- name: insert_from_staging_returning
-- The same, returning the keys of the records inserted now (for companion writes).
INSERT INTO call_records (
    call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
    ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
    disposition, closed_state, asterisk_disposition, attempts, answered_target, prompts,
    hangup_by, hangup_cause, plan_state, reasons, config_version, node, channel, dstchannel,
    direction, member, caller_id_shown, destination, charged_seconds)
SELECT call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
       ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
       disposition, closed_state, asterisk_disposition, d -> 0, answered_target, d -> 1,
       hangup_by, hangup_cause, plan_state, d -> 2, config_version, node, channel, dstchannel,
       coalesce(direction, 'inbound'), member, caller_id_shown, destination, charged_seconds
FROM (SELECT s.*, s.detail::jsonb AS d FROM cdr_staging s) staged
ON CONFLICT (call_id) DO NOTHING
RETURNING call_id;

-- name: insert_call_record
-- One record by itself (the one-row path; the writer uses COPY); parameters as the
-- staging table's columns.
INSERT INTO call_records (
    call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
    ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
    disposition, closed_state, asterisk_disposition, attempts, answered_target, prompts,
    hangup_by, hangup_cause, plan_state, reasons, config_version, node, channel, dstchannel,
    direction, member, caller_id_shown, destination, charged_seconds)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
       d -> 0, $19, d -> 1, $20, $21, $22, d -> 2, $23, $24, $26, $27, $28, $29, $30, $31, $32
FROM (SELECT $25::text::jsonb AS d) staged
ON CONFLICT (call_id) DO NOTHING;

-- name: cdr_get
SELECT * FROM call_records WHERE call_id = $1;

-- name: cdr_count
SELECT count(*) FROM call_records;

-- name: cdr_list
-- Call history, newest first. Null filters match everything:
-- $1 from, $2 to (start_time in [from, to)), $3 number, $4 caller, $5 disposition, $6 limit.
SELECT call_id, number, caller, caller_raw, tenant_id, start_time, answer_time, end_time,
       ring_seconds, billsec, duration, disposition, closed_state, answered_target,
       hangup_by, hangup_cause, attempts
FROM call_records
WHERE ($1::timestamptz IS NULL OR start_time >= $1)
  AND ($2::timestamptz IS NULL OR start_time < $2)
  AND ($3::text IS NULL OR number = $3)
  AND ($4::text IS NULL OR caller = $4)
  AND ($5::text IS NULL OR disposition = $5)
ORDER BY start_time DESC, call_id
LIMIT $6;

-- name: cdr_stats_daily
-- Per number and per day in the number's tenant zone ($4 when the tenant is unknown).
-- Offered: every inbound call but blocked callers'. $1 from, $2 to, $3 number.
SELECT r.number,
       (r.start_time AT TIME ZONE coalesce(t.timezone, $4))::date AS day,
       count(*) FILTER (WHERE r.disposition <> 'BLOCKED') AS offered,
       count(*) FILTER (WHERE r.disposition = 'ANSWERED') AS answered,
       count(*) FILTER (WHERE r.disposition = 'CLOSED') AS closed,
       count(*) FILTER (WHERE r.disposition = 'BLOCKED') AS blocked,
       avg(r.ring_seconds) FILTER (WHERE r.ring_time IS NOT NULL) AS avg_ring,
       avg(r.billsec) FILTER (WHERE r.disposition = 'ANSWERED') AS avg_talk
FROM call_records r
LEFT JOIN tenants t ON t.id = r.tenant_id
WHERE r.direction = 'inbound'
  AND ($1::timestamptz IS NULL OR r.start_time >= $1)
  AND ($2::timestamptz IS NULL OR r.start_time < $2)
  AND ($3::text IS NULL OR r.number = $3)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: cdr_stats_hourly
-- Calls by hour of the day (0-23) in the tenant zone, per number; same parameters.
SELECT r.number,
       extract(hour FROM r.start_time AT TIME ZONE coalesce(t.timezone, $4))::integer AS hour,
       count(*) FILTER (WHERE r.disposition <> 'BLOCKED') AS offered,
       count(*) FILTER (WHERE r.disposition = 'ANSWERED') AS answered,
       count(*) FILTER (WHERE r.disposition = 'CLOSED') AS closed,
       count(*) FILTER (WHERE r.disposition = 'BLOCKED') AS blocked,
       avg(r.ring_seconds) FILTER (WHERE r.ring_time IS NOT NULL) AS avg_ring,
       avg(r.billsec) FILTER (WHERE r.disposition = 'ANSWERED') AS avg_talk
FROM call_records r
LEFT JOIN tenants t ON t.id = r.tenant_id
WHERE r.direction = 'inbound'
  AND ($1::timestamptz IS NULL OR r.start_time >= $1)
  AND ($2::timestamptz IS NULL OR r.start_time < $2)
  AND ($3::text IS NULL OR r.number = $3)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: cdr_export
-- Every record of the period (oldest first) for CSV export; same filters as cdr_stats.
SELECT call_id, uniqueid, linkedid, tenant_id, number, caller, caller_raw, start_time,
       ring_time, answer_time, connect_time, end_time, ring_seconds, billsec, duration,
       disposition, closed_state, asterisk_disposition, answered_target, hangup_by,
       hangup_cause, plan_state, config_version, node, attempts
FROM call_records
WHERE ($1::timestamptz IS NULL OR start_time >= $1)
  AND ($2::timestamptz IS NULL OR start_time < $2)
  AND ($3::text IS NULL OR number = $3)
ORDER BY start_time, call_id;

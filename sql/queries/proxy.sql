-- name: proxy_session_upsert
-- Open or renew a customer-member pair's reverse-masking session.
INSERT INTO proxy_sessions (tenant_id, customer, member, shown_number, call_id, started_at,
                            expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, customer, member) DO UPDATE
SET shown_number = EXCLUDED.shown_number, call_id = EXCLUDED.call_id,
    started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at;

-- name: proxy_session_find
-- The latest session of a customer calling a number: the member who called last, still a
-- member of the number's tenant (whether it is still live is the planner's to say).
SELECT s.tenant_id, s.customer, s.member, m.name AS member_name, s.shown_number, s.call_id,
       s.expires_at
FROM proxy_sessions s
JOIN members m ON m.mobile = s.member AND m.tenant_id = s.tenant_id
JOIN virtual_numbers n ON n.number = s.shown_number AND n.tenant_id = s.tenant_id
WHERE s.shown_number = $1 AND s.customer = $2
ORDER BY s.started_at DESC
LIMIT 1;

-- name: last_inbound_caller
-- The last customer who called one of a tenant's numbers other than $2 (not a member).
SELECT r.caller FROM call_records r
WHERE r.tenant_id = $1 AND r.direction = 'inbound' AND r.caller <> '' AND r.number <> $2
  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.mobile = r.caller)
ORDER BY r.start_time DESC
LIMIT 1;

-- name: member_call_stats
-- Per member of a tenant: outbound calls since $2, those answered, talk and charged seconds.
SELECT m.mobile, m.name, count(r.call_id) AS calls,
       count(r.call_id) FILTER (WHERE r.answer_time IS NOT NULL) AS answered,
       coalesce(sum(r.billsec), 0)::bigint AS talk_seconds,
       coalesce(sum(r.charged_seconds), 0)::bigint AS charged_seconds
FROM members m
LEFT JOIN call_records r ON r.member = m.mobile AND r.tenant_id = m.tenant_id
     AND r.direction = 'outbound' AND r.start_time >= $2
WHERE m.tenant_id = $1
GROUP BY m.mobile, m.name, m.position
ORDER BY m.position, m.mobile;

-- name: inbound_record_caller
-- The caller of an inbound call record of one of the tenants $2 (null: any tenant).
SELECT tenant_id, caller, disposition FROM call_records
WHERE call_id = $1 AND direction = 'inbound' AND ($2::text[] IS NULL OR tenant_id = ANY($2));

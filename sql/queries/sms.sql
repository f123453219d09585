-- name: sms_lock_numbers
-- Serialise callback decisions per virtual number until the transaction ends (caps and
-- duplicates are counted consistently across engine instances). Locks in a fixed order.
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended('ivr_sms:' || n, 0) AS k
      FROM unnest($1::text[]) AS n ORDER BY 1) AS keys;

-- name: sms_caller_history
-- Per (tenant, number, caller): opt-out, excluded contact, the last text's time and the
-- texts per send day from $4 on (texts held, queued, sending or sent).
SELECT p.idx,
       EXISTS (SELECT 1 FROM sms_optouts o
               WHERE o.tenant_id = p.tenant_id AND o.recipient = p.caller) AS opted_out,
       EXISTS (SELECT 1 FROM sms_excluded_contacts e
               WHERE e.tenant_id = p.tenant_id AND e.contact = p.caller) AS excluded,
       (SELECT max(s.send_after) FROM sms_outbox s
        WHERE s.number = p.number AND s.recipient = p.caller
          AND s.state IN ('held', 'queued', 'sending', 'sent')) AS last_texted,
       ARRAY(SELECT s.send_day::text FROM sms_outbox s
             WHERE s.number = p.number AND s.recipient = p.caller AND s.send_day >= $4
               AND s.state IN ('held', 'queued', 'sending', 'sent')) AS days
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS p(tenant_id, number, caller, idx);

-- name: sms_number_counts
-- Texts per number and send day from $2 on.
SELECT number, send_day, count(*) AS n
FROM sms_outbox
WHERE number = ANY($1::text[]) AND send_day >= $2
  AND state IN ('held', 'queued', 'sending', 'sent')
GROUP BY number, send_day;

-- name: sms_insert
-- Outbox rows from parallel arrays; a key already present is left alone.
INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, call_id, trigger, state,
                        reason, kind, subject, body, image, advertising, send_after, send_day)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                     $13::boolean[], $14::timestamptz[], $15::date[])
ON CONFLICT (idempotency_key) DO NOTHING;

-- name: sms_claim
-- Claim up to $2 due texts for worker $4 until $1 + $3 seconds.
WITH due AS (
    SELECT id FROM sms_outbox
    WHERE state = 'queued' AND send_after <= $1
    ORDER BY send_after, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE sms_outbox o
SET state = 'sending', lease_until = $1 + make_interval(secs => $3), worker = $4,
    attempts = o.attempts + 1, updated_at = now()
FROM due
WHERE o.id = due.id
RETURNING o.id, o.idempotency_key, o.tenant_id, o.number, o.recipient, o.kind, o.subject,
          o.body, o.image, o.attempts,
          EXISTS (SELECT 1 FROM sms_optouts x
                  WHERE x.tenant_id = o.tenant_id AND x.recipient = o.recipient) AS opted_out;

-- name: sms_recover_leases
-- Texts whose worker stopped mid-send (lease ran out before $1) go back to the queue.
UPDATE sms_outbox o
SET state = 'queued', lease_until = NULL, last_error = 'lease expired (worker stopped)',
    updated_at = now()
WHERE o.id IN (SELECT id FROM sms_outbox
               WHERE state = 'sending' AND lease_until < $1
               FOR UPDATE SKIP LOCKED)
RETURNING o.id;

-- name: sms_complete
-- Outcomes of one worker's sends; a row another worker took over is left alone. A
-- delivery failure reported while the row was still sending wins over "sent".
UPDATE sms_outbox o
SET state = CASE WHEN r.state = 'sent' AND o.delivery_status = 'failed' THEN 'failed'
                 ELSE r.state END,
    reason = CASE WHEN r.state = 'sent' AND o.delivery_status = 'failed'
                  THEN coalesce(o.reason, 'delivery_failed') ELSE r.reason END,
    send_after = coalesce(r.retry_at, o.send_after),
    provider_message_id = coalesce(r.message_id, o.provider_message_id),
    last_error = r.error,
    sent_at = CASE WHEN r.state = 'sent' THEN $2::timestamptz ELSE o.sent_at END,
    lease_until = NULL, updated_at = now()
FROM unnest($3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[]) AS r(id, attempts, state, reason, error, message_id, retry_at)
WHERE o.id = r.id AND o.state = 'sending' AND o.worker = $1 AND o.attempts = r.attempts;

-- name: sms_next_due
SELECT min(send_after) FROM sms_outbox WHERE state = 'queued';

-- name: sms_get
SELECT * FROM sms_outbox WHERE id = $1;

-- name: sms_list
-- Newest first; every filter is optional.
SELECT id, idempotency_key, tenant_id, number, recipient, trigger, state, reason, kind,
       subject, body, send_after, attempts, delivery_status, last_error, created_at, updated_at
FROM sms_outbox
WHERE ($1::text IS NULL OR state = $1)
  AND ($2::text IS NULL OR number = $2)
  AND ($3::text IS NULL OR tenant_id = $3)
ORDER BY id DESC
LIMIT $4;

-- name: sms_approve
-- A held text goes to the queue for $2 (its send day $3).
UPDATE sms_outbox
SET state = 'queued', send_after = $2, send_day = $3, updated_at = now()
WHERE id = $1 AND state = 'held'
RETURNING id;

-- name: sms_discard
UPDATE sms_outbox
SET state = 'discarded', reason = $2, lease_until = NULL, updated_at = now()
WHERE id = ANY($1::bigint[]) AND state IN ('held', 'queued')
RETURNING id;

-- name: sms_resend
-- A new text with the content of text $1, queued for $2 under a new idempotency key.
INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, call_id, trigger, state,
                        kind, subject, body, image, advertising, send_after, send_day)
SELECT o.idempotency_key || '#r' || (SELECT count(*) + 1 FROM sms_outbox x
                                     WHERE x.idempotency_key LIKE o.idempotency_key || '#r%'),
       o.tenant_id, o.number, o.recipient, o.call_id, o.trigger, 'queued', o.kind, o.subject,
       o.body, o.image, o.advertising, $2, $3
FROM sms_outbox o
WHERE o.id = $1 AND o.state IN ('sent', 'failed', 'discarded') AND o.body IS NOT NULL
RETURNING id;

-- name: sms_delivery_report
-- A delivery report for the text with key $1 (or provider id $2): delivered or failed.
UPDATE sms_outbox
SET delivery_status = $3,
    delivered_at = CASE WHEN $3 = 'delivered' THEN $5::timestamptz ELSE delivered_at END,
    state = CASE WHEN $3 = 'failed' AND state = 'sent' THEN 'failed' ELSE state END,
    reason = CASE WHEN $3 = 'failed' AND state = 'sent' THEN 'delivery_failed' ELSE reason END,
    last_error = coalesce($4, last_error), updated_at = now()
WHERE id = (SELECT id FROM sms_outbox
            WHERE ($1::text IS NOT NULL AND idempotency_key = $1)
               OR ($1::text IS NULL AND provider_message_id = $2)
            LIMIT 1)
  AND state IN ('sending', 'sent')
RETURNING id, state;

-- name: sms_purge
-- Delete up to $2 finished texts last changed before $1.
DELETE FROM sms_outbox
WHERE id IN (SELECT id FROM sms_outbox
             WHERE state IN ('sent', 'failed', 'suppressed', 'discarded') AND updated_at < $1
             LIMIT $2);

-- name: sms_depth
-- Texts waiting, by state.
SELECT state, count(*) AS n FROM sms_outbox
WHERE state IN ('held', 'queued', 'sending')
GROUP BY state;

-- name: sms_oldest_due
-- The oldest text that is due and still queued.
SELECT min(send_after) FROM sms_outbox WHERE state = 'queued' AND send_after <= $1;

-- name: sms_optout_add
INSERT INTO sms_optouts (tenant_id, recipient, source) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, recipient) DO NOTHING;

-- name: sms_optout_list
SELECT recipient, source, created_at FROM sms_optouts WHERE tenant_id = $1 ORDER BY recipient;

-- name: sms_optout_remove
DELETE FROM sms_optouts WHERE tenant_id = $1 AND recipient = $2;

-- name: sms_exclude_add
INSERT INTO sms_excluded_contacts (tenant_id, contact, name) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, contact) DO UPDATE SET name = EXCLUDED.name;

-- name: sms_exclude_list
SELECT contact, name, created_at FROM sms_excluded_contacts WHERE tenant_id = $1
ORDER BY contact;

-- name: sms_exclude_remove
DELETE FROM sms_excluded_contacts WHERE tenant_id = $1 AND contact = $2;

-- name: sms_tenant_settings
SELECT id, name, timezone, settings FROM tenants WHERE id = $1 FOR UPDATE;

-- name: sms_number_settings
SELECT number, tenant_id, settings FROM virtual_numbers WHERE number = $1 FOR UPDATE;

-- name: sms_set_tenant_settings
-- Replace a tenant's settings layer (a new configuration version; caches are told).
UPDATE tenants SET settings = $2, version = nextval('config_version_seq'), updated_at = now()
WHERE id = $1;

-- name: sms_set_number_settings
UPDATE virtual_numbers SET settings = $2, version = nextval('config_version_seq')
WHERE number = $1;
